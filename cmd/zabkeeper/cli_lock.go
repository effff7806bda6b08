package main

// lock and elect: the recipes, held for as long as a command (or this
// process) runs.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/client/recipe"
	"github.com/zabkeeper/zabkeeper/jute"
)

func lockCommand() *cli.Command {
	return newCmd("lock", "run a command while holding a lock", "PATH -- COMMAND [ARGS...]", true,
		[]cli.Flag{&cli.DurationFlag{Name: "grace", Value: 5 * time.Second,
			Usage: "after SIGTERM, how long the command may take to stop before SIGKILL"}},
		runLock)
}

func runLock(e *cliEnv) error {
	if len(e.args) < 2 {
		return usageErr("lock: usage: zabkeeper lock PATH -- COMMAND [ARGS...]")
	}
	p, argv := e.args[0], e.args[1:]
	return e.withClient(func(c *client.Client) error {
		l := recipe.NewLock(c, p)
		if err := l.Lock(e.ctx); err != nil {
			if e.ctx.Err() != nil {
				return &exitErr{exitError, "lock " + p + ": interrupted while waiting"}
			}
			return cliFail("lock "+p, err)
		}
		if e.json {
			e.emit(map[string]any{"event": "acquired", "path": p, "node": l.Node(), "token": hex64(l.Token())})
		}
		code, lost := e.runHolding(argv, l.Lost())
		ctx, cancel := context.WithTimeout(context.Background(), e.c.Duration("timeout"))
		_ = l.Unlock(ctx)
		cancel()
		if lost {
			return lossErr("lock "+p+": lock lost, command stopped", c)
		}
		if code != 0 {
			return &exitErr{code: code}
		}
		return nil
	})
}

// lossErr reports a lost lock or leadership: 9 if the session expired.
func lossErr(what string, c *client.Client) error {
	if errors.Is(c.Err(), jute.ErrSessionExpired) {
		return &exitErr{exitExpired, what + ": session expired"}
	}
	return &exitErr{exitError, what}
}

// runHolding runs argv until it exits, stopping it if lost closes or this
// process is interrupted. It returns the command's exit code (128+signal
// when a signal ended it, like a shell) and whether the lock was lost.
func (e *cliEnv) runHolding(argv []string, lost <-chan struct{}) (code int, wasLost bool) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "zabkeeper: lock: start %s: %v\n", argv[0], err)
		return 127, false
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-lost:
		wasLost = true
		stopCommand(cmd, done, e.c.Duration("grace"))
	case <-e.ctx.Done():
		stopCommand(cmd, done, e.c.Duration("grace"))
	}
	return exitCodeOf(cmd.ProcessState), wasLost
}

// stop sends SIGTERM, then SIGKILL if the command outlives the grace period.
func stopCommand(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = cmd.Process.Kill()
		<-done
	}
}

func exitCodeOf(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func electCommand() *cli.Command {
	return newCmd("elect", "campaign for leadership and lead until interrupted", "PATH --id NAME", true,
		[]cli.Flag{&cli.StringFlag{Name: "id", Usage: "this candidate's name, shown to observers"}},
		runElect)
}

func runElect(e *cliEnv) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	p, id := e.args[0], e.c.String("id")
	if id == "" {
		return usageErr("elect: --id NAME is required")
	}
	return e.withClient(func(c *client.Client) error {
		el := recipe.NewElection(c, p)
		if err := el.Campaign(e.ctx, id); err != nil {
			if e.ctx.Err() != nil {
				return nil // interrupted before leading: withdrawn
			}
			return cliFail("elect "+p, err)
		}
		if e.json {
			e.emit(map[string]string{"event": "leading", "path": p, "id": id})
		} else {
			e.printf("leading as %s\n", id)
		}
		select {
		case <-el.Lost():
			return lossErr("elect "+p+": leadership lost", c)
		case <-e.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), e.c.Duration("timeout"))
			defer cancel()
			_ = el.Resign(ctx)
			return nil
		}
	})
}
