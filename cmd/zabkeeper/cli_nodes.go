package main

// The znode commands: one request each (delete -r and ls -R walk a subtree).

import (
	"context"
	"errors"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/jute"
)

func createCommand() *cli.Command {
	return newCmd("create", "create a znode and print its path", "[-e] [-s] [-c] [-t TTL] PATH [DATA]", false,
		[]cli.Flag{
			&cli.BoolFlag{Name: "ephemeral", Aliases: []string{"e"}, Usage: "ephemeral (gone when this command's session ends)"},
			&cli.BoolFlag{Name: "sequential", Aliases: []string{"s"}, Usage: "append a sequence number to the name"},
			&cli.BoolFlag{Name: "container", Aliases: []string{"c"}, Usage: "container node"},
			&cli.DurationFlag{Name: "ttl", Aliases: []string{"t"}, Usage: "TTL node deleted after this long without change or children"},
			dataFileFlag,
		}, runCreate)
}

// createMode picks the mode from the flags; combinations ZooKeeper has no
// mode for are usage errors.
func createMode(c *cli.Context) (client.CreateMode, error) {
	e, s, ct, ttl := c.Bool("ephemeral"), c.Bool("sequential"), c.Bool("container"), c.Duration("ttl") > 0
	switch {
	case ct && (e || s || ttl):
		return 0, usageErr("create: -c cannot be combined with -e, -s or -t")
	case e && ttl:
		return 0, usageErr("create: -e cannot be combined with -t")
	case ct:
		return client.Container, nil
	case e && s:
		return client.EphemeralSequential, nil
	case e:
		return client.Ephemeral, nil
	case s:
		return client.PersistentSequential, nil
	}
	return client.Persistent, nil
}

func runCreate(e *cliEnv) error {
	if err := e.want(1, 2); err != nil {
		return err
	}
	mode, err := createMode(e.c)
	if err != nil {
		return err
	}
	data, _, err := e.data(1)
	if err != nil {
		return err
	}
	p := e.args[0]
	return e.withClient(func(c *client.Client) error {
		ctx, cancel := e.opCtx()
		defer cancel()
		var created string
		var st jute.Stat
		if ttl := e.c.Duration("ttl"); ttl > 0 {
			created, st, err = c.CreateTTL(ctx, p, data, mode, nil, ttl)
		} else {
			created, st, err = c.CreateStat(ctx, p, data, mode, nil)
		}
		if err != nil {
			return cliFail("create "+p, err)
		}
		if e.json {
			e.emit(nodeJSON{Path: created, Stat: statOf(st)})
		} else {
			e.printf("%s\n", created)
		}
		return nil
	})
}

func getCommand() *cli.Command {
	return newCmd("get", "print a znode's data", "[-s] [-w] PATH", false,
		[]cli.Flag{
			&cli.BoolFlag{Name: "stat", Aliases: []string{"s"}, Usage: "also print the stat"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "then wait for one change and print the event"},
		}, runGet)
}

func runGet(e *cliEnv) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	p := e.args[0]
	return e.withClient(func(c *client.Client) error {
		ctx, cancel := e.opCtx()
		defer cancel()
		var data []byte
		var st jute.Stat
		var ch <-chan client.Event
		var err error
		if e.c.Bool("watch") {
			data, st, ch, err = c.GetW(ctx, p)
		} else {
			data, st, err = c.Get(ctx, p)
		}
		if err != nil {
			return cliFail("get "+p, err)
		}
		e.printNode(p, data, st, e.c.Bool("stat"))
		if ch == nil {
			return nil
		}
		return e.awaitEvent("get "+p, ch)
	})
}

func (e *cliEnv) printNode(p string, data []byte, st jute.Stat, withStat bool) {
	if e.json {
		n := (&nodeJSON{Path: p}).withData(data)
		if withStat {
			n.Stat = statOf(st)
		}
		e.emit(n)
		return
	}
	e.printf("%s\n", data)
	if withStat {
		writeStat(e.out, st)
	}
}

// awaitEvent waits for a one-shot watch to fire (or an interrupt).
func (e *cliEnv) awaitEvent(what string, ch <-chan client.Event) error {
	select {
	case ev := <-ch:
		if ev.Err != nil {
			return cliFail(what, ev.Err)
		}
		e.printEvent(ev)
		return nil
	case <-e.ctx.Done():
		return nil
	}
}

func (e *cliEnv) printEvent(ev client.Event) {
	if e.json {
		e.emit(eventOf(ev))
	} else {
		e.printf("%s\n", eventText(ev))
	}
}

func setCommand() *cli.Command {
	return newCmd("set", "replace a znode's data", "[-v VERSION] PATH DATA", true,
		[]cli.Flag{versionFlag("only if the data version matches"), dataFileFlag}, runSet)
}

func runSet(e *cliEnv) error {
	if err := e.want(1, 2); err != nil {
		return err
	}
	data, ok, err := e.data(1)
	if err != nil {
		return err
	}
	if !ok {
		return usageErr("set: DATA or --data-file is required")
	}
	p := e.args[0]
	return e.withClient(func(c *client.Client) error {
		ctx, cancel := e.opCtx()
		defer cancel()
		st, err := c.Set(ctx, p, data, int32(e.c.Int("version")))
		if err != nil {
			return cliFail("set "+p, err)
		}
		if e.json {
			e.emit(nodeJSON{Path: p, Stat: statOf(st)})
		}
		return nil
	})
}

func statCommand() *cli.Command {
	return newCmd("stat", "print a znode's stat", "PATH", true, nil, func(e *cliEnv) error {
		if err := e.want(1, 1); err != nil {
			return err
		}
		p := e.args[0]
		return e.withClient(func(c *client.Client) error {
			ctx, cancel := e.opCtx()
			defer cancel()
			ok, st, err := c.Exists(ctx, p)
			if err == nil && !ok {
				err = jute.ErrNoNode
			}
			if err != nil {
				return cliFail("stat "+p, err)
			}
			if e.json {
				e.emit(nodeJSON{Path: p, Stat: statOf(st)})
			} else {
				writeStat(e.out, st)
			}
			return nil
		})
	})
}

func lsCommand() *cli.Command {
	return newCmd("ls", "list a znode's children", "[-s] [-R] PATH", false,
		[]cli.Flag{
			&cli.BoolFlag{Name: "stat", Aliases: []string{"s"}, Usage: "also print the stat"},
			&cli.BoolFlag{Name: "recursive", Aliases: []string{"R"}, Usage: "print every path of the subtree"},
		}, runLs)
}

func runLs(e *cliEnv) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	p := e.args[0]
	return e.withClient(func(c *client.Client) error {
		if e.c.Bool("recursive") {
			paths, err := walkSubtree(e, c, p)
			if err != nil {
				return cliFail("ls "+p, err)
			}
			for _, q := range paths {
				if e.json {
					e.emit(nodeJSON{Path: q})
				} else {
					e.printf("%s\n", q)
				}
			}
			return nil
		}
		ctx, cancel := e.opCtx()
		defer cancel()
		kids, st, err := c.Children(ctx, p)
		if err != nil {
			return cliFail("ls "+p, err)
		}
		sort.Strings(kids)
		if e.json {
			n := nodeJSON{Path: p, Children: &kids}
			if e.c.Bool("stat") {
				n.Stat = statOf(st)
			}
			e.emit(n)
			return nil
		}
		e.printf("%s\n", listText(kids))
		if e.c.Bool("stat") {
			writeStat(e.out, st)
		}
		return nil
	})
}

// subtree lists root and every descendant breadth first, children sorted,
// like zkCli's ls -R. Nodes deleted during the walk are skipped.
func walkSubtree(e *cliEnv, c *client.Client, root string) ([]string, error) {
	out := []string{root}
	for i := 0; i < len(out); i++ {
		ctx, cancel := e.opCtx()
		kids, _, err := c.Children(ctx, out[i])
		cancel()
		if errors.Is(err, jute.ErrNoNode) && i > 0 {
			continue
		}
		if err != nil {
			return nil, err
		}
		sort.Strings(kids)
		for _, k := range kids {
			out = append(out, childPath(out[i], k))
		}
	}
	return out, nil
}

func deleteCommand() *cli.Command {
	return newCmd("delete", "delete a znode", "[-v VERSION] [-r] PATH", true,
		[]cli.Flag{
			versionFlag("only if the data version matches (with -r: of PATH itself)"),
			&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Usage: "delete the whole subtree, bottom-up"},
		}, runDelete)
}

func runDelete(e *cliEnv) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	p := e.args[0]
	version := int32(e.c.Int("version"))
	return e.withClient(func(c *client.Client) error {
		paths := []string{p}
		if e.c.Bool("recursive") {
			var err error
			if paths, err = walkSubtree(e, c, p); err != nil {
				return cliFail("delete "+p, err)
			}
		}
		if err := deleteBottomUp(e, c, paths, version); err != nil {
			return cliFail("delete "+p, err)
		}
		for i := len(paths) - 1; i >= 0 && e.json; i-- {
			e.emit(map[string]string{"deleted": paths[i]})
		}
		return nil
	})
}

// deleteBatch bounds one multi: big enough to be quick, small enough to stay
// far below the server's request size limit.
const deleteBatch = 200

// deleteBottomUp deletes paths (parents before children, as subtree lists
// them) from the end, in multi batches, so each batch removes leaves only.
// The first path (the root) is deleted with version.
func deleteBottomUp(e *cliEnv, c *client.Client, paths []string, version int32) error {
	for end := len(paths); end > 0; end -= deleteBatch {
		start := max(0, end-deleteBatch)
		ops := make([]client.Op, 0, end-start)
		for i := end - 1; i >= start; i-- {
			v := int32(-1)
			if i == 0 {
				v = version
			}
			ops = append(ops, client.DeleteOp(paths[i], v))
		}
		ctx, cancel := e.opCtx()
		_, err := c.Multi(ctx, ops...)
		if errors.Is(err, jute.ErrNoNode) && len(ops) > 1 {
			// Someone removed part of the batch: delete one by one, skipping the gone.
			err = deleteEach(ctx, c, ops)
		}
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

func deleteEach(ctx context.Context, c *client.Client, ops []client.Op) error {
	for _, op := range ops {
		if _, err := c.Multi(ctx, op); err != nil && !errors.Is(err, jute.ErrNoNode) {
			return err
		}
	}
	return nil
}

func syncCommand() *cli.Command {
	return newCmd("sync", "make the connected server catch up with the leader", "PATH", true, nil, func(e *cliEnv) error {
		if err := e.want(1, 1); err != nil {
			return err
		}
		p := e.args[0]
		return e.withClient(func(c *client.Client) error {
			ctx, cancel := e.opCtx()
			defer cancel()
			if err := c.Sync(ctx, p); err != nil {
				return cliFail("sync "+p, err)
			}
			if e.json {
				e.emit(map[string]any{"path": p, "synced": true})
			} else {
				e.printf("Sync is OK\n")
			}
			return nil
		})
	})
}

func getACLCommand() *cli.Command {
	return newCmd("getacl", "print a znode's ACL", "PATH", true, nil, func(e *cliEnv) error {
		if err := e.want(1, 1); err != nil {
			return err
		}
		p := e.args[0]
		return e.withClient(func(c *client.Client) error {
			ctx, cancel := e.opCtx()
			defer cancel()
			acl, st, err := c.GetACL(ctx, p)
			if err != nil {
				return cliFail("getacl "+p, err)
			}
			if !e.json {
				writeACL(e.out, acl)
				return nil
			}
			list := make([]aclJSON, 0, len(acl))
			for _, a := range acl {
				list = append(list, aclJSON{a.ID.Scheme, a.ID.ID, jute.PermString(a.Perms)})
			}
			e.emit(struct {
				Path string    `json:"path"`
				ACL  []aclJSON `json:"acl"`
				Stat *statJSON `json:"stat"`
			}{p, list, statOf(st)})
			return nil
		})
	})
}

func setACLCommand() *cli.Command {
	return newCmd("setacl", "replace a znode's ACL", "[-v ACLVERSION] PATH ACL", true,
		[]cli.Flag{versionFlag("only if the ACL version matches")}, func(e *cliEnv) error {
			if err := e.want(2, 2); err != nil {
				return err
			}
			p := e.args[0]
			acl, err := parseACL(e.args[1])
			if err != nil {
				return usageErr("setacl: %v", err)
			}
			return e.withClient(func(c *client.Client) error {
				ctx, cancel := e.opCtx()
				defer cancel()
				st, err := c.SetACL(ctx, p, acl, int32(e.c.Int("version")))
				if err != nil {
					return cliFail("setacl "+p, err)
				}
				if e.json {
					e.emit(nodeJSON{Path: p, Stat: statOf(st)})
				}
				return nil
			})
		})
}
