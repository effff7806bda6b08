package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zabkeeper/zabkeeper/jute"
)

// CreateMode says what kind of znode Create makes.
type CreateMode int32

const (
	Persistent                  = CreateMode(jute.ModePersistent)
	Ephemeral                   = CreateMode(jute.ModeEphemeral)
	PersistentSequential        = CreateMode(jute.ModePersistentSequential)
	EphemeralSequential         = CreateMode(jute.ModeEphemeralSequential)
	Container                   = CreateMode(jute.ModeContainer)
	PersistentWithTTL           = CreateMode(jute.ModePersistentWithTTL)
	PersistentSequentialWithTTL = CreateMode(jute.ModePersistentSequentialWithTTL)
)

func (m CreateMode) sequential() bool {
	return m == PersistentSequential || m == EphemeralSequential || m == PersistentSequentialWithTTL
}

func (m CreateMode) ttl() bool { return m == PersistentWithTTL || m == PersistentSequentialWithTTL }

func (m CreateMode) String() string {
	switch m {
	case Persistent:
		return "persistent"
	case Ephemeral:
		return "ephemeral"
	case PersistentSequential:
		return "persistent-sequential"
	case EphemeralSequential:
		return "ephemeral-sequential"
	case Container:
		return "container"
	case PersistentWithTTL:
		return "persistent-ttl"
	case PersistentSequentialWithTTL:
		return "persistent-sequential-ttl"
	}
	return fmt.Sprintf("mode(%d)", int32(m))
}

// aclOr defaults an empty ACL to world:anyone with all permissions, since
// the server rejects an empty list.
func aclOr(acl []jute.ACL) []jute.ACL {
	if len(acl) == 0 {
		return jute.OpenACLUnsafe
	}
	return acl
}

// Create makes a znode and returns its path (with the sequence suffix for
// sequential modes). TTL modes need CreateTTL.
func (c *Client) Create(ctx context.Context, path string, data []byte, mode CreateMode, acl []jute.ACL) (string, error) {
	if mode.ttl() {
		return "", fmt.Errorf("client: %s needs CreateTTL: %w", mode, jute.ErrBadArguments)
	}
	if mode == Container {
		p, _, err := c.CreateContainer(ctx, path, data, acl)
		return p, err
	}
	sp, err := c.checked(path, mode.sequential())
	if err != nil {
		return "", err
	}
	var resp jute.CreateResponse
	req := &jute.CreateRequest{Path: sp, Data: data, ACL: aclOr(acl), Flags: int32(mode)}
	if err := c.do(ctx, jute.OpCreate, req, &resp, nil); err != nil {
		return "", err
	}
	return c.clientPath(resp.Path), nil
}

// CreateStat is Create that also returns the new node's Stat (create2).
func (c *Client) CreateStat(ctx context.Context, path string, data []byte, mode CreateMode, acl []jute.ACL) (string, jute.Stat, error) {
	if mode.ttl() {
		return "", jute.Stat{}, fmt.Errorf("client: %s needs CreateTTL: %w", mode, jute.ErrBadArguments)
	}
	op := jute.OpCreate2
	if mode == Container {
		op = jute.OpCreateContainer
	}
	return c.create2(ctx, op, path, data, mode, acl, nil)
}

// CreateTTL makes a persistent node the server deletes once it has had no
// children and no change for ttl. mode is Persistent(Sequential) or a TTL mode.
func (c *Client) CreateTTL(ctx context.Context, path string, data []byte, mode CreateMode, acl []jute.ACL, ttl time.Duration) (string, jute.Stat, error) {
	switch mode {
	case Persistent:
		mode = PersistentWithTTL
	case PersistentSequential:
		mode = PersistentSequentialWithTTL
	case PersistentWithTTL, PersistentSequentialWithTTL:
	default:
		return "", jute.Stat{}, fmt.Errorf("client: TTL with mode %s: %w", mode, jute.ErrBadArguments)
	}
	ms := ttl.Milliseconds()
	return c.create2(ctx, jute.OpCreateTTL, path, data, mode, acl, &ms)
}

// CreateContainer makes a container node, which the server deletes once its
// last child is gone.
func (c *Client) CreateContainer(ctx context.Context, path string, data []byte, acl []jute.ACL) (string, jute.Stat, error) {
	return c.create2(ctx, jute.OpCreateContainer, path, data, Container, acl, nil)
}

func (c *Client) create2(ctx context.Context, op jute.OpCode, path string, data []byte, mode CreateMode, acl []jute.ACL, ttl *int64) (string, jute.Stat, error) {
	sp, err := c.checked(path, mode.sequential())
	if err != nil {
		return "", jute.Stat{}, err
	}
	var rec jute.Record = &jute.CreateRequest{Path: sp, Data: data, ACL: aclOr(acl), Flags: int32(mode)}
	if ttl != nil {
		rec = &jute.CreateTTLRequest{Path: sp, Data: data, ACL: aclOr(acl), Flags: int32(mode), TTL: *ttl}
	}
	var resp jute.Create2Response
	if err := c.do(ctx, op, rec, &resp, nil); err != nil {
		return "", jute.Stat{}, err
	}
	return c.clientPath(resp.Path), resp.Stat, nil
}

// Get reads a node's data and Stat.
func (c *Client) Get(ctx context.Context, path string) ([]byte, jute.Stat, error) {
	data, st, _, err := c.get(ctx, path, false)
	return data, st, err
}

// GetW is Get plus a one-shot watch: the channel receives exactly one Event
// (data changed or node deleted, or Err when the session ends), then closes.
func (c *Client) GetW(ctx context.Context, path string) ([]byte, jute.Stat, <-chan Event, error) {
	return c.get(ctx, path, true)
}

func (c *Client) get(ctx context.Context, path string, watch bool) ([]byte, jute.Stat, <-chan Event, error) {
	sp, err := c.checked(path, false)
	if err != nil {
		return nil, jute.Stat{}, nil, err
	}
	var resp jute.GetDataResponse
	ch, onReply := c.oneShot(watch, sp, func(code jute.Code) (watchKind, bool) { return kindData, code == jute.OK })
	if err := c.do(ctx, jute.OpGetData, &jute.GetDataRequest{Path: sp, Watch: watch}, &resp, onReply); err != nil {
		return nil, jute.Stat{}, nil, err
	}
	return resp.Data, resp.Stat, ch, nil
}

// oneShot prepares a watch channel and the reply hook that registers it
// when decide says the server kept a watch.
func (c *Client) oneShot(watch bool, sp string, decide func(jute.Code) (watchKind, bool)) (chan Event, func(jute.Code)) {
	if !watch {
		return nil, nil
	}
	ch := make(chan Event, 1)
	return ch, func(code jute.Code) {
		if k, ok := decide(code); ok {
			c.watches.addOneShot(watchKey{sp, k}, ch)
		}
	}
}

// Exists tells whether a node exists, with its Stat if so.
func (c *Client) Exists(ctx context.Context, path string) (bool, jute.Stat, error) {
	ok, st, _, err := c.exists(ctx, path, false)
	return ok, st, err
}

// ExistsW is Exists plus a one-shot watch that fires on create, delete or
// data change, whether or not the node exists now.
func (c *Client) ExistsW(ctx context.Context, path string) (bool, jute.Stat, <-chan Event, error) {
	return c.exists(ctx, path, true)
}

func (c *Client) exists(ctx context.Context, path string, watch bool) (bool, jute.Stat, <-chan Event, error) {
	sp, err := c.checked(path, false)
	if err != nil {
		return false, jute.Stat{}, nil, err
	}
	var resp jute.ExistsResponse
	ch, onReply := c.oneShot(watch, sp, func(code jute.Code) (watchKind, bool) {
		switch code {
		case jute.OK:
			return kindData, true
		case jute.ErrNoNode:
			return kindExist, true
		}
		return 0, false
	})
	err = c.do(ctx, jute.OpExists, &jute.ExistsRequest{Path: sp, Watch: watch}, &resp, onReply)
	switch {
	case errors.Is(err, jute.ErrNoNode):
		return false, jute.Stat{}, ch, nil
	case err != nil:
		return false, jute.Stat{}, nil, err
	}
	return true, resp.Stat, ch, nil
}

// Children lists a node's child names (unsorted) and its Stat.
func (c *Client) Children(ctx context.Context, path string) ([]string, jute.Stat, error) {
	kids, st, _, err := c.children(ctx, path, false)
	return kids, st, err
}

// ChildrenW is Children plus a one-shot watch for a child change or deletion.
func (c *Client) ChildrenW(ctx context.Context, path string) ([]string, jute.Stat, <-chan Event, error) {
	return c.children(ctx, path, true)
}

func (c *Client) children(ctx context.Context, path string, watch bool) ([]string, jute.Stat, <-chan Event, error) {
	sp, err := c.checked(path, false)
	if err != nil {
		return nil, jute.Stat{}, nil, err
	}
	var resp jute.GetChildren2Response
	ch, onReply := c.oneShot(watch, sp, func(code jute.Code) (watchKind, bool) { return kindChild, code == jute.OK })
	if err := c.do(ctx, jute.OpGetChildren2, &jute.GetChildren2Request{Path: sp, Watch: watch}, &resp, onReply); err != nil {
		return nil, jute.Stat{}, nil, err
	}
	return resp.Children, resp.Stat, ch, nil
}

// Set replaces a node's data if its version matches (-1: any version).
func (c *Client) Set(ctx context.Context, path string, data []byte, version int32) (jute.Stat, error) {
	sp, err := c.checked(path, false)
	if err != nil {
		return jute.Stat{}, err
	}
	var resp jute.SetDataResponse
	err = c.do(ctx, jute.OpSetData, &jute.SetDataRequest{Path: sp, Data: data, Version: version}, &resp, nil)
	return resp.Stat, err
}

// Delete removes a childless node if its version matches (-1: any version).
func (c *Client) Delete(ctx context.Context, path string, version int32) error {
	sp, err := c.checked(path, false)
	if err != nil {
		return err
	}
	return c.do(ctx, jute.OpDelete, &jute.DeleteRequest{Path: sp, Version: version}, nil, nil)
}

// GetACL reads a node's ACL and Stat.
func (c *Client) GetACL(ctx context.Context, path string) ([]jute.ACL, jute.Stat, error) {
	sp, err := c.checked(path, false)
	if err != nil {
		return nil, jute.Stat{}, err
	}
	var resp jute.GetACLResponse
	err = c.do(ctx, jute.OpGetACL, &jute.GetACLRequest{Path: sp}, &resp, nil)
	return resp.ACL, resp.Stat, err
}

// SetACL replaces a node's ACL if its aversion matches (-1: any).
func (c *Client) SetACL(ctx context.Context, path string, acl []jute.ACL, version int32) (jute.Stat, error) {
	sp, err := c.checked(path, false)
	if err != nil {
		return jute.Stat{}, err
	}
	var resp jute.SetACLResponse
	err = c.do(ctx, jute.OpSetACL, &jute.SetACLRequest{Path: sp, ACL: aclOr(acl), Version: version}, &resp, nil)
	return resp.Stat, err
}

// Sync makes the connected server catch up with the leader, so a read that
// follows sees every write committed before Sync was called.
func (c *Client) Sync(ctx context.Context, path string) error {
	sp, err := c.checked(path, false)
	if err != nil {
		return err
	}
	return c.do(ctx, jute.OpSync, &jute.SyncRequest{Path: sp}, &jute.SyncResponse{}, nil)
}

// AllChildrenNumber counts every descendant of path.
func (c *Client) AllChildrenNumber(ctx context.Context, path string) (int32, error) {
	sp, err := c.checked(path, false)
	if err != nil {
		return 0, err
	}
	var resp jute.GetAllChildrenNumberResponse
	err = c.do(ctx, jute.OpGetAllChildrenNumber, &jute.GetAllChildrenNumberRequest{Path: sp}, &resp, nil)
	return resp.TotalNumber, err
}

// Ephemerals lists this session's ephemeral nodes whose path starts with
// prefix ("/" for all).
func (c *Client) Ephemerals(ctx context.Context, prefix string) ([]string, error) {
	if prefix == "" || prefix[0] != '/' {
		return nil, fmt.Errorf("client: prefix %q must start with /: %w", prefix, jute.ErrBadArguments)
	}
	sp := c.serverPath(prefix)
	if prefix == "/" && c.cfg.chroot != "" {
		sp = c.cfg.chroot + "/"
	}
	var resp jute.GetEphemeralsResponse
	if err := c.do(ctx, jute.OpGetEphemerals, &jute.GetEphemeralsRequest{PrefixPath: sp}, &resp, nil); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(resp.Ephemerals))
	for _, p := range resp.Ephemerals {
		out = append(out, c.clientPath(p))
	}
	return out, nil
}

// WhoAmI lists the identities the server has for this session.
func (c *Client) WhoAmI(ctx context.Context) ([]jute.ClientInfo, error) {
	var resp jute.WhoAmIResponse
	err := c.do(ctx, jute.OpWhoAmI, nil, &resp, nil)
	return resp.ClientInfo, err
}

// AddAuth adds a credential ("digest", "user:pass") to the session; it is
// re-sent on every reconnect. A rejected credential ends the session with
// StateAuthFailed.
func (c *Client) AddAuth(ctx context.Context, scheme string, cred []byte) error {
	cn, err := c.getConn(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.auth = append(c.auth, authInfo{scheme, append([]byte(nil), cred...)})
	c.mu.Unlock()
	req := &request{op: jute.OpAuth, rec: &jute.AuthPacket{Scheme: scheme, Auth: cred}, done: make(chan error, 1)}
	cn.send(req)
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Watch adds a persistent watch on path (recursive: on the whole subtree).
// It stays until Watcher.Close or the end of the session, and is
// re-registered after every reconnect. A recursive watch reports created,
// deleted and changed nodes, never NodeChildrenChanged.
func (c *Client) Watch(ctx context.Context, path string, recursive bool) (*Watcher, error) {
	sp, err := c.checked(path, false)
	if err != nil {
		return nil, err
	}
	mode := jute.AddWatchPersistent
	if recursive {
		mode = jute.AddWatchPersistentRecursive
	}
	w := newWatcher(c, sp, recursive)
	onReply := func(code jute.Code) {
		if code == jute.OK {
			c.watches.addPersistent(w)
		}
	}
	if err := c.do(ctx, jute.OpAddWatch, &jute.AddWatchRequest{Path: sp, Mode: mode}, &jute.ErrorResponse{}, onReply); err != nil {
		w.stopOnce.Do(func() { close(w.stop) })
		return nil, err
	}
	return w, nil
}

// RemoveWatches removes this session's watches of type t on path, on the
// server and locally; local one-shot watches receive a *WatchRemoved event
// and persistent ones a PersistentWatchRemoved event before their stream
// closes. jute.ErrNoWatcher if there was none.
func (c *Client) RemoveWatches(ctx context.Context, path string, t jute.WatcherType) error {
	sp, err := c.checked(path, false)
	if err != nil {
		return err
	}
	if err := c.do(ctx, jute.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: sp, Type: t}, nil, nil); err != nil {
		return err
	}
	c.watches.removeLocal(sp, path, t)
	return nil
}

// CheckWatches asks the server whether a watch of type t exists on path:
// nil if so, jute.ErrNoWatcher if not.
func (c *Client) CheckWatches(ctx context.Context, path string, t jute.WatcherType) error {
	sp, err := c.checked(path, false)
	if err != nil {
		return err
	}
	return c.do(ctx, jute.OpCheckWatches, &jute.CheckWatchesRequest{Path: sp, Type: t}, nil, nil)
}

// GetConfig reads the ensemble configuration (/zookeeper/config, never
// under the chroot).
func (c *Client) GetConfig(ctx context.Context) ([]byte, jute.Stat, error) {
	var resp jute.GetDataResponse
	err := c.do(ctx, jute.OpGetData, &jute.GetDataRequest{Path: "/zookeeper/config"}, &resp, nil)
	return resp.Data, resp.Stat, err
}

// Reconfig changes the ensemble membership (incremental: joining/leaving;
// or bulk: members) if the current config version is fromConfig (-1: any).
func (c *Client) Reconfig(ctx context.Context, joining, leaving, members string, fromConfig int64) ([]byte, jute.Stat, error) {
	var resp jute.GetDataResponse
	req := &jute.ReconfigRequest{JoiningServers: joining, LeavingServers: leaving, NewMembers: members, CurConfigID: fromConfig}
	err := c.do(ctx, jute.OpReconfig, req, &resp, nil)
	return resp.Data, resp.Stat, err
}
