package sim

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zab"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// The state machine of every member is a real znode tree: committed entries
// are tree txns, snapshots are tree snapshot streams.

// snapshotOf streams a tree's snapshot into memory in small chunks, as the
// server does while Apply keeps running.
func snapshotOf(t *tree.Tree) []byte {
	var b bytes.Buffer
	s := t.BeginSnapshot()
	for {
		done, err := s.WriteChunk(&b, 16)
		if err != nil {
			panic(fmt.Sprintf("sim: snapshot into memory: %v", err)) // bytes.Buffer never fails
		}
		if done {
			return b.Bytes()
		}
	}
}

// restore rebuilds a tree from a snapshot stream; no snapshot is the
// initial tree.
func restore(data []byte) (*tree.Tree, error) {
	if data == nil {
		return tree.New(), nil
	}
	return tree.Restore(bytes.NewReader(data))
}

// decode turns a log entry into a txn. Scripts propose short words: with
// TextPayloads each becomes a setData of "/" to that word, so the tree still
// follows every step of the history.
func (c *Cluster) decode(e zab.Entry) (*tree.Txn, error) {
	if c.opt.TextPayloads {
		return &tree.Txn{Op: tree.Op{Type: jute.OpSetData, Path: "/", Data: e.Data, Version: -1}}, nil
	}
	txn, err := tree.DecodeTxn(e.Data)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %v", e.Zxid, err)
	}
	return txn, nil
}

// outcome is what the client that sent a txn is told: the error code or
// the created path, per op for a multi.
func outcome(r tree.Result) string {
	s := "ok"
	if r.Err != nil {
		s = r.Err.Error()
	}
	if r.Path != "" {
		s += " " + r.Path
	}
	if len(r.Multi) > 0 {
		parts := make([]string, len(r.Multi))
		for i, m := range r.Multi {
			parts[i] = outcome(m)
		}
		s += " [" + strings.Join(parts, "; ") + "]"
	}
	return s
}

// replay builds a tree from scratch by applying every committed entry up
// to z in zxid order, and checks that each acknowledged txn gives the same
// outcome its client was told.
func (c *Cluster) replay(z zxid.Zxid) (*tree.Tree, error) {
	zs := make([]zxid.Zxid, 0, len(c.committedAt))
	for at := range c.committedAt {
		if at <= z {
			zs = append(zs, at)
		}
	}
	sort.Slice(zs, func(i, j int) bool { return zs[i] < zs[j] })
	t := tree.New()
	for _, at := range zs {
		cm := c.committedAt[at]
		if !cm.known {
			return nil, fmt.Errorf("replay: no member applied %s as an entry", at)
		}
		txn, err := c.decode(zab.Entry{Zxid: at, Data: []byte(cm.data)})
		if err != nil {
			return nil, err
		}
		r := t.Apply(at, txn)
		if a, ok := c.acked[at]; ok && a.outcome != outcome(r) {
			return nil, fmt.Errorf("replay: %s %s gives %q, its client was told %q", at, txn, outcome(r), a.outcome)
		}
		if t.Digest() != cm.digest {
			return nil, fmt.Errorf("replay: digest %x at %s, members had %x", t.Digest(), at, cm.digest)
		}
	}
	return t, nil
}

// rebuild is what a member would restart with: its durable snapshot plus
// its durable log up to z.
func (c *Cluster) rebuild(d *Disk, z zxid.Zxid) (*tree.Tree, error) {
	t, err := restore(d.dur.snapData)
	if err != nil {
		return nil, err
	}
	for _, e := range d.dur.log {
		if e.Zxid > z {
			break
		}
		txn, err := c.decode(e)
		if err != nil {
			return nil, err
		}
		t.Apply(e.Zxid, txn)
	}
	return t, nil
}

// describe is an entry's payload for logs: the quoted word of a script, or
// the txn.
func (c *Cluster) describe(data []byte) string {
	if c.opt.TextPayloads {
		return strconv.Quote(string(data))
	}
	txn, err := tree.DecodeTxn(data)
	if err != nil {
		return fmt.Sprintf("undecodable %q", data)
	}
	return txn.String()
}

func codeName(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
