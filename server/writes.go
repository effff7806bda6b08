package server

import (
	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/tree"
)

// write turns a request into a txn and submits it; the reply is built when
// the txn is applied (applyCommitted). A code other than OK answers at once,
// in order, without a txn (stateless checks: TTL disabled and the like).
func (s *Server) write(c *conn, h jute.RequestHeader, op tree.Op, code jute.Code) bool {
	if code != jute.OK {
		s.rejectLocal(c, h, code, false)
		return true
	}
	t := &tree.Txn{
		Session: c.sessionID(),
		Cxid:    h.Xid,
		Origin:  s.origin(c),
		Auth:    s.txnIdentities(c),
		Op:      op,
	}
	c.enqueueWrite(&request{xid: h.Xid, op: h.Type})
	if err := s.repl.submit(t); err != nil {
		// No leader to order the write: the client must reconnect, to this
		// member once it rejoins a quorum or to another.
		c.log.Info("cannot submit write; closing", zap.Error(err))
		return false
	}
	return true
}

// origin names this member's connection inside txns, so that only the
// member holding it replies.
func (s *Server) origin(c *conn) uint64 { return uint64(s.cfg.MyID)<<48 | c.id&(1<<48-1) }

func (s *Server) localConn(origin uint64) *conn {
	if origin == 0 || int64(origin>>48) != s.cfg.MyID {
		return nil
	}
	return s.connByID(origin & (1<<48 - 1))
}

// txnIdentities are the ids the tree checks ACLs against; skipACL makes
// every session a super user.
func (s *Server) txnIdentities(c *conn) []jute.Id {
	ids := c.identities()
	if s.cfg.SkipACL {
		ids = append(ids, superIDs...)
	}
	return ids
}

// writeOp maps a single write request to a txn op, after ZooKeeper's
// stateless checks (protocol §8.2).
func (s *Server) writeOp(t jute.OpCode, rec jute.Record) (tree.Op, jute.Code) {
	switch r := rec.(type) {
	case *jute.CreateRequest:
		op := tree.Op{Type: t, Path: r.Path, Data: r.Data, ACL: r.ACL, Flags: r.Flags, TTL: -1}
		if t == jute.OpCreateContainer {
			op.Flags = jute.ModeContainer
		}
		return op, jute.OK
	case *jute.CreateTTLRequest:
		if !s.cfg.ExtendedTypesEnabled {
			return tree.Op{}, jute.ErrUnimplemented
		}
		return tree.Op{Type: t, Path: r.Path, Data: r.Data, ACL: r.ACL, Flags: r.Flags, TTL: r.TTL}, jute.OK
	case *jute.DeleteRequest:
		return tree.Op{Type: t, Path: r.Path, Version: r.Version}, jute.OK
	case *jute.SetDataRequest:
		return tree.Op{Type: t, Path: r.Path, Data: r.Data, Version: r.Version}, jute.OK
	case *jute.SetACLRequest:
		return tree.Op{Type: t, Path: r.Path, ACL: r.ACL, Version: r.Version}, jute.OK
	case *jute.CheckVersionRequest:
		return tree.Op{Type: t, Path: r.Path, Version: r.Version}, jute.OK
	case *jute.DeleteContainerRequest:
		return tree.Op{Type: t, Path: r.Path}, jute.OK
	}
	return tree.Op{}, jute.ErrMarshallingError
}

// multiOp maps a multi request; read ops inside give MarshallingError (the
// caller closes, as ZooKeeper fails to parse such a multi).
func (s *Server) multiOp(req *jute.MultiRequest) (tree.Op, jute.Code) {
	op := tree.Op{Type: jute.OpMulti, Ops: make([]tree.Op, 0, len(req.Ops))}
	for _, o := range req.Ops {
		if o.Type == jute.OpGetData || o.Type == jute.OpGetChildren {
			return tree.Op{}, jute.ErrMarshallingError
		}
		sub, code := s.writeOp(o.Type, o.Rec)
		if code != jute.OK {
			return tree.Op{}, code
		}
		op.Ops = append(op.Ops, sub)
	}
	return op, jute.OK
}

// writeReply is the success body of an applied write.
func writeReply(op *tree.Op, res *tree.Result) jute.Record {
	switch op.Type {
	case jute.OpCreate:
		return &jute.CreateResponse{Path: res.Path}
	case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		return &jute.Create2Response{Path: res.Path, Stat: res.Stat}
	case jute.OpSetData:
		return &jute.SetDataResponse{Stat: res.Stat}
	case jute.OpSetACL:
		return &jute.SetACLResponse{Stat: res.Stat}
	case jute.OpMulti:
		return multiReply(op.Ops, res)
	}
	return nil // delete, closeSession, deleteContainer: bare header
}
