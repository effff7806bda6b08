package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/server"
	"github.com/zabkeeper/zabkeeper/store"
	"github.com/zabkeeper/zabkeeper/tree"
)

func snapshotCommand() *cli.Command {
	return &cli.Command{
		Name:  "snapshot",
		Usage: "back up and restore: save a running member's state, restore it, inspect a file",
		Subcommands: []*cli.Command{
			{
				Name:      "save",
				Usage:     "download a point-in-time snapshot from a running member's admin server",
				ArgsUsage: "FILE",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "admin", Value: "127.0.0.1:8080", Usage: "the member's admin.serverAddress:admin.serverPort"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
				},
				Action: snapshotSave,
			},
			{
				Name:      "restore",
				Usage:     "make a fresh data directory from a snapshot file (run it on a stopped member)",
				ArgsUsage: "FILE",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "data-dir", Usage: "the member's dataDir (must hold no data)"},
					&cli.StringFlag{Name: "data-log-dir", Usage: "the member's dataLogDir (default: data-dir)"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
				},
				Action: snapshotRestore,
			},
			{
				Name:      "inspect",
				Usage:     "check a snapshot file and summarise it: znodes, bytes, digest, largest subtrees",
				ArgsUsage: "FILE",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "top", Value: 10, Usage: "how many of the largest subtrees to list"},
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
				},
				Action: snapshotInspect,
			},
		},
	}
}

// oneArg is the FILE argument; flags may come before or after it.
func oneArg(c *cli.Context, what string) (string, error) {
	args, err := interspersed(c, c.Command.Flags)
	if err == errHelpShown {
		return "", cli.Exit("", 0)
	}
	if err != nil {
		return "", cli.Exit(fmt.Sprintf("zabkeeper: %s: %v", what, err), 2)
	}
	if len(args) != 1 {
		return "", cli.Exit(fmt.Sprintf("zabkeeper: %s: expected one FILE argument", what), 2)
	}
	return args[0], nil
}

// progress wraps r in a progress bar of size bytes (unknown size: -1).
func progress(r io.Reader, size int64, what string, quiet bool) io.Reader {
	if quiet {
		return r
	}
	bar := progressbar.DefaultBytes(size, what)
	return io.TeeReader(r, bar)
}

func snapshotSave(c *cli.Context) error {
	file, err := oneArg(c, "snapshot save")
	if err != nil {
		return err
	}
	url := "http://" + c.String("admin") + server.SnapshotPath
	hc := &http.Client{Timeout: 0}
	resp, err := hc.Get(url)
	if err != nil {
		return cli.Exit(fmt.Sprintf("zabkeeper: snapshot save: cannot reach the admin server: %v", err), 8)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return cli.Exit(fmt.Sprintf("zabkeeper: snapshot save: %s answered %s", url, resp.Status), 1)
	}
	tmp := file + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return cli.Exit("zabkeeper: snapshot save: "+err.Error(), 1)
	}
	n, err := io.Copy(f, progress(resp.Body, resp.ContentLength, "saving", c.Bool("quiet")))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return cli.Exit("zabkeeper: snapshot save: "+err.Error(), 1)
	}
	// Check the whole file before calling it a backup.
	z, body, err := store.ReadSnapshotFile(tmp)
	if err == nil {
		_, err = io.Copy(io.Discard, body)
		body.Close()
	}
	if err != nil {
		os.Remove(tmp)
		return cli.Exit("zabkeeper: snapshot save: the downloaded snapshot does not verify: "+err.Error(), 1)
	}
	if err := os.Rename(tmp, file); err != nil {
		return cli.Exit("zabkeeper: snapshot save: "+err.Error(), 1)
	}
	fmt.Printf("saved snapshot at zxid %s to %s (%d bytes)\n", z, file, n)
	return nil
}

func snapshotRestore(c *cli.Context) error {
	file, err := oneArg(c, "snapshot restore")
	if err != nil {
		return err
	}
	if c.String("data-dir") == "" {
		return cli.Exit("zabkeeper: snapshot restore: --data-dir is required", 2)
	}
	z, body, err := store.ReadSnapshotFile(file)
	if err != nil {
		return cli.Exit(fmt.Sprintf("zabkeeper: snapshot restore: %s: %v", file, err), 1)
	}
	defer body.Close()
	size := int64(-1)
	if st, err := os.Stat(file); err == nil {
		size = st.Size()
	}
	dir, logDir := server.StoreDirs(c.String("data-dir"), c.String("data-log-dir"))
	if err := store.RestoreSnapshot(dir, logDir, z, progress(body, size, "restoring", c.Bool("quiet"))); err != nil {
		return cli.Exit(fmt.Sprintf("zabkeeper: snapshot restore: %v", err), 1)
	}
	fmt.Printf("restored snapshot at zxid %s into %s\n", z, c.String("data-dir"))
	return nil
}

// subtree is one entry of inspect's largest-subtrees list.
type subtree struct {
	Path  string `json:"path"`
	Nodes int    `json:"znodes"`
	Bytes int64  `json:"bytes"`
}

type inspection struct {
	File      string    `json:"file"`
	Zxid      string    `json:"zxid"`
	Znodes    int       `json:"znodes"`
	Bytes     int64     `json:"bytes"`
	Sessions  int       `json:"sessions"`
	Digest    string    `json:"digest"`
	Ephemeral int       `json:"ephemerals"`
	Largest   []subtree `json:"largest_subtrees"`
	Took      string    `json:"load_time"`
}

func snapshotInspect(c *cli.Context) error {
	file, err := oneArg(c, "snapshot inspect")
	if err != nil {
		return err
	}
	z, body, err := store.ReadSnapshotFile(file)
	if err != nil {
		return cli.Exit(fmt.Sprintf("zabkeeper: snapshot inspect: %s: %v", file, err), 1)
	}
	defer body.Close()
	size := int64(-1)
	if st, err := os.Stat(file); err == nil {
		size = st.Size()
	}
	start := time.Now()
	t, err := tree.Restore(progress(body, size, "reading", c.Bool("quiet") || c.String("output") == "json"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("zabkeeper: snapshot inspect: %s: %v", file, err), 1)
	}
	in := inspection{File: file, Zxid: z.String(), Znodes: t.NodeCount(), Bytes: t.ApproxDataSize(),
		Sessions: len(t.Sessions()), Digest: fmt.Sprintf("%016x", t.Digest()), Ephemeral: t.EphemeralCount(),
		Largest: largestSubtrees(t, c.Int("top")), Took: time.Since(start).Round(time.Millisecond).String()}
	if c.String("output") == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	fmt.Printf("file:       %s\nzxid:       %s\nznodes:     %d\nbytes:      %d (paths and data)\n"+
		"sessions:   %d\nephemerals: %d\ndigest:     %s\nloaded in:  %s\nlargest subtrees (by bytes):\n",
		in.File, in.Zxid, in.Znodes, in.Bytes, in.Sessions, in.Ephemeral, in.Digest, in.Took)
	for _, s := range in.Largest {
		fmt.Printf("  %-40s %10d bytes %8d znodes\n", s.Path, s.Bytes, s.Nodes)
	}
	return nil
}

// largestSubtrees sums znodes and bytes under every path of depth 1 and 2
// and returns the top n by bytes.
func largestSubtrees(t *tree.Tree, n int) []subtree {
	sums := map[string]*subtree{}
	add := func(p string, bytes int64) {
		s, ok := sums[p]
		if !ok {
			s = &subtree{Path: p}
			sums[p] = s
		}
		s.Nodes++
		s.Bytes += bytes
	}
	t.Walk(func(p string, st jute.Stat) bool {
		bytes := int64(len(p)) + int64(st.DataLength)
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		if p == "/" {
			return true
		}
		add("/"+parts[0], bytes)
		if len(parts) > 1 {
			add(path.Join("/", parts[0], parts[1]), bytes)
		}
		return true
	})
	out := make([]subtree, 0, len(sums))
	for _, s := range sums {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b subtree) int {
		if a.Bytes != b.Bytes {
			return int(b.Bytes - a.Bytes)
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out[:min(n, len(out))]
}
