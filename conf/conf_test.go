package conf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// zooSample is ZooKeeper's conf/zoo_sample.cfg as shipped, trailing blanks included.
const zooSample = `# The number of milliseconds of each tick
tickTime=2000
# The number of ticks that the initial 
# synchronization phase can take
initLimit=10
# The number of ticks that can pass between 
# sending a request and getting an acknowledgement
syncLimit=5
# the directory where the snapshot is stored.
# do not use /tmp for storage, /tmp here is just 
# example sakes.
dataDir=/tmp/zookeeper
# the port at which the clients will connect
clientPort=2181
# the maximum number of client connections.
# increase this if you need to handle more clients
#maxClientCnxns=60
#
# Be sure to read the maintenance section of the 
# administrator guide before turning on autopurge.
#
# https://zookeeper.apache.org/doc/current/zookeeperAdmin.html#sc_maintenance
#
# The number of snapshots to retain in dataDir
#autopurge.snapRetainCount=3
# Purge task interval in hours
# Set to "0" to disable auto purge feature
#autopurge.purgeInterval=1

## Metrics Providers
#
# https://prometheus.io Metrics Exporter
#metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
#metricsProvider.httpHost=0.0.0.0
#metricsProvider.httpPort=7000
#metricsProvider.exportJvmInfo=true
`

// write puts content into dir/name and returns the path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, path string, env []string, over map[string]string) (*Config, []string) {
	t.Helper()
	c, warns, err := Load(path, env, over)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return c, warns
}

func TestZooSample(t *testing.T) {
	path := write(t, t.TempDir(), "zoo.cfg", zooSample)
	c, warns := mustLoad(t, path, nil, nil)
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	want := Default()
	want.File = path
	want.DataDir, want.DataLogDir = "/tmp/zookeeper", "/tmp/zookeeper"
	want.from = c.from
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if !c.Standalone() || c.MyID != 1 {
		t.Errorf("standalone=%v myid=%d", c.Standalone(), c.MyID)
	}
	if _, ok := c.Self(); ok {
		t.Error("standalone server has a Self entry")
	}
	for _, line := range []string{"clientPort=2181\n", "dataDir=/tmp/zookeeper\n", "tickTime=2000\n",
		"minSessionTimeout=4000\n", "maxSessionTimeout=40000\n", "serverId=1\n"} {
		if !strings.Contains(c.String(), line) {
			t.Errorf("String() lacks %q:\n%s", line, c)
		}
	}
	if strings.Contains(c.String(), "membership") {
		t.Errorf("standalone String() lists membership:\n%s", c)
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	c, warns := mustLoad(t, "", nil, nil)
	if len(warns) != 0 || c.TickTime != 2*time.Second || c.PurgeInterval != time.Hour ||
		!c.ForceSync || !reflect.DeepEqual(c.FourLetterWords, []string{"srvr"}) {
		t.Errorf("defaults: %+v %q", c, warns)
	}
}

const ensemble = `tickTime=1000
initLimit=5
syncLimit=2
dataDir=%DIR%
server.1=127.0.0.1:2888:3888;2181
server.3=127.0.0.1:2890:3890:observer;127.0.0.1:2183
server.2=127.0.0.1:2889:3889:participant;2182
`

func TestEnsembleWithMyIDFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "myid", "2\n")
	path := write(t, dir, "zoo.cfg", strings.ReplaceAll(ensemble, "%DIR%", dir))
	c, warns := mustLoad(t, path, nil, nil)
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	want := []Server{
		{ID: 1, Host: "127.0.0.1", PeerPort: 2888, ElectionPort: 3888, Role: RoleParticipant, ClientPort: 2181},
		{ID: 2, Host: "127.0.0.1", PeerPort: 2889, ElectionPort: 3889, Role: RoleParticipant, ClientPort: 2182},
		{ID: 3, Host: "127.0.0.1", PeerPort: 2890, ElectionPort: 3890, Role: RoleObserver,
			ClientHost: "127.0.0.1", ClientPort: 2183},
	}
	if !reflect.DeepEqual(c.Servers, want) {
		t.Errorf("servers %+v", c.Servers)
	}
	self, ok := c.Self()
	if c.Standalone() || !ok || self.ID != 2 || c.MyID != 2 {
		t.Errorf("self %+v %v myid %d", self, ok, c.MyID)
	}
	// The client port comes from this server's line; session bounds from tickTime.
	if c.ClientPort != 2182 || c.MinSessionTimeout != 2*time.Second || c.MaxSessionTimeout != 20*time.Second {
		t.Errorf("clientPort %d min %v max %v", c.ClientPort, c.MinSessionTimeout, c.MaxSessionTimeout)
	}
	s := c.String()
	for _, line := range []string{"serverId=2\n", "quorumPort=2889\n", "electionPort=3889\n",
		"peerType=participant\n", "membership: \n", "server.2=127.0.0.1:2889:3889:participant;2182\n",
		"server.3=127.0.0.1:2890:3890:observer;127.0.0.1:2183\n"} {
		if !strings.Contains(s, line) {
			t.Errorf("String() lacks %q:\n%s", line, s)
		}
	}
}

func TestTestdataExample(t *testing.T) {
	dir := t.TempDir()
	for id, port := range map[string]int{"1": 2181, "2": 2182, "3": 2183} {
		c, warns := mustLoad(t, "testdata/zoo.cfg", nil, map[string]string{"myid": id, "dataDir": dir})
		if len(warns) != 0 || len(c.Servers) != 3 || c.ClientPort != port || c.DataLogDir != dir {
			t.Errorf("member %s: %+v %q", id, c, warns)
		}
	}
}

const ensembleYAML = `tickTime: 1000
initLimit: 5
syncLimit: 2
dataDir: %DIR%
server.1: "127.0.0.1:2888:3888;2181"
server.3: 127.0.0.1:2890:3890:observer;127.0.0.1:2183
server.2: 127.0.0.1:2889:3889:participant;2182
`

func TestYAMLEquivalent(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "myid", "2")
	props, _ := mustLoad(t, write(t, dir, "zoo.cfg", strings.ReplaceAll(ensemble, "%DIR%", dir)), nil, nil)
	yml, warns := mustLoad(t, write(t, dir, "zoo.yaml", strings.ReplaceAll(ensembleYAML, "%DIR%", dir)), nil, nil)
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	props.File, props.from, yml.File, yml.from = "", nil, "", nil
	if !reflect.DeepEqual(props, yml) {
		t.Errorf("yaml %+v\nprops %+v", yml, props)
	}
}

func TestYAMLNestedAndLists(t *testing.T) {
	path := write(t, t.TempDir(), "zoo.yml", `autopurge:
  snapRetainCount: 5
  purgeInterval: 0
4lw.commands.whitelist: [ruok, srvr, mntr]
forceSync: "no"
skipACL: true
bogusKey: 1
`)
	c, warns := mustLoad(t, path, nil, nil)
	if c.SnapRetainCount != 5 || c.PurgeInterval != 0 || c.ForceSync || !c.SkipACL ||
		!reflect.DeepEqual(c.FourLetterWords, []string{"ruok", "srvr", "mntr"}) {
		t.Errorf("%+v", c)
	}
	if len(warns) != 1 || warns[0] != path+": bogusKey: unknown key, ignored" {
		t.Errorf("warnings %q", warns)
	}
}

func TestPrecedence(t *testing.T) {
	path := write(t, t.TempDir(), "zoo.cfg", "tickTime=2000\nclientPort=2181\n4lw.commands.whitelist=srvr\n")
	env := []string{"PATH=/bin", "ZABKEEPER_TICKTIME=3000", "ZABKEEPER_CLIENTPORT=2191",
		"ZABKEEPER_4LW_COMMANDS_WHITELIST=ruok, stat", "ZABKEEPER_AUTOPURGE_PURGEINTERVAL=0"}
	c, _ := mustLoad(t, path, env, nil)
	if c.TickTime != 3*time.Second || c.ClientPort != 2191 || c.PurgeInterval != 0 ||
		!reflect.DeepEqual(c.FourLetterWords, []string{"ruok", "stat"}) {
		t.Errorf("env over file: %+v", c)
	}
	if c.MinSessionTimeout != 6*time.Second || c.MaxSessionTimeout != 60*time.Second {
		t.Errorf("session bounds follow the final tickTime: %v %v", c.MinSessionTimeout, c.MaxSessionTimeout)
	}
	c, _ = mustLoad(t, path, env, map[string]string{"tickTime": "4000", "ClientPort": "0"})
	if c.TickTime != 4*time.Second || c.ClientPort != 0 {
		t.Errorf("overrides over env: %+v", c)
	}
	if !c.FourLetterWordAllowed("ruok") || c.FourLetterWordAllowed("dump") {
		t.Errorf("whitelist %q", c.FourLetterWords)
	}
}

func TestEnvServersAndUnknown(t *testing.T) {
	dir := t.TempDir()
	env := []string{
		"ZABKEEPER_SERVER_1=127.0.0.1:2888:3888", "ZABKEEPER_SERVER_2=127.0.0.1:2889:3889",
		"ZABKEEPER_MYID=2", "ZABKEEPER_DATADIR=" + dir, "ZABKEEPER_TICKTIME=", "ZABKEEPER_NOPE=1",
		"ZABKEEPER_ADMIN_SERVERPORT=8080",
	}
	c, warns := mustLoad(t, "", env, nil)
	if len(c.Servers) != 2 || c.MyID != 2 || c.DataDir != dir || c.TickTime != 2*time.Second {
		t.Errorf("%+v", c)
	}
	if !reflect.DeepEqual(warns, []string{"environment: ZABKEEPER_NOPE: unknown key, ignored"}) ||
		!reflect.DeepEqual(c.Unknown, []string{"ZABKEEPER_NOPE"}) ||
		len(c.Ignored) != 0 || c.AdminPort != 8080 {
		t.Errorf("warnings %q unknown %q ignored %q", warns, c.Unknown, c.Ignored)
	}
}

func TestUnknownAndIgnoredKeys(t *testing.T) {
	path := write(t, t.TempDir(), "zoo.cfg", `fooBar=1
admin.serverPort=8080
admin.enableServer=false
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7000
standaloneEnabled=false
reconfigEnabled=true
electionAlg=3
quorumListenOnAllIPs=true
preAllocSize=65536
globalOutstandingLimit=1000
zookeeper.extendedTypesEnabled=true
ssl.keyStore.location=/x
`)
	c, warns := mustLoad(t, path, nil, nil)
	if !reflect.DeepEqual(warns, []string{path + ": fooBar: unknown key, ignored"}) {
		t.Errorf("warnings %q", warns)
	}
	if !reflect.DeepEqual(c.Unknown, []string{"fooBar"}) {
		t.Errorf("unknown %q", c.Unknown)
	}
	if c.AdminEnabled || c.AdminPort != 8080 {
		t.Errorf("admin.enableServer=false / admin.serverPort=8080 not applied: %v %d", c.AdminEnabled, c.AdminPort)
	}
	wantIgnored := []string{"electionAlg", "globalOutstandingLimit",
		"metricsProvider.className", "metricsProvider.httpPort", "preAllocSize", "quorumListenOnAllIPs",
		"reconfigEnabled", "ssl.keyStore.location", "standaloneEnabled"}
	if !reflect.DeepEqual(c.Ignored, wantIgnored) {
		t.Errorf("ignored %q", c.Ignored)
	}
	if !c.ExtendedTypesEnabled {
		t.Error("zookeeper.extendedTypesEnabled was not applied")
	}
}

func TestKeysMatchCaseInsensitively(t *testing.T) {
	path := write(t, t.TempDir(), "zoo.cfg", "TICKTIME=3000\nSyncLimit=x\n")
	_, _, err := Load(path, nil, nil)
	// The value is applied under the canonical key but reported as spelled.
	if err == nil || err.Error() != path+`: SyncLimit: "x" is not a whole number` {
		t.Fatalf("err %v", err)
	}
	path = write(t, t.TempDir(), "zoo.cfg", "TICKTIME=3000\n")
	c, _ := mustLoad(t, path, nil, nil)
	if c.TickTime != 3*time.Second {
		t.Errorf("tickTime %v", c.TickTime)
	}
}

func TestWarningsForAdjustedValues(t *testing.T) {
	path := write(t, t.TempDir(), "zoo.cfg",
		"snapCount=1\nautopurge.snapRetainCount=1\n4lw.commands.whitelist=srvr,xyzw\ntickTime=1000\ntickTime=1500\n")
	c, warns := mustLoad(t, path, nil, nil)
	if c.SnapCount != 2 || c.SnapRetainCount != 3 || c.TickTime != 1500*time.Millisecond {
		t.Errorf("%+v", c)
	}
	want := []string{
		path + ": tickTime: set on line 4 and again on line 5; the last value wins",
		path + ": snapCount: 1 is below 2; using 2",
		path + ": autopurge.snapRetainCount: 1 is below 3; using 3",
		path + `: 4lw.commands.whitelist: unknown command "xyzw", ignored`,
	}
	if !reflect.DeepEqual(warns, want) {
		t.Errorf("warnings\n%q\nwant\n%q", warns, want)
	}
}

func TestErrorsNameKeyAndFile(t *testing.T) {
	quorum := "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n"
	cases := []struct {
		name, cfg string
		over      map[string]string
		env       []string
		where     string // "" = the config file
		want      string // the rest of the message after "<where>: "
	}{
		{name: "tickTime", cfg: "tickTime=abc\n", want: `tickTime: "abc" is not a whole number of milliseconds`},
		{name: "tickTime zero", cfg: "tickTime=0\n", want: "tickTime: 0 must be at least 1 millisecond"},
		{name: "initLimit", cfg: "initLimit=0\n", want: "initLimit: 0 must be at least 1 tick"},
		{name: "syncLimit", cfg: "syncLimit=-3\n", want: "syncLimit: -3 must be at least 1 tick"},
		{name: "clientPort", cfg: "clientPort=70000\n", want: `clientPort: "70000" is not a port number (0-65535)`},
		{name: "maxClientCnxns", cfg: "maxClientCnxns=-1\n", want: "maxClientCnxns: -1 must be 0 (unlimited) or more"},
		{name: "huge", cfg: "initLimit=99999999999\n", want: `initLimit: "99999999999" is out of range`},
		{name: "session bounds", cfg: "minSessionTimeout=50000\nmaxSessionTimeout=4000\n",
			want: "minSessionTimeout: 50000 is larger than maxSessionTimeout 4000"},
		{name: "forceSync", cfg: "forceSync=maybe\n", want: `forceSync: "maybe" is not yes or no`},
		{name: "jute", cfg: "jute.maxbuffer=lots\n", want: `jute.maxbuffer: "lots" is not a whole number of bytes`},
		{name: "purge", cfg: "autopurge.purgeInterval=1.5\n", want: `autopurge.purgeInterval: "1.5" is not a whole number of hours`},
		{name: "logFormat", cfg: "logFormat=xml\n", want: `logFormat: "xml" is neither console nor json`},
		{name: "superDigest", cfg: "DigestAuthenticationProvider.superDigest=nocolon\n",
			want: "DigestAuthenticationProvider.superDigest: must be user:base64digest"},
		{name: "dynamic", cfg: "dynamicConfigFile=/x/zoo.cfg.dynamic\n",
			want: "dynamicConfigFile: dynamic configuration files are not supported; put the server.N lines in this file"},
		{name: "server form", cfg: "server.1=127.0.0.1:2888\nmyid=1\n",
			want: `server.1: "127.0.0.1:2888" is not of the form ` + serverForm},
		{name: "server id", cfg: "server.x=127.0.0.1:2888:3888\nmyid=1\n",
			want: `server.x: "x" is not a server id (a whole number, 0 or more)`},
		{name: "server role", cfg: "server.1=h:1:2:leader\nmyid=1\n",
			want: `server.1: role "leader" is neither participant nor observer`},
		{name: "server port", cfg: "server.1=h:0:2\nmyid=1\n", want: `server.1: peer port: "0" is not a port number (1-65535)`},
		{name: "duplicate port", cfg: "server.1=h:2888:3888\nserver.2=h:2888:3889\nmyid=1\n",
			want: "server.2: peer port h:2888 is already used by server.1"},
		{name: "same id twice", cfg: "server.1=h:2888:3888\nserver.01=h:2889:3889\nmyid=1\n",
			want: "server.1: server id 1 is listed twice"},
		{name: "myid not listed", cfg: quorum + "myid=7\n", want: "myid: 7 is not in the server list (server.1, server.2)"},
		{name: "observers only", cfg: "server.1=h:1:2:observer\nmyid=1\n",
			want: "server.N: no participant: every server is an observer"},
		{name: "client port clash", cfg: quorum + "myid=1\nclientPort=2888\n",
			want: "clientPort: 2888 is also a quorum port of server.1"},
		{name: "client port differs", cfg: "server.1=h:2888:3888;2181\nmyid=1\nclientPort=2182\n",
			want: "clientPort: 2182 differs from the client port 2181 on this server's line server.1"},
		{name: "extended ids", cfg: "server.300=h:2888:3888\nmyid=300\nextendedTypesEnabled=true\n",
			want: "myid: 300: server ids above 254 cannot be used with extendedTypesEnabled"},
		{name: "env", env: []string{"ZABKEEPER_TICKTIME=abc"}, where: "environment",
			want: `ZABKEEPER_TICKTIME: "abc" is not a whole number of milliseconds`},
		{name: "override", over: map[string]string{"syncLimit": "0"}, where: "overrides",
			want: "syncLimit: 0 must be at least 1 tick"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, t.TempDir(), "zoo.cfg", tc.cfg)
			c, _, err := Load(path, tc.env, tc.over)
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			where := tc.where
			if where == "" {
				where = path
			}
			if got, want := err.Error(), where+": "+tc.want; got != want {
				t.Errorf("error\n%s\nwant\n%s", got, want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Where != where {
				t.Errorf("not a *conf.Error from %s: %#v", where, err)
			}
		})
	}
}

func TestMyIDFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir, "zoo.cfg", "dataDir="+dir+"\nserver.1=h:2888:3888\nserver.2=h:2889:3889\n")
	myid := filepath.Join(dir, "myid")
	_, _, err := Load(path, nil, nil)
	if err == nil || !strings.HasPrefix(err.Error(), myid+": myid: cannot read this server's id") {
		t.Errorf("missing myid: %v", err)
	}
	write(t, dir, "myid", "two\n")
	_, _, err = Load(path, nil, nil)
	if err == nil || err.Error() != myid+`: myid: "two" is not a server id (a whole number, 0 or more)` {
		t.Errorf("bad myid: %v", err)
	}
	write(t, dir, "myid", "3\n")
	_, _, err = Load(path, nil, nil)
	if err == nil || err.Error() != myid+": myid: 3 is not in the server list (server.1, server.2)" {
		t.Errorf("unlisted myid: %v", err)
	}
	// A myid key or override wins over the file.
	c, _ := mustLoad(t, path, nil, map[string]string{"myid": "1"})
	if c.MyID != 1 {
		t.Errorf("myid %d", c.MyID)
	}
}

func TestSeveralErrorsAtOnce(t *testing.T) {
	path := write(t, t.TempDir(), "zoo.cfg", "tickTime=x\ninitLimit=y\n")
	_, _, err := Load(path, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "tickTime") || !strings.Contains(err.Error(), "initLimit") {
		t.Errorf("err %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.cfg")
	_, _, err := Load(path, nil, nil)
	if err == nil || !strings.HasPrefix(err.Error(), path+": cannot read configuration") {
		t.Errorf("err %v", err)
	}
}

func TestPropertiesEdgeCasesThroughLoad(t *testing.T) {
	path := write(t, t.TempDir(), "zoo.properties", "! bang comment\r\n"+
		"   tickTime : 2500   \r\n"+
		"4lw.commands.whitelist = srvr, \\\n"+
		"        ruok,\\\n"+
		"   mntr\n"+
		"dataDir /var/lib/zk\n"+
		"initLimit:7\n"+
		"# syncLimit=x \\\n"+
		"clientPortAddress=\n")
	c, warns := mustLoad(t, path, nil, nil)
	if len(warns) != 0 {
		t.Errorf("warnings %q", warns)
	}
	if c.TickTime != 2500*time.Millisecond || c.DataDir != "/var/lib/zk" || c.InitLimit != 7 || c.SyncLimit != 5 ||
		!reflect.DeepEqual(c.FourLetterWords, []string{"srvr", "ruok", "mntr"}) {
		t.Errorf("%+v", c)
	}
}

func TestHandBuiltConfig(t *testing.T) {
	c := Default()
	c.SuperDigest = "super:abc="
	c.Servers = []Server{{ID: 1, Host: "h", PeerPort: 1, ElectionPort: 2, Role: RoleParticipant}}
	c.MyID = 9
	err := c.Validate()
	if err == nil || err.Error() != "defaults: myid: 9 is not in the server list (server.1)" {
		t.Errorf("err %v", err)
	}
	c.MyID = 1
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if !strings.Contains(s, "DigestAuthenticationProvider.superDigest=****\n") || strings.Contains(s, "abc=") {
		t.Errorf("super digest not masked:\n%s", s)
	}
	if !strings.HasSuffix(s, "membership: \nserver.1=h:1:2:participant\n") {
		t.Errorf("membership:\n%s", s)
	}
}
