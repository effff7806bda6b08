package conf

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Validate checks every value and the consistency between them. It returns
// all problems found, joined, each an *Error naming the key and its source.
func (c *Config) Validate() error {
	var errs []error
	add := func(e *Error) { errs = append(errs, e) }
	c.checkTimes(add)
	c.checkLimits(add)
	c.checkStrings(add)
	c.checkServers(add)
	return errors.Join(errs...)
}

func (c *Config) checkTimes(add func(*Error)) {
	badTick := c.TickTime < time.Millisecond
	if badTick {
		add(c.errorf(KeyTickTime, "%d must be at least 1 millisecond", ms(c.TickTime)))
	}
	// Bounds derived from a bad tickTime would only repeat that error.
	minOK, maxOK := true, true
	if c.MinSessionTimeout <= 0 && (!badTick || c.isSet(KeyMinSessionTimeout)) {
		add(c.errorf(KeyMinSessionTimeout, "%d must be positive (or -1 for 2 x tickTime)", ms(c.MinSessionTimeout)))
		minOK = false
	}
	if c.MaxSessionTimeout <= 0 && (!badTick || c.isSet(KeyMaxSessionTimeout)) {
		add(c.errorf(KeyMaxSessionTimeout, "%d must be positive (or -1 for 20 x tickTime)", ms(c.MaxSessionTimeout)))
		maxOK = false
	}
	if minOK && maxOK && c.MinSessionTimeout > c.MaxSessionTimeout {
		add(c.errorf(KeyMinSessionTimeout, "%d is larger than %s %d",
			ms(c.MinSessionTimeout), KeyMaxSessionTimeout, ms(c.MaxSessionTimeout)))
	}
	if c.PurgeInterval < 0 {
		add(c.errorf(KeyPurgeInterval, "%d must be 0 (off) or a number of hours", int64(c.PurgeInterval/time.Hour)))
	}
	if c.ContainerCheckInterval <= 0 {
		add(c.errorf(KeyContainerCheckInterval, "%d must be positive", ms(c.ContainerCheckInterval)))
	}
}

func (c *Config) checkLimits(add func(*Error)) {
	if c.InitLimit < 1 {
		add(c.errorf(KeyInitLimit, "%d must be at least 1 tick", c.InitLimit))
	}
	if c.SyncLimit < 1 {
		add(c.errorf(KeySyncLimit, "%d must be at least 1 tick", c.SyncLimit))
	}
	if c.MaxClientCnxns < 0 {
		add(c.errorf(KeyMaxClientCnxns, "%d must be 0 (unlimited) or more", c.MaxClientCnxns))
	}
	if c.JuteMaxBuffer <= 0 {
		add(c.errorf(KeyJuteMaxBuffer, "%d must be positive", c.JuteMaxBuffer))
	}
	if c.SnapCount < 2 {
		add(c.errorf(KeySnapCount, "%d must be at least 2", c.SnapCount))
	}
	if c.SnapRetainCount < 3 {
		add(c.errorf(KeySnapRetainCount, "%d must be at least 3", c.SnapRetainCount))
	}
	if c.ClientPort < 0 || c.ClientPort > 65535 {
		add(c.errorf(KeyClientPort, "%d is not a port number (0-65535)", c.ClientPort))
	}
	if c.MetricsPort < 0 || c.MetricsPort > 65535 {
		add(c.errorf(KeyMetricsPort, "%d is not a port number (0-65535)", c.MetricsPort))
	}
	if c.MetricsPort != 0 && c.MetricsPort == c.ClientPort {
		add(c.errorf(KeyMetricsPort, "%d is also the client port", c.MetricsPort))
	}
}

func (c *Config) checkStrings(add func(*Error)) {
	if c.DataDir == "" {
		add(c.errorf(KeyDataDir, "must not be empty"))
	}
	if c.LogFormat != "console" && c.LogFormat != "json" {
		add(c.errorf(KeyLogFormat, "%q is neither console nor json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(c.errorf(KeyLogLevel, "%q is not one of debug, info, warn, error", c.LogLevel))
	}
	if c.SuperDigest != "" {
		user, digest, ok := strings.Cut(c.SuperDigest, ":")
		if !ok || user == "" || digest == "" {
			add(c.errorf(KeySuperDigest, "must be user:base64digest"))
		}
	}
	// TTL and container owners pack the server id into 8 bits next to a marker.
	if c.ExtendedTypesEnabled && c.MyID > 254 {
		add(c.errorf(KeyMyID, "%d: server ids above 254 cannot be used with %s", c.MyID, KeyExtendedTypesEnabled))
	}
}

// checkServers checks the membership: sane ports, no address used twice,
// at least one voter, and this server in the list.
func (c *Config) checkServers(add func(*Error)) {
	if c.Standalone() {
		return
	}
	used := map[string]string{} // host:port -> which server.N uses it
	claim := func(s Server, host string, port int, what string) {
		addr := fmt.Sprintf("%s:%d", bracket(host), port)
		key := fmt.Sprintf("server.%d", s.ID)
		if other, dup := used[addr]; dup {
			add(c.errorf(key, "%s %s is already used by %s", what, addr, other))
			return
		}
		used[addr] = key
	}
	voters := 0
	for i, s := range c.Servers {
		if i > 0 && c.Servers[i-1].ID == s.ID {
			add(c.errorf(fmt.Sprintf("server.%d", s.ID), "server id %d is listed twice", s.ID))
		}
		if s.Voting() {
			voters++
		}
		claim(s, s.Host, s.PeerPort, "peer port")
		claim(s, s.Host, s.ElectionPort, "election port")
		if s.ClientPort != 0 {
			host := s.ClientHost
			if host == "" {
				host = s.Host
			}
			claim(s, host, s.ClientPort, "client port")
		}
	}
	if voters == 0 {
		add(c.errorf("server.N", "no participant: every server is an observer"))
	}
	self, ok := c.Self()
	if !ok {
		add(c.errorf(KeyMyID, "%d is not in the server list (%s)", c.MyID, c.serverKeys()))
		return
	}
	if self.ClientPort == 0 && (c.ClientPortAddress == "" || c.ClientPortAddress == self.Host) &&
		(c.ClientPort == self.PeerPort || c.ClientPort == self.ElectionPort) {
		add(c.errorf(KeyClientPort, "%d is also a quorum port of server.%d", c.ClientPort, self.ID))
	}
}

func (c *Config) serverKeys() string {
	keys := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		keys[i] = fmt.Sprintf("server.%d", s.ID)
	}
	return strings.Join(keys, ", ")
}
