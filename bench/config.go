// Package bench is the workload driver behind `zabkeeper bench`: it drives
// any server speaking the ZooKeeper client protocol (zabkeeper or Apache
// ZooKeeper) with a closed-loop workload of creates, sets and gets over
// many connections with many requests in flight on each, measures every
// request from send to reply in a log-bucketed histogram, counts errors by
// kind and, on request, kills the leader mid-run and reports the longest
// gap between two successful writes.
package bench

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Workload names what the driver sends.
type Workload string

const (
	Create Workload = "create" // persistent creates of fresh nodes
	Set    Workload = "set"    // setData on a random key
	Get    Workload = "get"    // getData of a random key
	Mixed  Workload = "mixed"  // gets with probability ReadRatio, sets otherwise
)

// Client names the client implementation that carries the workload.
type Client string

const (
	// Raw is the built-in pipelined client on jute: one goroutine per
	// connection, replies matched in FIFO order, writes batched per read.
	Raw Client = "raw"
	// GoZK is github.com/go-zookeeper/zk with one goroutine per in-flight
	// request, for comparison with a common third-party client.
	GoZK Client = "gozk"
)

// Member is one server of the list given to the driver; ID is its 1-based
// position there, which the scripts make equal to its myid.
type Member struct {
	ID   int
	Addr string
}

func (m Member) String() string { return fmt.Sprintf("%d@%s", m.ID, m.Addr) }

// KillFunc stops a member for a failover run.
type KillFunc func(ctx context.Context, m Member) error

// Config is one benchmark run.
type Config struct {
	Servers        []string      // host:port client addresses
	Workload       Workload      // default Set
	ReadRatio      float64       // for Mixed: fraction of gets
	Connections    int           // sessions, spread round-robin over Servers; default 1
	Inflight       int           // outstanding requests per connection; default 1
	ValueSize      int           // bytes per value (the CLI defaults to 100)
	Keys           int           // key space for set/get/mixed; default 1000
	Warmup         time.Duration // run before measuring
	Duration       time.Duration // measured time; default 10 s
	Root           string        // parent of every node the driver makes; default /zkbench
	Client         Client        // default Raw
	SessionTimeout time.Duration // requested session timeout; default 4 s
	Seed           int64         // key choice; default 1

	// Failover, when Kill is set: at KillAfter into the measured time
	// (default a third of Duration) the driver finds the leader with srvr,
	// calls Kill on it and reports the longest write gap.
	Kill      KillFunc
	KillAfter time.Duration
}

var errConfig = errors.New("bench: bad config")

// withDefaults fills unset fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if len(c.Servers) == 0 {
		return c, fmt.Errorf("%w: no servers", errConfig)
	}
	if c.Workload == "" {
		c.Workload = Set
	}
	switch c.Workload {
	case Create, Set, Get, Mixed:
	default:
		return c, fmt.Errorf("%w: workload %q is not create, set, get or mixed", errConfig, c.Workload)
	}
	if c.ReadRatio < 0 || c.ReadRatio > 1 {
		return c, fmt.Errorf("%w: read ratio %v outside 0..1", errConfig, c.ReadRatio)
	}
	c.Connections = atLeast(c.Connections, 1)
	c.Inflight = atLeast(c.Inflight, 1)
	c.Keys = atLeast(c.Keys, 1)
	if c.ValueSize < 0 {
		return c, fmt.Errorf("%w: negative value size", errConfig)
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Root == "" {
		c.Root = "/zkbench"
	}
	if c.Client == "" {
		c.Client = Raw
	}
	if c.Client != Raw && c.Client != GoZK {
		return c, fmt.Errorf("%w: client %q is not raw or gozk", errConfig, c.Client)
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 4 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Kill != nil {
		if c.Workload == Get || (c.Workload == Mixed && c.ReadRatio >= 1) {
			return c, fmt.Errorf("%w: failover needs a workload with writes", errConfig)
		}
		if c.KillAfter <= 0 || c.KillAfter >= c.Duration {
			c.KillAfter = c.Duration / 3
		}
	}
	return c, nil
}

func atLeast(v, lo int) int {
	if v < lo {
		return lo
	}
	return v
}
