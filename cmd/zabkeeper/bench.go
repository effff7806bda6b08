package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/zabkeeper/zabkeeper/bench"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "drive a ZooKeeper-protocol ensemble (zabkeeper or Apache ZooKeeper) and report throughput and latency",
		Description: "Opens --connections sessions spread round-robin over --servers, keeps --inflight requests\n" +
			"outstanding on each, warms up, then measures for --duration: ops/s, p50/p99/p99.9 latency from\n" +
			"send to reply, and errors by kind. With --failover it finds the leader with srvr a third into\n" +
			"the measured time, kills it with --kill-cmd (or SIGKILL to the pid --leader-pid-cmd prints;\n" +
			"{id} is the member's 1-based position in --servers, {addr} its address) and reports the\n" +
			"longest gap between two successful writes across all connections.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "servers", Aliases: []string{"s"}, Value: "127.0.0.1:2181", Usage: "comma-separated host:port list"},
			&cli.StringFlag{Name: "workload", Aliases: []string{"w"}, Value: "set", Usage: "create, set, get or mixed"},
			&cli.Float64Flag{Name: "read-ratio", Value: 0.9, Usage: "fraction of gets in the mixed workload"},
			&cli.IntFlag{Name: "connections", Aliases: []string{"c"}, Value: 8, Usage: "sessions, spread over the servers"},
			&cli.IntFlag{Name: "inflight", Aliases: []string{"i"}, Value: 8, Usage: "outstanding requests per connection"},
			&cli.IntFlag{Name: "value-size", Value: 100, Usage: "bytes per value"},
			&cli.IntFlag{Name: "keys", Value: 1000, Usage: "key space for set, get and mixed"},
			&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Value: 10e9, Usage: "measured time"},
			&cli.DurationFlag{Name: "warmup", Value: 2e9, Usage: "unmeasured time before it"},
			&cli.DurationFlag{Name: "session-timeout", Value: 4e9, Usage: "requested session timeout"},
			&cli.StringFlag{Name: "root", Value: "/zkbench", Usage: "parent znode of everything the benchmark creates"},
			&cli.StringFlag{Name: "client", Value: "raw", Usage: "raw (built-in pipelined client) or gozk (go-zookeeper/zk)"},
			&cli.BoolFlag{Name: "failover", Usage: "kill the leader mid-run and report the longest write gap"},
			&cli.DurationFlag{Name: "kill-after", Usage: "when to kill, into the measured time (default a third of it)"},
			&cli.StringFlag{Name: "kill-cmd", Usage: "shell command that kills member {id} (at {addr})"},
			&cli.StringFlag{Name: "leader-pid-cmd", Usage: "shell command that prints the pid of member {id}; it gets SIGKILL"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"},
		},
		Action: runBench,
	}
}

func benchConfig(c *cli.Context) (bench.Config, error) {
	cfg := bench.Config{
		Workload: bench.Workload(c.String("workload")), ReadRatio: c.Float64("read-ratio"),
		Connections: c.Int("connections"), Inflight: c.Int("inflight"), ValueSize: c.Int("value-size"),
		Keys: c.Int("keys"), Duration: c.Duration("duration"), Warmup: c.Duration("warmup"),
		SessionTimeout: c.Duration("session-timeout"), Root: c.String("root"),
		Client: bench.Client(c.String("client")), KillAfter: c.Duration("kill-after"),
	}
	for _, s := range strings.Split(c.String("servers"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Servers = append(cfg.Servers, s)
		}
	}
	if c.Bool("failover") {
		switch {
		case c.String("kill-cmd") != "":
			cfg.Kill = bench.ShellKill(c.String("kill-cmd"))
		case c.String("leader-pid-cmd") != "":
			cfg.Kill = bench.PIDKill(c.String("leader-pid-cmd"))
		default:
			return cfg, fmt.Errorf("--failover needs --kill-cmd or --leader-pid-cmd")
		}
	}
	if o := c.String("output"); o != "text" && o != "json" {
		return cfg, fmt.Errorf("--output must be text or json, not %q", o)
	}
	return cfg, nil
}

func runBench(c *cli.Context) error {
	cfg, err := benchConfig(c)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil && c.Context.Err() == nil {
			return cli.Exit("interrupted", 130)
		}
		return cli.Exit(err.Error(), 1)
	}
	if c.String("output") == "json" {
		return res.WriteJSON(c.App.Writer)
	}
	return res.WriteText(c.App.Writer)
}
