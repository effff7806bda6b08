package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/zabkeeper/zabkeeper/zab"
)

// TestInteraction runs the scripts in testdata/: each command drives the
// cluster and prints what happened; -rewrite regenerates the expected output
// (commit a rewrite only once you understand the diff). Commands:
//
//	add-nodes 3 [sync=5] [init=10] [diff-limit=N] [auto-persist]
//	elect L [members...]       L leads them (default: every live Looking member)
//	oracle N                   the leader oracle runs for member N
//	deliver [F->T [TYPE]]      all queued messages / one link / its first TYPE (reorder)
//	drop F->T [TYPE]           remove queued messages
//	break A B | partition A B | heal
//	persist [N...]             fsync (default: everyone)
//	crash N [keep-unsynced=true|false|K] | restart N
//	propose N data | sync N id | tick N|all [count] | compact N
//	stabilize                  deliver and fsync until quiet
//	status [N...] | log [N...]
//	check [N...] [committed=a,b] [leader=L]   the safe outcome
//
// After every command the cluster's invariants are checked; a violation is
// printed in the output, so a golden file cannot hide one.
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		e := &env{}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return e.handle(t, td)
		})
	})
}

type env struct {
	c   *Cluster
	out []string
}

func (e *env) handle(t *testing.T, td *datadriven.TestData) string {
	e.out = nil
	if e.c != nil {
		e.c.Out = func(s string) { e.out = append(e.out, s) }
	}
	if err := e.run(t, td); err != nil {
		e.out = append(e.out, "error: "+err.Error())
	}
	if e.c != nil {
		if err := e.c.Check(true); err != nil {
			e.out = append(e.out, "VIOLATION: "+err.Error())
		}
	}
	if len(e.out) == 0 {
		return "ok\n"
	}
	return strings.Join(e.out, "\n") + "\n"
}

func (e *env) run(t *testing.T, td *datadriven.TestData) error {
	args := make([]string, len(td.CmdArgs))
	for i, a := range td.CmdArgs {
		args[i] = a.String()
	}
	c := e.c
	switch td.Cmd {
	case "add-nodes":
		opt := Options{SyncLimit: 5, InitLimit: 10, TextPayloads: true}
		for _, a := range args[1:] {
			k, v, _ := strings.Cut(a, "=")
			switch k {
			case "sync":
				opt.SyncLimit = atoi(t, v)
			case "init":
				opt.InitLimit = atoi(t, v)
			case "diff-limit":
				opt.DiffLimit = atoi(t, v)
			case "auto-persist":
				opt.AutoPersist = v == "" || v == "true"
			}
		}
		e.c = New(atoi(t, args[0]), opt)
		e.c.Out = func(s string) { e.out = append(e.out, s) }
		return nil
	case "elect":
		// elect L [members...]: L leads the listed members (default: every
		// live Looking member), as if the election had chosen it.
		leader := int64(atoi(t, args[0]))
		var members []int64
		for _, a := range args[1:] {
			members = append(members, int64(atoi(t, a)))
		}
		if len(members) == 0 {
			for _, id := range c.ids {
				if m := c.members[id]; m.Alive && m.Node.Status().Role == zab.Looking {
					members = append(members, id)
				}
			}
		}
		return c.ElectAs(leader, members)
	case "oracle":
		// oracle N: the leader oracle runs for member N.
		ok, err := c.Elect(int64(atoi(t, args[0])))
		if !ok {
			e.out = append(e.out, "no quorum to elect")
		}
		return err
	case "deliver":
		return e.deliver(t, args)
	case "drop":
		p := parsePair(t, args[0])
		var mt zab.MsgType
		if len(args) > 1 {
			mt = parseType(t, args[1])
		}
		c.Drop(p, mt)
		return nil
	case "break":
		return c.Break(int64(atoi(t, args[0])), int64(atoi(t, args[1])))
	case "partition":
		c.Partition(int64(atoi(t, args[0])), int64(atoi(t, args[1])))
		return nil
	case "heal":
		c.Heal()
		return nil
	case "persist":
		for _, id := range e.ids(t, args) {
			if err := c.Persist(id); err != nil {
				return err
			}
		}
		return nil
	case "crash":
		keep := -1
		for _, a := range args[1:] {
			if k, v, _ := strings.Cut(a, "="); k == "keep-unsynced" {
				switch v {
				case "true":
					keep = -1
				case "false":
					keep = 0
				default:
					keep = atoi(t, v)
				}
			}
		}
		return c.Crash(int64(atoi(t, args[0])), keep)
	case "restart":
		return c.Restart(int64(atoi(t, args[0])))
	case "propose":
		ok, err := c.Propose(int64(atoi(t, args[0])), []byte(args[1]))
		if !ok {
			e.out = append(e.out, "refused: not serving")
		}
		return err
	case "sync":
		return c.Sync(int64(atoi(t, args[0])), uint64(atoi(t, args[1])))
	case "tick":
		ids, n := e.ids(t, args[:1]), 1
		if len(args) > 1 {
			n = atoi(t, args[1])
		}
		for i := 0; i < n; i++ {
			for _, id := range ids {
				if err := c.Tick(id); err != nil {
					return err
				}
			}
		}
		return nil
	case "compact":
		if !c.Compact(int64(atoi(t, args[0]))) {
			e.out = append(e.out, "nothing to compact")
		}
		return nil
	case "stabilize":
		return e.stabilize(t)
	case "status":
		for _, id := range e.ids(t, args) {
			e.out = append(e.out, e.status(id))
		}
		return nil
	case "log":
		for _, id := range e.ids(t, args) {
			e.out = append(e.out, e.log(id)...)
		}
		return nil
	case "check":
		return e.check(t, args)
	}
	t.Fatalf("unknown command %q", td.Cmd)
	return nil
}

// deliver: every queued message until none is left; "deliver 2->1": that
// link until empty; "deliver 2->1 ACK": only the first ACK on that link,
// even if others are ahead of it (a scripted reorder).
func (e *env) deliver(t *testing.T, args []string) error {
	c := e.c
	if len(args) == 0 {
		for i := 0; i < 10000 && len(c.Queued()) > 0; i++ {
			for _, p := range c.Queued() {
				if err := c.Deliver(p, 0); err != nil {
					return err
				}
			}
		}
		return nil
	}
	p := parsePair(t, args[0])
	if len(args) > 1 {
		mt := parseType(t, args[1])
		for i, m := range c.queues[p] {
			if m.Type == mt {
				return c.Deliver(p, i)
			}
		}
		e.out = append(e.out, "no "+mt.String()+" queued")
		return nil
	}
	for len(c.queues[p]) > 0 {
		if err := c.Deliver(p, 0); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) stabilize(t *testing.T) error {
	for i := 0; i < 100; i++ {
		if err := e.deliver(t, nil); err != nil {
			return err
		}
		quiet := true
		for _, id := range e.c.ids {
			if m := e.c.members[id]; m.Alive && len(m.Disk.ops) > 0 {
				quiet = false
				if err := e.c.Persist(id); err != nil {
					return err
				}
			}
		}
		if quiet && len(e.c.Queued()) == 0 {
			return nil
		}
	}
	return fmt.Errorf("not stable after 100 rounds")
}

func (e *env) status(id int64) string {
	m := e.c.members[id]
	if !m.Alive {
		return fmt.Sprintf("%d: down", id)
	}
	return m.Node.Status().String() + fmt.Sprintf(" applied=%s", m.Applied())
}

// log prints a member's written and durable disk state.
func (e *env) log(id int64) []string {
	d := e.c.members[id].Disk
	show := func(s state) string {
		var b strings.Builder
		fmt.Fprintf(&b, "a%d c%d", s.accepted, s.current)
		if s.snapZxid != 0 {
			fmt.Fprintf(&b, " snap@%s", s.snapZxid)
		}
		for _, en := range s.log {
			fmt.Fprintf(&b, " %s", en)
		}
		return b.String()
	}
	return []string{
		fmt.Sprintf("%d written: %s", id, show(d.cur)),
		fmt.Sprintf("%d durable: %s", id, show(d.dur)),
	}
}

// check asserts the safe outcome: every live member (or the listed ones)
// applied the same history; "check committed=x,y" also requires those
// payloads committed; "check leader=N" requires N to be an established leader.
func (e *env) check(t *testing.T, args []string) error {
	var ids []int64
	var want []string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		switch {
		case !ok:
			ids = append(ids, int64(atoi(t, a)))
		case k == "committed":
			want = strings.Split(v, ",")
		case k == "leader":
			st := e.c.members[int64(atoi(t, v))].Node.Status()
			if st.Role != zab.Leading || st.Phase != zab.PhaseBroadcast {
				return fmt.Errorf("%d is not an established leader: %s", st.ID, st)
			}
		}
	}
	if len(ids) == 0 {
		for _, id := range e.c.ids {
			if e.c.members[id].Alive {
				ids = append(ids, id)
			}
		}
	}
	first := e.c.members[ids[0]]
	for _, id := range ids {
		m := e.c.members[id]
		if m.Applied() != first.Applied() || m.Digest() != first.Digest() {
			return fmt.Errorf("members %d and %d differ: applied %s/%x vs %s/%x",
				first.ID, id, first.Applied(), first.Digest(), m.Applied(), m.Digest())
		}
	}
	var got []string
	for _, cm := range e.c.committedAt {
		got = append(got, cm.data)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			return fmt.Errorf("%q was never committed", w)
		}
	}
	e.out = append(e.out, fmt.Sprintf("ok: members %v applied the same history up to %s", ids, first.Applied()))
	return nil
}

func (e *env) ids(t *testing.T, args []string) []int64 {
	if len(args) == 0 || args[0] == "all" {
		return e.c.ids
	}
	var ids []int64
	for _, a := range args {
		ids = append(ids, int64(atoi(t, a)))
	}
	return ids
}

func parsePair(t *testing.T, s string) pair {
	a, b, ok := strings.Cut(s, "->")
	if !ok {
		t.Fatalf("want FROM->TO, got %q", s)
	}
	return pair{int64(atoi(t, a)), int64(atoi(t, b))}
}

func parseType(t *testing.T, s string) zab.MsgType {
	mt, ok := zab.ParseMsgType(s)
	if !ok {
		t.Fatalf("unknown message type %q", s)
	}
	return mt
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return n
}
