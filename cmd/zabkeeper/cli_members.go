package main

// members asks every server of the connection string for "srvr", the
// four-letter word zkServer.sh status uses, so it works against Apache
// ZooKeeper members too.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zabkeeper/zabkeeper/client"
)

// memberJSON is one member's answer; Status is "up" or "down".
type memberJSON struct {
	Server      string `json:"server"`
	Status      string `json:"status"`
	Mode        string `json:"mode,omitempty"`
	Zxid        string `json:"zxid,omitempty"`
	Connections int64  `json:"connections"`
	NodeCount   int64  `json:"node_count"`
	Latency     string `json:"latency,omitempty"` // min/avg/max ms
	Error       string `json:"error,omitempty"`
}

func membersCommand() *cli.Command {
	return newCmd("members", "show each server's role, zxid, connections and znode count", "", true, nil, runMembers)
}

func runMembers(e *cliEnv) error {
	if err := e.want(0, 0); err != nil {
		return err
	}
	servers, _, err := client.ParseConnectString(e.c.String("server"))
	if err != nil {
		return usageErr("members: --server: %v", err)
	}
	res := make([]memberJSON, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = probeMember(e.ctx, s, e.c.Duration("timeout"))
		}()
	}
	wg.Wait()
	e.printMembers(res)
	for _, m := range res {
		if m.Status == "up" {
			return nil
		}
	}
	return &exitErr{exitUnreachable, "members: no server reachable"}
}

func (e *cliEnv) printMembers(res []memberJSON) {
	if e.json {
		for _, m := range res {
			e.emit(m)
		}
		return
	}
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTATUS\tMODE\tZXID\tCONNECTIONS\tZNODES\tLATENCY(min/avg/max)")
	for _, m := range res {
		if m.Status != "up" {
			fmt.Fprintf(tw, "%s\tdown\t-\t-\t-\t-\t-\n", m.Server)
			continue
		}
		fmt.Fprintf(tw, "%s\tup\t%s\t%s\t%d\t%d\t%s\n", m.Server, orDash(m.Mode), orDash(m.Zxid), m.Connections, m.NodeCount, orDash(m.Latency))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// probe sends srvr to one server and parses its "Key: value" lines.
func probeMember(ctx context.Context, addr string, timeout time.Duration) memberJSON {
	m := memberJSON{Server: addr, Status: "down"}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		m.Error = err.Error()
		return m
	}
	defer nc.Close()
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	if _, err := io.WriteString(nc, "srvr"); err != nil {
		m.Error = err.Error()
		return m
	}
	body, err := io.ReadAll(nc)
	if err != nil && len(body) == 0 {
		m.Error = err.Error()
		return m
	}
	m.Status = "up"
	parseSrvr(&m, string(body))
	return m
}

func parseSrvr(m *memberJSON, body string) {
	sc := bufio.NewScanner(strings.NewReader(body))
	found := false
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		found = true
		switch k {
		case "Mode":
			m.Mode = v
		case "Zxid":
			m.Zxid = v
		case "Connections":
			m.Connections, _ = strconv.ParseInt(v, 10, 64)
		case "Node count":
			m.NodeCount, _ = strconv.ParseInt(v, 10, 64)
		case "Latency min/avg/max":
			m.Latency = v
		}
	}
	if !found || m.Mode == "" {
		// e.g. "srvr is not executed because it is not in the whitelist."
		m.Error = strings.TrimSpace(body)
	}
}
