package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoLeader is returned by FindLeader when no server reports
// "Mode: leader" (all down, or an election in progress).
var ErrNoLeader = errors.New("bench: no server reports Mode: leader")

// FindLeader asks each server for `srvr` and returns the one whose Mode is
// leader. Works against zabkeeper and Apache ZooKeeper (srvr is in its
// default 4lw whitelist).
func FindLeader(ctx context.Context, servers []string, timeout time.Duration) (Member, error) {
	for i, addr := range servers {
		mode, err := Mode(ctx, addr, timeout)
		if err == nil && mode == "leader" {
			return Member{ID: i + 1, Addr: addr}, nil
		}
	}
	return Member{}, ErrNoLeader
}

// Mode is the "Mode:" line of addr's srvr answer (leader, follower,
// standalone, observer).
func Mode(ctx context.Context, addr string, timeout time.Duration) (string, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := nc.Write([]byte("srvr")); err != nil {
		return "", err
	}
	sc := bufio.NewScanner(nc)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "Mode:"); ok {
			return strings.TrimSpace(m), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("bench: %s: no Mode line in srvr output", addr)
}

// expand fills {id} and {addr} in a command template.
func expand(template string, m Member) string {
	return strings.NewReplacer("{id}", strconv.Itoa(m.ID), "{addr}", m.Addr).Replace(template)
}

// ShellKill runs template (after {id} and {addr} are filled in) with sh -c;
// the command is expected to kill that member, e.g. 'kill -9 $(cat
// /tmp/zk/{id}.pid)'.
func ShellKill(template string) KillFunc {
	return func(ctx context.Context, m Member) error {
		out, err := exec.CommandContext(ctx, "sh", "-c", expand(template, m)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
}

// PIDKill runs template (with {id} and {addr} filled in) with sh -c, reads
// the process id it prints and sends that process SIGKILL.
func PIDKill(template string) KillFunc {
	return func(ctx context.Context, m Member) error {
		out, err := exec.CommandContext(ctx, "sh", "-c", expand(template, m)).Output()
		if err != nil {
			return err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil || pid <= 1 {
			return fmt.Errorf("bench: leader pid command printed %q", strings.TrimSpace(string(out)))
		}
		return syscall.Kill(pid, syscall.SIGKILL)
	}
}
