package main

import (
	"github.com/urfave/cli/v2"

	"github.com/zabkeeper/zabkeeper/client"
)

func watchCommand() *cli.Command {
	return newCmd("watch", "stream a znode's (or subtree's) events until interrupted", "PATH [--recursive]", true,
		[]cli.Flag{&cli.BoolFlag{Name: "recursive", Aliases: []string{"r", "R"}, Usage: "watch the whole subtree"}},
		runWatch)
}

// runWatch holds a persistent watch, which the client re-registers after
// every reconnect, so the stream has no gap while the session lives.
func runWatch(e *cliEnv) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	p := e.args[0]
	return e.withClient(func(c *client.Client) error {
		ctx, cancel := e.opCtx()
		w, err := c.Watch(ctx, p, e.c.Bool("recursive"))
		cancel()
		if err != nil {
			return cliFail("watch "+p, err)
		}
		defer w.Close()
		for {
			select {
			case ev, ok := <-w.Events():
				if !ok {
					return nil
				}
				if ev.Err != nil {
					return cliFail("watch "+p, ev.Err)
				}
				e.printEvent(ev)
			case <-e.ctx.Done():
				return nil
			}
		}
	})
}
