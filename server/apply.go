package server

import (
	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// committed is one txn the replicator decided, ready to apply.
type committed struct {
	zxid zxid.Zxid
	txn  *tree.Txn
}

// applyCommitted applies txns in zxid order: the tree changes, watchers are
// notified, and then the member holding the requesting connection replies.
// Only the replicator's apply goroutine calls it.
func (s *Server) applyCommitted(batch []committed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range batch {
		res := s.tree.Apply(e.zxid, e.txn)
		s.deliver(res.Events, e.zxid)
		s.afterApply(e.zxid, e.txn, &res)
	}
	s.stats.applied(len(batch))
	s.snap.applied(len(batch))
}

// deliver sends each event to the connections watching it that may read
// the node. The watch manager's lock is released before touching
// connections (lock order: tree, conn, watches). Notifications carry the
// zxid of the txn that fired them, as ZooKeeper 3.9 does (ZOOKEEPER-4655;
// 3.8 sent -1, and clients of both ignore the field), so a client can tell
// which change it is seeing.
func (s *Server) deliver(events []tree.Event, z zxid.Zxid) {
	for _, ev := range events {
		s.wmu.Lock()
		fires := s.watches.Trigger(ev.Type, ev.Path)
		s.wmu.Unlock()
		for _, f := range fires {
			c := s.connByID(uint64(f.W))
			if c != nil && c.canRead(ev.ACL) {
				c.notify(f.Type, f.Path, z)
			}
		}
	}
}

// afterApply does the bookkeeping a txn implies beyond the tree, and replies
// to the client when this member holds its connection.
func (s *Server) afterApply(z zxid.Zxid, t *tree.Txn, res *tree.Result) {
	c := s.localConn(t.Origin)
	switch t.Op.Type {
	case jute.OpCreateSession:
		if res.Err == nil {
			s.sessionCreated(t.Session, t.Op.Timeout)
		}
		if c != nil && c.created != nil {
			c.created <- res.Err
		}
		return
	case jute.OpCloseSession:
		s.sessionClosed(t.Session)
		if c == nil {
			// Expiry, or a close through another member: drop the session's
			// connection here if it still has one.
			s.connsMu.Lock()
			c2 := s.sessions[t.Session]
			s.connsMu.Unlock()
			if c2 != nil {
				c2.log.Info("session closed; closing its connection", zap.Stringer("zxid", z))
				c2.send(nil)
			}
			return
		}
		c.complete(t.Cxid, replyFrame(t.Cxid, z, jute.CodeOf(res.Err), nil), true)
		return
	}
	if c == nil {
		return
	}
	code := jute.CodeOf(res.Err)
	if t.Op.Type == jute.OpMulti {
		code = jute.OK // multi reports failures inside its body (§6)
	}
	c.complete(t.Cxid, replyFrame(t.Cxid, z, code, writeReply(&t.Op, res)), false)
}

// multiReply encodes per-op results; the result type follows the op type,
// errors become type -1 with the code (0 for ops before the failing one).
func multiReply(ops []tree.Op, res *tree.Result) jute.Record {
	out := &jute.MultiResponse{Results: make([]jute.MultiResult, 0, len(res.Multi))}
	failed := res.Err != nil
	for i, r := range res.Multi {
		if failed {
			out.Results = append(out.Results, jute.MultiResult{Type: jute.OpError, Err: jute.CodeOf(r.Err)})
			continue
		}
		out.Results = append(out.Results, jute.MultiResult{Type: multiResultType(ops[i].Type), Path: r.Path, Stat: r.Stat})
	}
	return out
}

// multiResultType: create answers as create (go-zk and kazoo decode only
// type 1 for it); create2, createTTL and createContainer answer as create2.
func multiResultType(op jute.OpCode) jute.OpCode {
	switch op {
	case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		return jute.OpCreate2
	}
	return op
}
