package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/server/servertest"
)

// binPath is the zabkeeper binary built once for the whole suite.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zabkeeper-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "zabkeeper")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one finished run of the binary.
type result struct {
	out, err string
	code     int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
}

// zk runs the binary against server with args and waits for it.
func zk(t *testing.T, server string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), "ZABKEEPER_SERVERS="+server)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// must runs args and fails the test unless it exits 0.
func must(t *testing.T, server string, args ...string) string {
	t.Helper()
	r := zk(t, server, args...)
	if r.code != 0 {
		t.Fatalf("%v: %s", args, r)
	}
	return r.out
}

// expect runs args and checks the exit code and that stderr holds errPart.
func expect(t *testing.T, server string, code int, errPart string, args ...string) result {
	t.Helper()
	r := zk(t, server, args...)
	if r.code != code || !strings.Contains(r.err, errPart) {
		t.Fatalf("%v: want exit %d with %q on stderr; got %s", args, code, errPart, r)
	}
	if strings.Contains(r.err, "goroutine ") || strings.Contains(r.err, "panic") {
		t.Fatalf("%v: stack trace on stderr: %s", args, r.err)
	}
	return r
}

func startServer(t *testing.T) string {
	return servertest.Start(t).Addr().String()
}

// goClient is a direct session for setting up and checking state.
func goClient(t *testing.T, server string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, []string{server})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCreateGetSetStat(t *testing.T) {
	s := startServer(t)
	if out := must(t, s, "create", "/a", "hello"); out != "/a\n" {
		t.Fatalf("create printed %q", out)
	}
	if out := must(t, s, "get", "/a"); out != "hello\n" {
		t.Fatalf("get printed %q", out)
	}
	out := must(t, s, "get", "-s", "/a")
	for _, want := range []string{"hello\ncZxid = 0x", "\nctime = ", "\nmZxid = 0x", "\npZxid = 0x",
		"\ncversion = 0\n", "\ndataVersion = 0\n", "\naclVersion = 0\n", "\nephemeralOwner = 0x0\n",
		"\ndataLength = 5\n", "\nnumChildren = 0\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("get -s lacks %q:\n%s", want, out)
		}
	}
	must(t, s, "set", "-v", "0", "/a", "world")
	expect(t, s, exitBadVersion, "zabkeeper: set /a: version does not match", "set", "-v", "0", "/a", "again")
	expect(t, s, exitNoNode, "zabkeeper: get /missing: no such node", "get", "/missing")
	expect(t, s, exitNodeExists, "zabkeeper: create /a: node already exists", "create", "/a")

	var n struct {
		Path string `json:"path"`
		Data string `json:"data"`
		Stat struct {
			DataVersion int32  `json:"dataVersion"`
			CZxid       string `json:"cZxid"`
			DataLength  int32  `json:"dataLength"`
		} `json:"stat"`
	}
	decode(t, must(t, s, "get", "-s", "-o", "json", "/a"), &n)
	if n.Path != "/a" || n.Data != "world" || n.Stat.DataVersion != 1 || !strings.HasPrefix(n.Stat.CZxid, "0x") || n.Stat.DataLength != 5 {
		t.Fatalf("get -o json: %+v", n)
	}
	if out := must(t, s, "stat", "/a"); !strings.Contains(out, "dataVersion = 1\n") || strings.Contains(out, "world") {
		t.Fatalf("stat printed %q", out)
	}
	decode(t, must(t, s, "stat", "-o", "json", "/a"), &n)
	if n.Stat.DataVersion != 1 {
		t.Fatalf("stat -o json: %+v", n)
	}
	expect(t, s, exitNoNode, "zabkeeper: stat /nope: no such node", "stat", "/nope")
}

func decode(t *testing.T, line string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(line), v); err != nil {
		t.Fatalf("bad JSON %q: %v", line, err)
	}
}

func TestCreateModesAndData(t *testing.T) {
	s := startServer(t)
	must(t, s, "create", "/q")
	if out := must(t, s, "create", "-s", "/q/n-", "x"); out != "/q/n-0000000000\n" {
		t.Fatalf("create -s printed %q", out)
	}
	// Flags after the path work too.
	if out := must(t, s, "create", "/q/n-", "-s"); out != "/q/n-0000000001\n" {
		t.Fatalf("create PATH -s printed %q", out)
	}
	// An ephemeral lives as long as the command's session.
	must(t, s, "create", "-e", "/eph")
	expect(t, s, exitNoNode, "no such node", "stat", "/eph")
	must(t, s, "create", "-c", "/cont")
	must(t, s, "create", "-t", "1h", "/ttl", "v")
	expect(t, s, exitUsage, "-c cannot be combined", "create", "-c", "-e", "/bad")

	bin := []byte{0xff, 0x00, 0xfe}
	f := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(f, bin, 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, s, "create", "--data-file", f, "/bin")
	var n struct {
		Data       *string `json:"data"`
		DataBase64 string  `json:"data_base64"`
	}
	decode(t, must(t, s, "get", "-o", "json", "/bin"), &n)
	if n.Data != nil || n.DataBase64 != base64.StdEncoding.EncodeToString(bin) {
		t.Fatalf("binary get: %+v", n)
	}
	var c struct {
		Path string `json:"path"`
	}
	decode(t, must(t, s, "create", "-o", "json", "/j"), &c)
	if c.Path != "/j" {
		t.Fatalf("create -o json: %+v", c)
	}
	// Chroot through the connection string.
	must(t, s+"/q", "create", "/inside", "1")
	must(t, s, "get", "/q/inside")
}

func TestLsDelete(t *testing.T) {
	s := startServer(t)
	for _, p := range []string{"/t", "/t/b", "/t/a", "/t/a/x"} {
		must(t, s, "create", p)
	}
	if out := must(t, s, "ls", "/t"); out != "[a, b]\n" {
		t.Fatalf("ls printed %q", out)
	}
	if out := must(t, s, "ls", "-s", "/t"); !strings.HasPrefix(out, "[a, b]\ncZxid = ") || !strings.Contains(out, "numChildren = 2\n") {
		t.Fatalf("ls -s printed %q", out)
	}
	if out := must(t, s, "ls", "-R", "/t"); out != "/t\n/t/a\n/t/b\n/t/a/x\n" {
		t.Fatalf("ls -R printed %q", out)
	}
	var l struct {
		Path     string   `json:"path"`
		Children []string `json:"children"`
	}
	decode(t, must(t, s, "ls", "-o", "json", "/t"), &l)
	if l.Path != "/t" || strings.Join(l.Children, ",") != "a,b" {
		t.Fatalf("ls -o json: %+v", l)
	}
	expect(t, s, exitNotEmpty, "zabkeeper: delete /t: node has children", "delete", "/t")
	expect(t, s, exitBadVersion, "version does not match", "delete", "-v", "3", "/t/b")
	must(t, s, "delete", "-v", "0", "/t/b")
	must(t, s, "delete", "-r", "/t")
	expect(t, s, exitNoNode, "no such node", "ls", "/t")
	expect(t, s, exitNoNode, "zabkeeper: delete /t: no such node", "delete", "/t")

	// A subtree bigger than one multi batch.
	c := goClient(t, s)
	ctx := context.Background()
	if _, err := c.Create(ctx, "/big", nil, client.Persistent, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		dir := fmt.Sprintf("/big/d%02d", i)
		if _, err := c.Create(ctx, dir, nil, client.Persistent, nil); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 15; j++ {
			if _, err := c.Create(ctx, fmt.Sprintf("%s/n%02d", dir, j), nil, client.Persistent, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := must(t, s, "delete", "-r", "-o", "json", "/big")
	if got := strings.Count(out, "\n"); got != 1+30+30*15 {
		t.Fatalf("delete -r -o json reported %d nodes", got)
	}
	if ok, _, _ := c.Exists(ctx, "/big"); ok {
		t.Fatal("/big survived delete -r")
	}
}

func TestACL(t *testing.T) {
	s := startServer(t)
	if out := must(t, s, "getacl", "/"); out != "'world,'anyone\n: cdrwa\n" {
		t.Fatalf("getacl printed %q", out)
	}
	must(t, s, "create", "/ro", "v")
	must(t, s, "setacl", "/ro", "world:anyone:r")
	must(t, s, "get", "/ro")
	expect(t, s, exitNoAuth, "zabkeeper: set /ro: not authorized", "set", "/ro", "w")

	sum := sha1.Sum([]byte("bob:secret"))
	hash := base64.StdEncoding.EncodeToString(sum[:])
	must(t, s, "create", "/bob")
	must(t, s, "setacl", "/bob", "digest:bob:"+hash+":cdrwa,world:anyone:r")
	// The server shows the hash only to a session with admin on the node.
	if out := must(t, s, "getacl", "--auth", "digest:bob:secret", "/bob"); out != "'digest,'bob:"+hash+"\n: cdrwa\n'world,'anyone\n: r\n" {
		t.Fatalf("getacl printed %q", out)
	}
	expect(t, s, exitNoAuth, "not authorized", "set", "/bob", "x")
	expect(t, s, exitBadVersion, "zabkeeper: setacl /bob: version does not match", "setacl", "-v", "0", "--auth", "digest:bob:secret", "/bob", "world:anyone:r")
	must(t, s, "set", "--auth", "digest:bob:secret", "/bob", "x")
	var a struct {
		ACL []struct{ Scheme, ID, Perms string } `json:"acl"`
	}
	decode(t, must(t, s, "getacl", "-o", "json", "/bob"), &a)
	if len(a.ACL) != 2 || a.ACL[0].Scheme != "digest" || a.ACL[0].Perms != "cdrwa" || a.ACL[1].Perms != "r" {
		t.Fatalf("getacl -o json: %+v", a)
	}
	must(t, s, "create", "/mine")
	must(t, s, "setacl", "--auth", "digest:bob:secret", "/mine", "auth::cdrwa")
	expect(t, s, exitNoAuth, "not authorized", "get", "/mine")
	must(t, s, "get", "--auth", "digest:bob:secret", "/mine")
	expect(t, s, exitUsage, "ACL entry", "setacl", "/mine", "world:anyone")
	expect(t, s, exitUsage, "unknown permission", "setacl", "/mine", "world:anyone:rx")
}

func TestUsageAndConnectionErrors(t *testing.T) {
	s := startServer(t)
	expect(t, s, exitUsage, "wrong number of arguments", "get")
	expect(t, s, exitUsage, "flag provided but not defined", "get", "--bogus", "/a")
	expect(t, s, exitUsage, "flag provided but not defined", "get", "/a", "--bogus")
	expect(t, s, exitUsage, "want text or json", "get", "-o", "yaml", "/")
	expect(t, s, exitUsage, "must start with /", "get", "relative")
	expect(t, s, exitUsage, "DATA or --data-file", "set", "/a")
	expect(t, s, exitUsage, "--id NAME is required", "elect", "/e")
	expect(t, s, exitUsage, "lock PATH -- COMMAND", "lock", "/l")

	dead := servertest.FreePorts(t, 1)[0]
	addr := fmt.Sprintf("127.0.0.1:%d", dead)
	start := time.Now()
	expect(t, addr, exitUnreachable, "zabkeeper: connect "+addr+": no server reachable within 1s", "get", "--timeout", "1s", "/")
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("unreachable server took %s with --timeout 1s", d)
	}
	expect(t, s, exitUnreachable, "no server reachable", "get", "--server", addr, "--timeout", "500ms", "/")
	if out := must(t, s, "sync", "/"); out != "Sync is OK\n" {
		t.Fatalf("sync printed %q", out)
	}
}

func TestMembers(t *testing.T) {
	s := startServer(t)
	dead := fmt.Sprintf("127.0.0.1:%d", servertest.FreePorts(t, 1)[0])
	out := must(t, s+","+dead, "members", "--timeout", "2s")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SERVER") {
		t.Fatalf("members printed %q", out)
	}
	up, down := strings.Fields(lines[1]), strings.Fields(lines[2])
	if up[0] != s || up[1] != "up" || up[2] != "standalone" || !strings.HasPrefix(up[3], "0x") {
		t.Fatalf("member line %q", lines[1])
	}
	if down[0] != dead || down[1] != "down" {
		t.Fatalf("member line %q", lines[2])
	}
	var m struct {
		Server, Status, Mode, Zxid string
		Connections                int64
		NodeCount                  int64 `json:"node_count"`
	}
	first := strings.SplitN(must(t, s, "members", "-o", "json"), "\n", 2)[0]
	decode(t, first, &m)
	if m.Server != s || m.Status != "up" || m.Mode != "standalone" || m.NodeCount < 1 {
		t.Fatalf("members -o json: %+v", m)
	}
	expect(t, dead, exitUnreachable, "no server reachable", "members", "--timeout", "1s")
}

// proc is a running zabkeeper whose stdout is read line by line.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	done   chan struct{}
}

func startProc(t *testing.T, server string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binPath, args...), lines: make(chan string, 100), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "ZABKEEPER_SERVERS="+server)
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// line is the next stdout line; it fails after a generous 20 s.
func (p *proc) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			t.Fatalf("%v ended early: exit %d, stderr %q", p.cmd.Args, p.cmd.ProcessState.ExitCode(), p.stderr.String())
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("%v: no output line in 20s", p.cmd.Args)
	}
	return ""
}

// exit waits for the process to end and returns its exit code.
func (p *proc) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		t.Fatalf("%v did not exit", p.cmd.Args)
	}
	return 0
}

func TestGetWatch(t *testing.T) {
	s := startServer(t)
	must(t, s, "create", "/g", "v0")
	p := startProc(t, s, "get", "-w", "/g")
	if l := p.line(t); l != "v0" { // printed once the watch is set
		t.Fatalf("get -w printed %q", l)
	}
	must(t, s, "set", "/g", "v1")
	if l := p.line(t); !strings.HasPrefix(l, "NodeDataChanged /g") {
		t.Fatalf("get -w event %q", l)
	}
	if code := p.exit(t); code != 0 {
		t.Fatalf("get -w exit %d: %s", code, p.stderr.String())
	}
}

func TestWatchStream(t *testing.T) {
	s := startServer(t)
	must(t, s, "create", "/w")
	c := goClient(t, s)
	ctx := context.Background()
	p := startProc(t, s, "watch", "/w", "--recursive", "-o", "json")
	// The watch is registered at some point after start: poke until the
	// stream shows it is live, then make the changes under test.
	seen := make(chan string, 1)
	go func() { seen <- p.line(t) }()
	for i := 0; ; i++ {
		if _, err := c.Create(ctx, fmt.Sprintf("/w/probe%d", i), nil, client.Persistent, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-seen:
		case <-time.After(100 * time.Millisecond):
			continue
		}
		break
	}
	for _, f := range []func() error{
		func() error { _, err := c.Create(ctx, "/w/x", []byte("1"), client.Persistent, nil); return err },
		func() error { _, err := c.Set(ctx, "/w/x", []byte("2"), -1); return err },
		func() error { return c.Delete(ctx, "/w/x", -1) },
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for len(got) < 3 {
		var ev struct{ Type, Path, Zxid string }
		decode(t, p.line(t), &ev)
		if strings.HasPrefix(ev.Path, "/w/probe") {
			continue
		}
		if ev.Zxid != "" && !strings.HasPrefix(ev.Zxid, "0x") { // absent when the server sends -1
			t.Fatalf("event zxid: %+v", ev)
		}
		got = append(got, ev.Type+" "+ev.Path)
	}
	if want := "NodeCreated /w/x,NodeDataChanged /w/x,NodeDeleted /w/x"; strings.Join(got, ",") != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.exit(t); code != 0 {
		t.Fatalf("watch exit %d after SIGINT: %s", code, p.stderr.String())
	}
}

func TestLockMutualExclusion(t *testing.T) {
	s := startServer(t)
	log := filepath.Join(t.TempDir(), "log")
	script := `echo "start $0" >> ` + log + `; sleep 0.3; echo "end $0" >> ` + log
	a := startProc(t, s, "lock", "/locks/l", "--", "sh", "-c", script, "A")
	b := startProc(t, s, "lock", "/locks/l", "--", "sh", "-c", script, "B")
	if ca, cb := a.exit(t), b.exit(t); ca != 0 || cb != 0 {
		t.Fatalf("lock exits %d %d: %s %s", ca, cb, a.stderr.String(), b.stderr.String())
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("log %q", data)
	}
	for i := 0; i < 4; i += 2 { // each start is followed by its own end: no overlap
		id := strings.TrimPrefix(lines[i], "start ")
		if !strings.HasPrefix(lines[i], "start ") || lines[i+1] != "end "+id {
			t.Fatalf("intervals overlap: %q", data)
		}
	}
	// The command's exit code is the lock command's.
	expect(t, s, 7, "", "lock", "/locks/l", "--", "sh", "-c", "exit 7")
}

func TestLockLostStopsCommand(t *testing.T) {
	s := startServer(t)
	c := goClient(t, s)
	ctx := context.Background()
	p := startProc(t, s, "lock", "-o", "json", "/locks/lost", "--grace", "2s", "--", "sleep", "60")
	var acq struct{ Event, Node, Token string }
	decode(t, p.line(t), &acq)
	if acq.Event != "acquired" || !strings.HasPrefix(acq.Node, "/locks/lost/lock-") || !strings.HasPrefix(acq.Token, "0x") {
		t.Fatalf("lock -o json: %+v", acq)
	}
	if err := c.Delete(ctx, acq.Node, -1); err != nil {
		t.Fatal(err)
	}
	if code := p.exit(t); code != exitError || !strings.Contains(p.stderr.String(), "lock lost") {
		t.Fatalf("lost lock: exit %d, stderr %q", code, p.stderr.String())
	}
}

func TestElectTakeover(t *testing.T) {
	s := startServer(t)
	one := startProc(t, s, "elect", "/election", "--id", "one", "--session-timeout", "1s")
	if l := one.line(t); l != "leading as one" {
		t.Fatalf("first candidate printed %q", l)
	}
	two := startProc(t, s, "elect", "/election", "--id", "two", "--session-timeout", "1s")
	_ = one.cmd.Process.Kill() // no goodbye: its session must expire
	one.exit(t)
	if l := two.line(t); l != "leading as two" {
		t.Fatalf("second candidate printed %q", l)
	}
	_ = two.cmd.Process.Signal(syscall.SIGTERM)
	if code := two.exit(t); code != 0 {
		t.Fatalf("elect exit %d after SIGTERM: %s", code, two.stderr.String())
	}
	// Resigned on the way out: no candidates left.
	if out := must(t, s, "ls", "/election"); out != "[]\n" {
		t.Fatalf("candidates left: %q", out)
	}
}
