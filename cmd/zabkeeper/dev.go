package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/conf"
	"github.com/zabkeeper/zabkeeper/server"
)

func devCommand() *cli.Command {
	return &cli.Command{
		Name:  "dev",
		Usage: "run a local ensemble on 127.0.0.1 in this process, for trying zabkeeper out",
		Description: "Starts --members members (1 = standalone) with client ports from --client-port up,\n" +
			"peer ports from --peer-port and election ports from --election-port, data under --dir,\n" +
			"every four-letter word enabled, and prints the connection string. Ctrl-C stops them.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "members", Aliases: []string{"n"}, Value: 3, Usage: "ensemble size"},
			&cli.StringFlag{Name: "dir", Value: "./zabkeeper-dev", Usage: "data directory (one folder per member)"},
			&cli.IntFlag{Name: "client-port", Value: 2181, Usage: "first client port"},
			&cli.IntFlag{Name: "peer-port", Value: 2888, Usage: "first peer (quorum) port"},
			&cli.IntFlag{Name: "election-port", Value: 3888, Usage: "first election port"},
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "debug, info, warn or error"},
		},
		Action: runDev,
	}
}

// devConfigs is one configuration per member of a local ensemble.
func devConfigs(n int, dir string, clientPort, peerPort, electionPort int) ([]*conf.Config, error) {
	if n < 1 || n > 9 {
		return nil, fmt.Errorf("--members must be between 1 and 9, not %d", n)
	}
	var servers []conf.Server
	if n > 1 {
		for i := 0; i < n; i++ {
			servers = append(servers, conf.Server{ID: int64(i + 1), Host: "127.0.0.1",
				PeerPort: peerPort + i, ElectionPort: electionPort + i, Role: conf.RoleParticipant,
				ClientHost: "127.0.0.1", ClientPort: clientPort + i})
		}
	}
	cfgs := make([]*conf.Config, n)
	for i := range cfgs {
		c := conf.Default()
		c.DataDir = filepath.Join(dir, fmt.Sprint(i+1))
		c.DataLogDir = c.DataDir
		c.ClientPort = clientPort + i
		c.ClientPortAddress = "127.0.0.1"
		c.Servers = servers
		c.MyID = int64(i + 1)
		c.FourLetterWords = []string{"*"}
		c.ExtendedTypesEnabled = true
		c.AdminPort = 0 // a free port each; printed below
		if err := c.Validate(); err != nil {
			return nil, err
		}
		cfgs[i] = c
	}
	return cfgs, nil
}

func runDev(c *cli.Context) error {
	cfgs, err := devConfigs(c.Int("members"), c.String("dir"), c.Int("client-port"),
		c.Int("peer-port"), c.Int("election-port"))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	log, err := newLogger("console", c.String("log-level"))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	defer log.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tuneGC()
	var addrs []string
	var srvs []*server.Server
	defer func() {
		for _, s := range srvs {
			s.Close()
		}
	}()
	for _, cfg := range cfgs {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return cli.Exit(err.Error(), 1)
		}
		s, err := server.New(cfg, log.With(zap.Int64("member", cfg.MyID)))
		if err != nil {
			return cli.Exit(err.Error(), 2)
		}
		if err := s.Start(ctx); err != nil {
			return cli.Exit(fmt.Sprintf("member %d: %v", cfg.MyID, err), 1)
		}
		srvs = append(srvs, s)
		addrs = append(addrs, s.Addr().String())
	}
	fmt.Printf("zabkeeper dev: %d member(s) running, data in %s\n", len(srvs), c.String("dir"))
	fmt.Printf("connection string: %s\n", strings.Join(addrs, ","))
	var admins []string
	for _, s := range srvs {
		if a := s.AdminAddr(); a != nil {
			admins = append(admins, a.String())
		}
	}
	if len(admins) > 0 {
		fmt.Printf("admin servers (metrics, snapshot save --admin): %s\n", strings.Join(admins, ","))
	}
	fmt.Printf("try: zkCli.sh -server %s   or   echo srvr | nc %s\n", strings.Join(addrs, ","),
		strings.Replace(addrs[0], ":", " ", 1))
	<-ctx.Done()
	fmt.Println("stopping")
	return nil
}
