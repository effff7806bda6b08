// Package conf loads a zabkeeper server's configuration: an unmodified
// ZooKeeper zoo.cfg (Java properties) or the same keys in YAML, then
// ZABKEEPER_* environment variables, then command-line overrides, each
// layer winning over the one before. Every value is checked, and a bad one is
// reported with the key and where it came from, so the server can refuse to
// start with a message an operator can act on.
package conf

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Config is the configuration of one server.
type Config struct {
	File                   string        // where it came from ("" = defaults)
	TickTime               time.Duration // tickTime ms, default 2000
	InitLimit, SyncLimit   int           // ticks, default 10 and 5
	DataDir, DataLogDir    string        // DataLogDir defaults to DataDir
	ClientPort             int           // default 2181; 0 lets the system pick
	ClientPortAddress      string        // "" = all interfaces
	MaxClientCnxns         int           // per client IP, 0 = unlimited
	MinSessionTimeout      time.Duration // default 2 x tickTime
	MaxSessionTimeout      time.Duration // default 20 x tickTime
	Servers                []Server      // sorted by ID; empty = standalone
	MyID                   int64         // from dataDir/myid or the myid key; 1 standalone
	FourLetterWords        []string      // 4lw.commands.whitelist; "*" means all
	JuteMaxBuffer          int           // jute.maxbuffer, bytes
	SnapCount              int           // txns between snapshots
	SnapRetainCount        int           // autopurge.snapRetainCount
	PurgeInterval          time.Duration // autopurge.purgeInterval (hours), 0 = off
	ExtendedTypesEnabled   bool          // TTL nodes
	SuperDigest            string        // "super:base64(sha1)"
	ForceSync              bool          // fsync the log before acknowledging
	SkipACL                bool          // do not check ACLs at all
	ContainerCheckInterval time.Duration // znode.container.checkIntervalMs
	MetricsPort            int           // an extra Prometheus /metrics port, 0 = off
	AdminEnabled           bool          // admin.enableServer: the admin HTTP server
	AdminAddress           string        // admin.serverAddress, default 127.0.0.1 (it serves snapshots)
	AdminPort              int           // admin.serverPort, default 8080; 0 picks a free port
	LogFormat              string        // "console" or "json"
	LogLevel               string        // debug, info, warn, error
	Unknown                []string      // keys that were set but not understood
	Ignored                []string      // ZooKeeper keys accepted with no effect here

	// from records where each key's value came from, for error messages.
	from map[string]origin
}

// origin is where a setting was read: a file path, "environment" or
// "overrides", and the key as spelled there.
type origin struct{ where, key string }

// Error is a bad value or an inconsistent configuration. It names the file
// (or "environment", "overrides") and the key.
type Error struct {
	Where, Key, Msg string
}

func (e *Error) Error() string { return e.Where + ": " + e.Key + ": " + e.Msg }

// Default returns the configuration a server runs with when nothing is set.
func Default() *Config {
	return &Config{
		TickTime:               2000 * time.Millisecond,
		InitLimit:              10,
		SyncLimit:              5,
		DataDir:                "./zabkeeper-data",
		DataLogDir:             "./zabkeeper-data",
		ClientPort:             2181,
		MaxClientCnxns:         60,
		MinSessionTimeout:      4 * time.Second,
		MaxSessionTimeout:      40 * time.Second,
		MyID:                   1,
		FourLetterWords:        []string{"srvr"},
		JuteMaxBuffer:          0xfffff,
		SnapCount:              100000,
		SnapRetainCount:        3,
		PurgeInterval:          time.Hour,
		ForceSync:              true,
		ContainerCheckInterval: time.Minute,
		AdminEnabled:           true,
		AdminAddress:           "127.0.0.1",
		AdminPort:              8080,
		LogFormat:              "console",
		LogLevel:               "info",
	}
}

// Standalone reports whether the server runs alone (no server.N lines).
func (c *Config) Standalone() bool { return len(c.Servers) == 0 }

// Self returns this server's entry in the server list.
func (c *Config) Self() (Server, bool) {
	for _, s := range c.Servers {
		if s.ID == c.MyID {
			return s, true
		}
	}
	return Server{}, false
}

// FourLetterWordAllowed reports whether the whitelist lets cmd through.
func (c *Config) FourLetterWordAllowed(cmd string) bool {
	return slices.Contains(c.FourLetterWords, "*") || slices.Contains(c.FourLetterWords, cmd)
}

// errorf builds an Error for key, naming the source its value came from, or
// the config file when the value is a default or was set by hand.
func (c *Config) errorf(key, format string, args ...any) *Error {
	if o, ok := c.from[key]; ok {
		return &Error{Where: o.where, Key: o.key, Msg: fmt.Sprintf(format, args...)}
	}
	where := c.File
	if where == "" {
		where = "defaults"
	}
	return &Error{Where: where, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// isSet reports whether some layer set key (canonical spelling).
func (c *Config) isSet(key string) bool {
	_, ok := c.from[key]
	return ok
}

// String renders the configuration as key=value lines, the form of the
// "conf" four-letter word: ZooKeeper's keys first, then zabkeeper's, then the
// membership. The super digest is masked.
func (c *Config) String() string {
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s=%v\n", k, v) }
	line("clientPort", c.ClientPort)
	line("clientPortAddress", c.ClientPortAddress)
	line("dataDir", c.DataDir)
	line("dataLogDir", c.DataLogDir)
	line("tickTime", ms(c.TickTime))
	line("maxClientCnxns", c.MaxClientCnxns)
	line("minSessionTimeout", ms(c.MinSessionTimeout))
	line("maxSessionTimeout", ms(c.MaxSessionTimeout))
	line("serverId", c.MyID)
	self, ok := c.Self()
	if !c.Standalone() {
		line("initLimit", c.InitLimit)
		line("syncLimit", c.SyncLimit)
		if ok {
			line("electionPort", self.ElectionPort)
			line("quorumPort", self.PeerPort)
			line("peerType", self.Role)
		}
	}
	line(Key4lwWhitelist, strings.Join(c.FourLetterWords, ","))
	line(KeyJuteMaxBuffer, c.JuteMaxBuffer)
	line(KeySnapCount, c.SnapCount)
	line(KeySnapRetainCount, c.SnapRetainCount)
	line(KeyPurgeInterval, int64(c.PurgeInterval/time.Hour))
	line(KeyExtendedTypesEnabled, c.ExtendedTypesEnabled)
	line(KeyForceSync, yesNoString(c.ForceSync))
	line(KeySkipACL, yesNoString(c.SkipACL))
	if c.SuperDigest != "" {
		line(KeySuperDigest, "****")
	}
	line(KeyContainerCheckInterval, ms(c.ContainerCheckInterval))
	line(KeyMetricsPort, c.MetricsPort)
	line(KeyAdminEnable, c.AdminEnabled)
	line(KeyAdminAddress, c.AdminAddress)
	line(KeyAdminPort, c.AdminPort)
	line(KeyLogFormat, c.LogFormat)
	line(KeyLogLevel, c.LogLevel)
	if !c.Standalone() {
		b.WriteString("membership: \n")
		for _, s := range c.Servers {
			line(fmt.Sprintf("server.%d", s.ID), s)
		}
	}
	return b.String()
}

func ms(d time.Duration) int64 { return int64(d / time.Millisecond) }

func yesNoString(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
