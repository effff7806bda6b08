package conf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Canonical spellings of the keys zabkeeper understands. Keys match
// case-insensitively (viper lower-cases them), but messages use these.
const (
	KeyTickTime               = "tickTime"
	KeyInitLimit              = "initLimit"
	KeySyncLimit              = "syncLimit"
	KeyDataDir                = "dataDir"
	KeyDataLogDir             = "dataLogDir"
	KeyClientPort             = "clientPort"
	KeyClientPortAddress      = "clientPortAddress"
	KeyMaxClientCnxns         = "maxClientCnxns"
	KeyMinSessionTimeout      = "minSessionTimeout"
	KeyMaxSessionTimeout      = "maxSessionTimeout"
	KeyMyID                   = "myid"
	Key4lwWhitelist           = "4lw.commands.whitelist"
	KeyJuteMaxBuffer          = "jute.maxbuffer"
	KeySnapCount              = "snapCount"
	KeySnapRetainCount        = "autopurge.snapRetainCount"
	KeyPurgeInterval          = "autopurge.purgeInterval"
	KeyExtendedTypesEnabled   = "extendedTypesEnabled"
	KeySuperDigest            = "DigestAuthenticationProvider.superDigest"
	KeyForceSync              = "forceSync"
	KeySkipACL                = "skipACL"
	KeyContainerCheckInterval = "znode.container.checkIntervalMs"
	KeyMetricsPort            = "metricsPort"
	KeyLogFormat              = "logFormat"
	KeyLogLevel               = "logLevel"
	KeyDynamicConfigFile      = "dynamicConfigFile"
	KeyAdminEnable            = "admin.enableServer"
	KeyAdminAddress           = "admin.serverAddress"
	KeyAdminPort              = "admin.serverPort"
)

// setter parses one value into the config; its error describes the value only,
// the caller adds where the value came from.
type setter func(c *Config, v string) error

var setters = map[string]setter{
	KeyTickTime:               func(c *Config, v string) (err error) { c.TickTime, err = millis(v); return },
	KeyInitLimit:              func(c *Config, v string) (err error) { c.InitLimit, err = whole(v); return },
	KeySyncLimit:              func(c *Config, v string) (err error) { c.SyncLimit, err = whole(v); return },
	KeyDataDir:                func(c *Config, v string) error { c.DataDir = v; return nil },
	KeyDataLogDir:             func(c *Config, v string) error { c.DataLogDir = v; return nil },
	KeyClientPort:             func(c *Config, v string) (err error) { c.ClientPort, err = parsePort(v, true); return },
	KeyClientPortAddress:      func(c *Config, v string) error { c.ClientPortAddress = v; return nil },
	KeyMaxClientCnxns:         func(c *Config, v string) (err error) { c.MaxClientCnxns, err = whole(v); return },
	KeyMinSessionTimeout:      func(c *Config, v string) (err error) { c.MinSessionTimeout, err = millis(v); return },
	KeyMaxSessionTimeout:      func(c *Config, v string) (err error) { c.MaxSessionTimeout, err = millis(v); return },
	KeyMyID:                   setMyID,
	Key4lwWhitelist:           func(c *Config, v string) error { c.FourLetterWords = splitList(v); return nil },
	KeyJuteMaxBuffer:          setJuteMaxBuffer,
	KeySnapCount:              func(c *Config, v string) (err error) { c.SnapCount, err = whole(v); return },
	KeySnapRetainCount:        func(c *Config, v string) (err error) { c.SnapRetainCount, err = whole(v); return },
	KeyPurgeInterval:          setPurgeInterval,
	KeyExtendedTypesEnabled:   func(c *Config, v string) (err error) { c.ExtendedTypesEnabled, err = yesNo(v); return },
	KeySuperDigest:            func(c *Config, v string) error { c.SuperDigest = v; return nil },
	KeyForceSync:              func(c *Config, v string) (err error) { c.ForceSync, err = yesNo(v); return },
	KeySkipACL:                func(c *Config, v string) (err error) { c.SkipACL, err = yesNo(v); return },
	KeyContainerCheckInterval: func(c *Config, v string) (err error) { c.ContainerCheckInterval, err = millis(v); return },
	KeyMetricsPort:            func(c *Config, v string) (err error) { c.MetricsPort, err = parsePort(v, true); return },
	KeyLogFormat:              func(c *Config, v string) error { c.LogFormat = strings.ToLower(v); return nil },
	KeyLogLevel:               func(c *Config, v string) error { c.LogLevel = strings.ToLower(v); return nil },
	KeyAdminEnable:            func(c *Config, v string) (err error) { c.AdminEnabled, err = yesNo(v); return },
	KeyAdminAddress:           func(c *Config, v string) error { c.AdminAddress = v; return nil },
	KeyAdminPort:              func(c *Config, v string) (err error) { c.AdminPort, err = parsePort(v, true); return },
	KeyDynamicConfigFile: func(c *Config, v string) error {
		// Ignoring it would silently drop the membership, so refuse instead.
		return errors.New("dynamic configuration files are not supported; put the server.N lines in this file")
	},
}

// ignoredKeys are ZooKeeper keys zabkeeper accepts so that an unmodified
// zoo.cfg loads, but which change nothing here.
var ignoredKeys = []string{
	"admin.idleTimeout",
	"admin.commandURL", "admin.portUnification", "standaloneEnabled", "reconfigEnabled",
	"electionAlg", "quorumListenOnAllIPs", "preAllocSize", "globalOutstandingLimit",
	"secureClientPort", "secureClientPortAddress", "observerMasterPort", "clientPortListenBacklog",
	"connectToLearnerMasterLimit", "peerType", "syncEnabled", "sslQuorum", "portUnification",
	"sslQuorumReloadCertFiles", "localSessionsEnabled", "localSessionsUpgradingEnabled",
	"quorum.cnxn.threads.size", "oraclePath", "version", "snapSizeLimitInKb", "txnLogSizeLimitInKb",
	"commitLogCount", "maxResponseCacheSize", "maxGetChildrenResponseCacheSize", "maxCnxns",
	"fsync.warningthresholdms", "digest.enabled", "audit.enable", "snapshot.compression.method",
	"snapshot.trust.empty", "enforceQuota", "serverCnxnFactory", "sessionRequireClientSASLAuth",
	"enforceAuthEnabled", "enforceAuthSchemes", "cnxTimeout", "electionPortBindRetry",
	"tcpKeepAlive", "clientTcpKeepAlive", "leaderServes", "largeRequestMaxBytes",
	"largeRequestThreshold", "jute.maxbuffer.extrasize", "flushDelay",
	"maxWriteQueuePollTime", "maxBatchSize", "requestThrottleLimit", "requestThrottleStallTime",
	"requestThrottleDropStale", "learner.asyncSending", "learner.closeSocketAsync",
	"leader.closeSocketAsync", "netty.server.outstandingHandshake.limit",
}

// ignoredPrefixes cover families of ZooKeeper keys (TLS, metrics provider
// settings, hierarchical quorums, auth providers).
var ignoredPrefixes = []string{
	"admin.", "metricsprovider.", "ssl.", "group.", "weight.", "authprovider.",
	"multiaddress.", "kerberos.", "quorum.auth.", "netty.",
}

// keyIndex maps lower-cased keys to canonical ones, and ZABKEEPER_ names to keys.
var (
	keyIndex = map[string]string{}
	envIndex = map[string]string{}
)

func init() {
	for k := range setters {
		keyIndex[strings.ToLower(k)] = k
		envIndex[envName(k)] = k
	}
	for _, k := range ignoredKeys {
		envIndex[envName(k)] = k
	}
}

// envName is the environment variable for a key: ZABKEEPER_ + upper-case key
// with dots turned into underscores.
func envName(key string) string {
	return "ZABKEEPER_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// keyKind says what a key is: one zabkeeper reads, a server.N line, a
// ZooKeeper key accepted without effect, or unknown.
type keyKind int

const (
	kindUnknown keyKind = iota
	kindKnown
	kindServer
	kindIgnored
)

// classify returns the kind of a key and its canonical spelling. ZooKeeper
// turns unrecognised zoo.cfg keys into "zookeeper."-prefixed system
// properties, so that prefix is accepted as an alias.
func classify(key string) (keyKind, string) {
	key = strings.TrimSpace(key)
	low := strings.ToLower(key)
	if k, ok := keyIndex[low]; ok {
		return kindKnown, k
	}
	if strings.HasPrefix(low, "server.") {
		return kindServer, "server." + key[len("server."):]
	}
	for _, k := range ignoredKeys {
		if strings.ToLower(k) == low {
			return kindIgnored, k
		}
	}
	for _, p := range ignoredPrefixes {
		if strings.HasPrefix(low, p) {
			return kindIgnored, key
		}
	}
	if rest, ok := strings.CutPrefix(low, "zookeeper."); ok {
		if kind, canon := classify(key[len(key)-len(rest):]); kind != kindUnknown {
			return kind, canon
		}
	}
	return kindUnknown, key
}

func whole(v string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, numberError(v, err, "")
	}
	return int(n), nil
}

func millis(v string) (time.Duration, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, numberError(v, err, " of milliseconds")
	}
	return time.Duration(n) * time.Millisecond, nil
}

func numberError(v string, err error, unit string) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%q is out of range", v)
	}
	return fmt.Errorf("%q is not a whole number%s", v, unit)
}

// setJuteMaxBuffer accepts 0x/0 prefixes because Java reads it with Integer.decode.
func setJuteMaxBuffer(c *Config, v string) error {
	n, err := strconv.ParseInt(v, 0, 32)
	if err != nil {
		return numberError(v, err, " of bytes")
	}
	c.JuteMaxBuffer = int(n)
	return nil
}

func setPurgeInterval(c *Config, v string) error {
	n, err := whole(v)
	if err != nil {
		return numberError(v, err, " of hours")
	}
	c.PurgeInterval = time.Duration(n) * time.Hour
	return nil
}

func setMyID(c *Config, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a server id (a whole number, 0 or more)", v)
	}
	c.MyID = n
	return nil
}

// yesNo reads ZooKeeper's yes/no switches; true/false and on/off work too.
func yesNo(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", v)
}

// splitList splits a comma- or blank-separated list, dropping empty items.
func splitList(v string) []string {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(f) == 0 {
		return []string{}
	}
	return f
}

// fourLetterWords are the commands 4lw.commands.whitelist may name.
var fourLetterWords = map[string]bool{
	"conf": true, "cons": true, "crst": true, "dirs": true, "dump": true, "envi": true,
	"gtmk": true, "hash": true, "isro": true, "mntr": true, "ruok": true, "srst": true,
	"srvr": true, "stat": true, "stmk": true, "wchc": true, "wchp": true, "wchs": true,
}
