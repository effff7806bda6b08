package main

// The client commands share one shape: common connection flags, positional
// arguments that may be mixed with flags, text or JSON output on stdout, and
// failures mapped to documented exit codes with a one-line message on stderr.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/jute"
)

// Exit codes of the client commands (documented in CLI.md and --help).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNoNode      = 3
	exitNodeExists  = 4
	exitBadVersion  = 5
	exitNotEmpty    = 6
	exitNoAuth      = 7
	exitUnreachable = 8
	exitExpired     = 9
)

const exitCodesHelp = `
EXIT CODES (client commands):
   0 ok                 1 other error            2 usage error
   3 no node            4 node exists            5 bad version
   6 not empty          7 no auth / auth failed  8 cannot connect / connection loss / timeout
   9 session expired
`

func init() {
	cli.AppHelpTemplate += exitCodesHelp
}

// exitErr is a failure the CLI reports as "zabkeeper: <msg>" with code.
// urfave/cli prints it and exits, so no stack trace ever reaches the user.
type exitErr struct {
	code int
	msg  string
}

func (e *exitErr) Error() string {
	if e.msg == "" {
		return ""
	}
	return "zabkeeper: " + e.msg
}

func (e *exitErr) ExitCode() int { return e.code }

func usageErr(format string, args ...any) error {
	return &exitErr{exitUsage, fmt.Sprintf(format, args...)}
}

// cliFail reports that what failed because of err, with the exit code err maps to.
func cliFail(what string, err error) error {
	var ee *exitErr
	if errors.As(err, &ee) {
		return ee
	}
	code, reason := classify(err)
	return &exitErr{code, what + ": " + reason}
}

// classify maps an error to its exit code and a short human reason.
func classify(err error) (int, string) {
	var netErr net.Error
	switch {
	case errors.Is(err, jute.ErrNoNode):
		return exitNoNode, "no such node"
	case errors.Is(err, jute.ErrNodeExists):
		return exitNodeExists, "node already exists"
	case errors.Is(err, jute.ErrBadVersion):
		return exitBadVersion, "version does not match"
	case errors.Is(err, jute.ErrNotEmpty):
		return exitNotEmpty, "node has children"
	case errors.Is(err, jute.ErrNoAuth):
		return exitNoAuth, "not authorized"
	case errors.Is(err, jute.ErrAuthFailed):
		return exitNoAuth, "authentication failed"
	case errors.Is(err, jute.ErrSessionExpired):
		return exitExpired, "session expired"
	case errors.Is(err, jute.ErrConnectionLoss):
		return exitUnreachable, "connection lost"
	case errors.Is(err, jute.ErrOperationTimeout), errors.Is(err, context.DeadlineExceeded):
		return exitUnreachable, "timed out"
	case errors.As(err, &netErr):
		return exitUnreachable, err.Error()
	case errors.Is(err, jute.ErrBadArguments):
		return exitUsage, err.Error()
	case errors.Is(err, client.ErrClosed):
		return exitUnreachable, "client closed"
	}
	return exitError, err.Error()
}

// connFlags are the flags every client command takes. sAlias is false for
// the commands whose own -s flag means something else (create, get, ls).
func connFlags(sAlias bool) []cli.Flag {
	server := &cli.StringFlag{Name: "server", Value: "127.0.0.1:2181", EnvVars: []string{"ZABKEEPER_SERVERS"},
		Usage: "connection string host:port[,host:port...][/chroot]"}
	if sAlias {
		server.Aliases = []string{"s"}
	}
	return []cli.Flag{
		server,
		&cli.StringSliceFlag{Name: "auth", Usage: "credential scheme:cred, e.g. digest:user:pass (repeatable)"},
		&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "bound on connecting and on each request"},
		&cli.DurationFlag{Name: "session-timeout", Value: 10 * time.Second, Usage: "requested session timeout"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"},
	}
}

// env is what a command's body works with.
type cliEnv struct {
	c    *cli.Context
	name string
	args []string // positional arguments, flags removed
	json bool
	ctx  context.Context // ends on SIGINT/SIGTERM
	out  io.Writer
}

// newCmd builds a client command: run gets the parsed env, and every error
// it returns leaves through cliFail's exit codes.
func newCmd(name, usage, argsUsage string, sAlias bool, flags []cli.Flag, run func(*cliEnv) error) *cli.Command {
	all := append(flags, connFlags(sAlias)...)
	return &cli.Command{
		Name: name, Usage: usage, ArgsUsage: argsUsage, Flags: all,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageErr("%s: %v (see zabkeeper %s --help)", name, err, name)
		},
		Action: func(c *cli.Context) error {
			args, err := interspersed(c, all)
			if err == errHelpShown {
				return nil
			}
			if err != nil {
				return usageErr("%s: %v (see zabkeeper %s --help)", name, err, name)
			}
			e := &cliEnv{c: c, name: name, args: args, out: os.Stdout}
			switch c.String("output") {
			case "text":
			case "json":
				e.json = true
			default:
				return usageErr("%s: -o %q: want text or json", name, c.String("output"))
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			e.ctx = ctx
			return run(e)
		},
	}
}

// interspersed lets flags follow positional arguments ("watch /a
// --recursive"): urfave/cli stops parsing at the first positional one, so
// the rest is parsed here and set on the context. After "--" everything is
// positional.
func interspersed(c *cli.Context, flags []cli.Flag) ([]string, error) {
	in := c.Args().Slice()
	var out []string
	for i := 0; i < len(in); i++ {
		a := in[i]
		if a == "--" {
			return append(out, in[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			_ = cli.ShowCommandHelp(c.Lineage()[1], c.Command.Name)
			return nil, errHelpShown
		}
		f := findFlag(flags, name)
		if f == nil {
			return nil, fmt.Errorf("flag provided but not defined: %s", a)
		}
		if _, isBool := f.(*cli.BoolFlag); isBool && !hasVal {
			val, hasVal = "true", true
		}
		if !hasVal {
			if i+1 >= len(in) {
				return nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			val = in[i]
		}
		// Set the canonical name: urfave/cli keeps one value per alias and
		// reads the first name's.
		if err := c.Set(f.Names()[0], val); err != nil {
			return nil, fmt.Errorf("invalid value %q for flag %s: %v", val, a, err)
		}
	}
	return out, nil
}

// errHelpShown: -h came after the arguments and help is printed.
var errHelpShown = errors.New("help shown")

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// want checks the number of positional arguments.
func (e *cliEnv) want(min, max int) error {
	if n := len(e.args); n < min || (max >= 0 && n > max) {
		return usageErr("%s: wrong number of arguments (usage: zabkeeper %s %s)", e.name, e.name, e.c.Command.ArgsUsage)
	}
	return nil
}

// opCtx bounds one request by --timeout.
func (e *cliEnv) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(e.ctx, e.c.Duration("timeout"))
}

// connect opens a session with the common flags.
func (e *cliEnv) connect() (*client.Client, error) {
	server := e.c.String("server")
	opts := []client.Option{client.WithSessionTimeout(e.c.Duration("session-timeout")),
		client.WithDialTimeout(e.c.Duration("timeout"))}
	for _, a := range e.c.StringSlice("auth") {
		scheme, cred, ok := strings.Cut(a, ":")
		if !ok || scheme == "" {
			return nil, usageErr("%s: --auth %q: want scheme:credential, e.g. digest:user:pass", e.name, a)
		}
		opts = append(opts, client.WithAuth(scheme, []byte(cred)))
	}
	ctx, cancel := e.opCtx()
	defer cancel()
	c, err := client.Connect(ctx, []string{server}, opts...)
	if err != nil {
		if e.ctx.Err() != nil {
			return nil, &exitErr{exitError, "connect " + server + ": interrupted"}
		}
		if ctx.Err() != nil {
			return nil, &exitErr{exitUnreachable, fmt.Sprintf("connect %s: no server reachable within %s", server, e.c.Duration("timeout"))}
		}
		return nil, cliFail("connect "+server, err)
	}
	return c, nil
}

// withClient connects, runs f and closes the session.
func (e *cliEnv) withClient(f func(*client.Client) error) error {
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

// emit writes one JSON object per line.
func (e *cliEnv) emit(v any) {
	enc := json.NewEncoder(e.out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (e *cliEnv) printf(format string, args ...any) { fmt.Fprintf(e.out, format, args...) }

// data is DATA (positional argument i) or the contents of --data-file
// ("-" for stdin); ok is false when neither was given.
func (e *cliEnv) data(i int) ([]byte, bool, error) {
	if f := e.c.String("data-file"); f != "" {
		if len(e.args) > i {
			return nil, false, usageErr("%s: give DATA or --data-file, not both", e.name)
		}
		var b []byte
		var err error
		if f == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(f)
		}
		if err != nil {
			return nil, false, &exitErr{exitError, fmt.Sprintf("%s: read data: %v", e.name, err)}
		}
		return b, true, nil
	}
	if len(e.args) > i {
		return []byte(e.args[i]), true, nil
	}
	return nil, false, nil
}

var dataFileFlag = &cli.StringFlag{Name: "data-file", Usage: "read the data from this file (- for stdin), for binary data"}

// versionFlag is -v VERSION; -1 (the default) matches any version.
func versionFlag(usage string) *cli.IntFlag {
	return &cli.IntFlag{Name: "version", Aliases: []string{"v"}, Value: -1, Usage: usage}
}
