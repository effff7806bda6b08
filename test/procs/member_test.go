package procs

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// member is one zabkeeper server process with its own zoo.cfg, dataDir and
// output file. It survives restarts: start, kill9, start again on the same
// data.
type member struct {
	t          *testing.T
	id         int64
	dir        string // holds zoo.cfg, data/ and output.log
	clientAddr string // 127.0.0.1:port
	cmd        *exec.Cmd
	done       chan struct{} // closed when the running process has been reaped
	starts     int
}

func (m *member) String() string { return fmt.Sprintf("member %d (%s)", m.id, m.clientAddr) }

func (m *member) cfgPath() string { return filepath.Join(m.dir, "zoo.cfg") }
func (m *member) dataDir() string { return filepath.Join(m.dir, "data") }
func (m *member) logPath() string { return filepath.Join(m.dir, "output.log") }

// newMember prepares the folders and registers the cleanup that kills the
// process and, when the test failed, prints its output.
func newMember(t *testing.T, id int64, clientAddr string) *member {
	t.Helper()
	m := &member{t: t, id: id, dir: t.TempDir(), clientAddr: clientAddr}
	if err := os.MkdirAll(m.dataDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.kill9()
		if showLogs(t) {
			t.Logf("---- %s output (last lines of %s) ----\n%s", m, m.logPath(), tail(m.logPath(), 150))
		}
	})
	return m
}

// showLogs says whether to print the processes' and the client's logs: when
// the test failed, or always with PROCS_LOGS=1 (to study a passing run).
func showLogs(t *testing.T) bool { return t.Failed() || os.Getenv("PROCS_LOGS") != "" }

// writeConfig writes zoo.cfg from the given lines plus the dataDir.
func (m *member) writeConfig(lines ...string) {
	m.t.Helper()
	body := strings.Join(append([]string{"dataDir=" + m.dataDir()}, lines...), "\n") + "\n"
	if err := os.WriteFile(m.cfgPath(), []byte(body), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

// start runs `zabkeeper server --config zoo.cfg`, appending its output to
// output.log.
func (m *member) start() {
	m.t.Helper()
	if m.running() {
		m.t.Fatalf("%s is already running", m)
	}
	out, err := os.OpenFile(m.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		m.t.Fatal(err)
	}
	m.starts++
	fmt.Fprintf(out, "==== start %d at %s ====\n", m.starts, time.Now().Format("15:04:05.000"))
	cmd := exec.Command(binary, "server", "--config", m.cfgPath())
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		m.t.Fatalf("start %s: %v", m, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(out, "==== exit at %s: %v ====\n", time.Now().Format("15:04:05.000"), err)
		out.Close()
		close(done)
	}()
	m.cmd, m.done = cmd, done
}

// running reports whether the process started last is still alive.
func (m *member) running() bool {
	if m.done == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// kill9 sends SIGKILL and waits until the process is gone; a no-op when it
// is not running.
func (m *member) kill9() {
	if m.done == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
	m.cmd, m.done = nil, nil
}

// fourLetter sends a four-letter word to the client port and returns the answer.
func fourLetter(addr, word string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, word); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// srvrInfo is what the srvr four-letter word reports about a member.
type srvrInfo struct {
	Mode  string // leader, follower, standalone
	Zxid  string
	Nodes int
}

func (s srvrInfo) String() string { return fmt.Sprintf("%s zxid=%s nodes=%d", s.Mode, s.Zxid, s.Nodes) }

// srvr asks the member for srvr; an error means it is not serving (yet).
func (m *member) srvr() (srvrInfo, error) {
	out, err := fourLetter(m.clientAddr, "srvr")
	if err != nil {
		return srvrInfo{}, err
	}
	var s srvrInfo
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		switch k {
		case "Mode":
			s.Mode = v
		case "Zxid":
			s.Zxid = v
		case "Node count":
			s.Nodes, _ = strconv.Atoi(v)
		}
	}
	if s.Mode == "" {
		return s, fmt.Errorf("srvr: %q", strings.TrimSpace(out))
	}
	return s, nil
}

// freeAddrs reserves n distinct loopback ports by listening on all of them at
// once, then releases them for the servers to bind.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var addrs []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		panic(err)
	}
	return p
}

// waitFor polls cond every 20 ms until it holds or the deadline passes;
// cond describes the current state for the failure message.
func waitFor(t *testing.T, what string, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s; last state: %s", within, what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o644) }
