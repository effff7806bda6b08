package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkeeper/zabkeeper/server"
	"github.com/zabkeeper/zabkeeper/server/servertest"
)

func addrs(srvs ...*server.Server) []string {
	var out []string
	for _, s := range srvs {
		out = append(out, s.Addr().String())
	}
	return out
}

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	if cfg.Duration == 0 {
		cfg.Duration = 300 * time.Millisecond
	}
	cfg.Warmup = 50 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Log(res)
	return res
}

func noErrors(t *testing.T, res *Result) {
	t.Helper()
	if res.ErrorCount() != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	if res.Latency.Count() != uint64(res.Ops()) {
		t.Fatalf("histogram holds %d values for %d ops", res.Latency.Count(), res.Ops())
	}
}

func zkConn(t *testing.T, servers []string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(servers, 5*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestWorkloadsRawAndGoZK(t *testing.T) {
	srv := servertest.Start(t)
	servers := addrs(srv)
	for _, client := range []Client{Raw, GoZK} {
		for _, wl := range []Workload{Set, Get, Mixed} {
			t.Run(string(client)+"/"+string(wl), func(t *testing.T) {
				res := run(t, Config{Servers: servers, Workload: wl, ReadRatio: 0.5, Client: client,
					Connections: 3, Inflight: 4, ValueSize: 100, Keys: 50})
				noErrors(t, res)
				switch wl {
				case Set:
					if res.Writes == 0 || res.Reads != 0 {
						t.Fatalf("set run: %d writes, %d reads", res.Writes, res.Reads)
					}
				case Get:
					if res.Reads == 0 || res.Writes != 0 {
						t.Fatalf("get run: %d writes, %d reads", res.Writes, res.Reads)
					}
				case Mixed:
					if res.Reads == 0 || res.Writes == 0 {
						t.Fatalf("mixed run: %d writes, %d reads", res.Writes, res.Reads)
					}
				}
			})
		}
	}
	// Every key exists and holds a 100-byte value.
	c := zkConn(t, servers)
	kids, _, err := c.Children("/zkbench")
	if err != nil || len(kids) != 50 {
		t.Fatalf("children of /zkbench: %d, %v", len(kids), err)
	}
	data, _, err := c.Get("/zkbench/k7")
	if err != nil || len(data) != 100 {
		t.Fatalf("k7: %d bytes, %v", len(data), err)
	}
}

func TestCreateMakesEveryNode(t *testing.T) {
	srv := servertest.Start(t)
	for _, client := range []Client{Raw, GoZK} {
		t.Run(string(client), func(t *testing.T) {
			res := run(t, Config{Servers: addrs(srv), Workload: Create, Client: client,
				Connections: 2, Inflight: 8, ValueSize: 10, Root: "/cr-" + string(client)})
			noErrors(t, res)
			c := zkConn(t, addrs(srv))
			dirs, _, err := c.Children("/cr-" + string(client))
			if err != nil || len(dirs) != 1 {
				t.Fatalf("create dirs: %v %v", dirs, err)
			}
			kids, _, err := c.Children("/cr-" + string(client) + "/" + dirs[0])
			if err != nil {
				t.Fatal(err)
			}
			// Warm-up and drained requests also create nodes, so at least
			// the measured writes are there.
			if res.Writes == 0 || int64(len(kids)) < res.Writes {
				t.Fatalf("%d nodes for %d measured creates", len(kids), res.Writes)
			}
		})
	}
}

func TestSpreadOverEnsembleAndOutput(t *testing.T) {
	srvs := servertest.StartEnsemble(t, 3)
	res := run(t, Config{Servers: addrs(srvs...), Workload: Mixed, ReadRatio: 0.9,
		Connections: 6, Inflight: 4, ValueSize: 100, Keys: 20})
	noErrors(t, res)
	var text bytes.Buffer
	if err := res.WriteText(&text); err != nil || !strings.Contains(text.String(), "ops/s") {
		t.Fatalf("text: %q %v", text.String(), err)
	}
	var js bytes.Buffer
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back["ops"].(float64) != float64(res.Ops()) || back["connections"].(float64) != 6 {
		t.Fatalf("json: %s", js.String())
	}
	leader, err := FindLeader(context.Background(), addrs(srvs...), time.Second)
	if err != nil || srvs[leader.ID-1].Mode() != "leader" {
		t.Fatalf("FindLeader = %v, %v", leader, err)
	}
}

func TestFailoverKillsLeader(t *testing.T) {
	srvs := servertest.StartEnsemble(t, 3)
	killed := 0
	kill := func(_ context.Context, m Member) error {
		killed = m.ID
		return srvs[m.ID-1].Close()
	}
	res := run(t, Config{Servers: addrs(srvs...), Workload: Set, Connections: 3, Inflight: 4,
		Keys: 20, Duration: 6 * time.Second, KillAfter: time.Second, Kill: kill})
	f := res.Failover
	if f == nil || killed == 0 || f.Leader.ID != killed {
		t.Fatalf("failover %+v, killed %d", f, killed)
	}
	if res.Writes == 0 || f.MaxWriteGap <= 0 {
		t.Fatalf("writes %d, gap %s", res.Writes, f.MaxWriteGap)
	}
	for kind := range res.Errors {
		if !strings.Contains(kind, "connect") && kind != "ConnectionLoss" {
			t.Errorf("unexpected error kind %q in %v", kind, res.Errors)
		}
	}
	t.Logf("gap %s, first write after kill %s, errors %v", f.MaxWriteGap, f.FirstWriteAfterKill, res.Errors)
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{}, {Servers: []string{"x"}, Workload: "scan"},
		{Servers: []string{"x"}, Workload: Get, Kill: func(context.Context, Member) error { return nil }},
		{Servers: []string{"x"}, ReadRatio: 2}} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
