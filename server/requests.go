package server

import (
	"strings"

	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/tree"
	"github.com/zabkeeper/zabkeeper/watch"
	"github.com/zabkeeper/zabkeeper/zxid"
)

// handle is the client protocol's dispatch switch: reads and watch/auth
// bookkeeping run locally in FIFO order; writes become txns. It reports
// whether to keep reading.
func (s *Server) handle(c *conn, h jute.RequestHeader, rec jute.Record) bool {
	switch h.Type {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL,
		jute.OpDelete, jute.OpSetData, jute.OpSetACL, jute.OpDeleteContainer:
		op, code := s.writeOp(h.Type, rec)
		return s.write(c, h, op, code)
	case jute.OpMulti:
		op, code := s.multiOp(rec.(*jute.MultiRequest))
		if code == jute.ErrMarshallingError {
			c.log.Info("read op inside multi; closing")
			s.rejectLocal(c, h, code, true)
			return false
		}
		return s.write(c, h, op, code)
	case jute.OpCloseSession:
		return s.write(c, h, tree.Op{Type: jute.OpCloseSession}, jute.OK)
	case jute.OpSync:
		s.syncRequest(c, h, rec.(*jute.SyncRequest))
	case jute.OpReconfig:
		// Dynamic reconfiguration is not offered; ZooKeeper answers the same
		// with reconfigEnabled=false (the default).
		s.rejectLocal(c, h, jute.ErrReconfigDisabled, false)
	case jute.OpAuth:
		return s.auth(c, h, rec.(*jute.AuthPacket))
	case jute.OpSasl:
		c.log.Info("SASL is not supported; closing")
		s.rejectLocal(c, h, jute.ErrAuthFailed, true)
		return false
	case jute.OpMultiRead:
		req := rec.(*jute.MultiRequest)
		for _, o := range req.Ops {
			if o.Type != jute.OpGetData && o.Type != jute.OpGetChildren {
				c.log.Info("write op inside multiRead; closing")
				s.rejectLocal(c, h, jute.ErrMarshallingError, true)
				return false
			}
		}
		s.local(c, h, func() jute.Record { return s.multiRead(c, req) })
	default:
		s.read(c, h, rec)
	}
	return true
}

// local queues a request answered from this server's state at its turn.
// body returns the reply record, or a jute.Code to answer with an error.
func (s *Server) local(c *conn, h jute.RequestHeader, body func() jute.Record) {
	c.enqueueLocal(&request{xid: h.Xid, op: h.Type, local: func() []byte {
		rec := body()
		if code, ok := rec.(codeReply); ok {
			return replyFrame(h.Xid, s.tree.LastZxid(), jute.Code(code), nil)
		}
		return replyFrame(h.Xid, s.tree.LastZxid(), jute.OK, rec)
	}})
}

// codeReply is a body func's way to answer with an error code.
type codeReply jute.Code

func (codeReply) Encode(*jute.Encoder) {}
func (codeReply) Decode(*jute.Decoder) {}

func fail(err error) jute.Record { return codeReply(jute.CodeOf(err)) }

// rejectLocal answers in order with code, optionally closing afterwards.
func (s *Server) rejectLocal(c *conn, h jute.RequestHeader, code jute.Code, closeAfter bool) {
	c.enqueueLocal(&request{xid: h.Xid, op: h.Type, closeAf: closeAfter, local: func() []byte {
		return replyFrame(h.Xid, s.tree.LastZxid(), code, nil)
	}})
}

// read dispatches the read-only opcodes. Each runs with the tree read-locked
// and the connection's mutex held, so it uses c.ids directly.
func (s *Server) read(c *conn, h jute.RequestHeader, rec jute.Record) {
	switch r := rec.(type) {
	case *jute.GetDataRequest:
		s.local(c, h, func() jute.Record {
			data, st, err := s.tree.GetData(r.Path, c.ids)
			if err != nil {
				return fail(err)
			}
			s.addWatch(c, r.Watch, r.Path, watch.Data)
			return &jute.GetDataResponse{Data: data, Stat: st}
		})
	case *jute.ExistsRequest:
		s.local(c, h, func() jute.Record {
			st, err := s.tree.Exists(r.Path, c.ids)
			if err == nil || jute.CodeOf(err) == jute.ErrNoNode {
				// exists sets a watch even on a missing node: it fires on create.
				s.addWatch(c, r.Watch, r.Path, watch.Exist)
			}
			if err != nil {
				return fail(err)
			}
			return &jute.ExistsResponse{Stat: st}
		})
	case *jute.GetChildrenRequest:
		s.local(c, h, func() jute.Record {
			kids, _, err := s.tree.Children(r.Path, c.ids)
			if err != nil {
				return fail(err)
			}
			s.addWatch(c, r.Watch, r.Path, watch.Child)
			return &jute.GetChildrenResponse{Children: kids}
		})
	case *jute.GetChildren2Request:
		s.local(c, h, func() jute.Record {
			kids, st, err := s.tree.Children(r.Path, c.ids)
			if err != nil {
				return fail(err)
			}
			s.addWatch(c, r.Watch, r.Path, watch.Child)
			return &jute.GetChildren2Response{Children: kids, Stat: st}
		})
	case *jute.GetACLRequest:
		s.local(c, h, func() jute.Record {
			acl, st, err := s.tree.GetACL(r.Path, c.ids)
			if err != nil {
				return fail(err)
			}
			return &jute.GetACLResponse{ACL: acl, Stat: st}
		})
	case *jute.GetAllChildrenNumberRequest:
		s.local(c, h, func() jute.Record {
			n, err := s.tree.AllChildrenNumber(r.Path, c.ids)
			if err != nil {
				return fail(err)
			}
			return &jute.GetAllChildrenNumberResponse{TotalNumber: n}
		})
	case *jute.GetEphemeralsRequest:
		s.local(c, h, func() jute.Record {
			return &jute.GetEphemeralsResponse{Ephemerals: s.tree.Ephemerals(c.sid, r.PrefixPath)}
		})
	case nil: // whoAmI is the only bodiless read
		s.local(c, h, func() jute.Record { return &jute.WhoAmIResponse{ClientInfo: clientInfo(c.ids)} })
	case *jute.AddWatchRequest:
		s.local(c, h, func() jute.Record {
			if err := tree.ValidatePath(r.Path); err != nil {
				return fail(err)
			}
			k := watch.Persistent
			switch r.Mode {
			case jute.AddWatchPersistent:
			case jute.AddWatchPersistentRecursive:
				k = watch.PersistentRecursive
			default:
				return codeReply(jute.ErrBadArguments)
			}
			s.addWatch(c, true, r.Path, k)
			return &jute.ErrorResponse{Err: jute.OK}
		})
	case *jute.CheckWatchesRequest:
		s.local(c, h, func() jute.Record { return s.watchQuery(c, r.Path, r.Type, false) })
	case *jute.RemoveWatchesRequest:
		s.local(c, h, func() jute.Record { return s.watchQuery(c, r.Path, r.Type, true) })
	case *jute.SetWatches:
		s.local(c, h, func() jute.Record {
			s.setWatches(c, r.RelativeZxid, watch.SetWatches{Data: r.DataWatches, Exist: r.ExistWatches, Child: r.ChildWatches})
			return nil
		})
	case *jute.SetWatches2:
		s.local(c, h, func() jute.Record {
			s.setWatches(c, r.RelativeZxid, watch.SetWatches{Data: r.DataWatches, Exist: r.ExistWatches,
				Child: r.ChildWatches, Persistent: r.PersistentWatches, PersistentRecursive: r.PersistentRecursiveWatches})
			return nil
		})
	default:
		c.log.Warn("no handler for request", zap.Stringer("op", h.Type))
		s.rejectLocal(c, h, jute.ErrUnimplemented, true)
	}
}

func (s *Server) addWatch(c *conn, want bool, path string, k watch.Kind) {
	if !want {
		return
	}
	s.wmu.Lock()
	s.watches.Add(path, watch.WatcherID(c.id), k)
	s.wmu.Unlock()
	s.stats.watchAdded()
}

// watchQuery answers checkWatches (remove=false) and removeWatches.
func (s *Server) watchQuery(c *conn, path string, t jute.WatcherType, remove bool) jute.Record {
	if t < jute.WatcherChildren || t > jute.WatcherPersistentRecursive {
		return codeReply(jute.ErrBadArguments)
	}
	s.wmu.Lock()
	var found bool
	if remove {
		found = s.watches.Remove(path, watch.WatcherID(c.id), t)
	} else {
		found = s.watches.Has(path, watch.WatcherID(c.id), t)
	}
	s.wmu.Unlock()
	if !found {
		return codeReply(jute.ErrNoWatcher)
	}
	return nil
}

// setWatches re-registers a reconnecting client's watches and fires at once
// what changed since the last zxid it saw (protocol §7.8).
func (s *Server) setWatches(c *conn, rel zxid.Zxid, sw watch.SetWatches) {
	lookup := func(p string) watch.NodeState {
		st, err := s.tree.Exists(p, superIDs)
		if err != nil {
			return watch.NodeState{}
		}
		return watch.NodeState{Exists: true, Mzxid: st.Mzxid, Pzxid: st.Pzxid}
	}
	fire, regs := watch.Reconnect(int64(rel), lookup, sw)
	for _, f := range fire {
		c.notify(f.Type, f.Path, -1)
	}
	s.wmu.Lock()
	for _, r := range regs {
		s.watches.Add(r.Path, watch.WatcherID(c.id), r.Kind)
	}
	s.wmu.Unlock()
}

// superIDs passes every ACL check: for the server's own bookkeeping reads.
var superIDs = []jute.Id{{Scheme: "super", ID: ""}}

// clientInfo is whoAmI's view of a connection's identities.
func clientInfo(ids []jute.Id) []jute.ClientInfo {
	out := make([]jute.ClientInfo, 0, len(ids))
	for _, id := range ids {
		user := id.ID
		if id.Scheme == "digest" {
			user, _, _ = strings.Cut(id.ID, ":")
		}
		out = append(out, jute.ClientInfo{AuthScheme: id.Scheme, User: user})
	}
	return out
}

// multiRead runs each op on its own; failures become error results.
func (s *Server) multiRead(c *conn, req *jute.MultiRequest) jute.Record {
	resp := &jute.MultiResponse{Results: make([]jute.MultiResult, 0, len(req.Ops))}
	for _, o := range req.Ops {
		switch r := o.Rec.(type) {
		case *jute.GetDataRequest:
			data, st, err := s.tree.GetData(r.Path, c.ids)
			if err != nil {
				resp.Results = append(resp.Results, jute.MultiResult{Type: jute.OpError, Err: jute.CodeOf(err)})
				continue
			}
			resp.Results = append(resp.Results, jute.MultiResult{Type: jute.OpGetData, Data: data, Stat: st})
		case *jute.GetChildrenRequest:
			kids, _, err := s.tree.Children(r.Path, c.ids)
			if err != nil {
				resp.Results = append(resp.Results, jute.MultiResult{Type: jute.OpError, Err: jute.CodeOf(err)})
				continue
			}
			resp.Results = append(resp.Results, jute.MultiResult{Type: jute.OpGetChildren, Children: kids})
		}
	}
	return resp
}
