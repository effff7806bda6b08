package client

import (
	"context"
	"fmt"
	"time"

	"github.com/zabkeeper/zabkeeper/jute"
)

// Op is one write of a Multi; build it with CreateOp, DeleteOp, SetOp or CheckOp.
type Op struct {
	typ     jute.OpCode
	path    string
	data    []byte
	version int32
	mode    CreateMode
	acl     []jute.ACL
	ttl     int64
}

func (o Op) String() string { return fmt.Sprintf("%s %s", o.typ, o.path) }

// CreateOp creates a node (TTL and container modes need CreateTTLOp and
// CreateContainerOp).
func CreateOp(path string, data []byte, mode CreateMode, acl []jute.ACL) Op {
	return Op{typ: jute.OpCreate, path: path, data: data, mode: mode, acl: acl}
}

// CreateTTLOp creates a TTL node.
func CreateTTLOp(path string, data []byte, mode CreateMode, acl []jute.ACL, ttl time.Duration) Op {
	if mode == Persistent {
		mode = PersistentWithTTL
	} else if mode == PersistentSequential {
		mode = PersistentSequentialWithTTL
	}
	return Op{typ: jute.OpCreateTTL, path: path, data: data, mode: mode, acl: acl, ttl: ttl.Milliseconds()}
}

// CreateContainerOp creates a container node.
func CreateContainerOp(path string, data []byte, acl []jute.ACL) Op {
	return Op{typ: jute.OpCreateContainer, path: path, data: data, mode: Container, acl: acl}
}

// DeleteOp deletes a node if its version matches (-1: any).
func DeleteOp(path string, version int32) Op {
	return Op{typ: jute.OpDelete, path: path, version: version}
}

// SetOp replaces a node's data if its version matches (-1: any).
func SetOp(path string, data []byte, version int32) Op {
	return Op{typ: jute.OpSetData, path: path, data: data, version: version}
}

// CheckOp fails the whole Multi unless the node's version matches.
func CheckOp(path string, version int32) Op {
	return Op{typ: jute.OpCheck, path: path, version: version}
}

// record builds the wire op with the chroot applied.
func (c *Client) record(o Op) (jute.MultiOp, error) {
	sp, err := c.checked(o.path, o.mode.sequential())
	if err != nil {
		return jute.MultiOp{}, err
	}
	var rec jute.Record
	switch o.typ {
	case jute.OpCreate, jute.OpCreateContainer:
		rec = &jute.CreateRequest{Path: sp, Data: o.data, ACL: aclOr(o.acl), Flags: int32(o.mode)}
	case jute.OpCreateTTL:
		rec = &jute.CreateTTLRequest{Path: sp, Data: o.data, ACL: aclOr(o.acl), Flags: int32(o.mode), TTL: o.ttl}
	case jute.OpDelete:
		rec = &jute.DeleteRequest{Path: sp, Version: o.version}
	case jute.OpSetData:
		rec = &jute.SetDataRequest{Path: sp, Data: o.data, Version: o.version}
	case jute.OpCheck:
		rec = &jute.CheckVersionRequest{Path: sp, Version: o.version}
	case jute.OpGetData:
		rec = &jute.GetDataRequest{Path: sp}
	case jute.OpGetChildren:
		rec = &jute.GetChildrenRequest{Path: sp}
	default:
		panic(fmt.Sprintf("client: op %s cannot be in a multi", o.typ))
	}
	return jute.MultiOp{Type: o.typ, Rec: rec}, nil
}

// OpResult is the outcome of one Multi op. Err is nil for a success; when
// the multi failed, the op that failed has its code and the others carry
// OK-as-nil (before it) or jute.ErrRuntimeInconsistency (after it).
type OpResult struct {
	Type jute.OpCode
	Path string    // created path, for creates
	Stat jute.Stat // for set, and creates that return one
	Err  error
}

func (r OpResult) String() string {
	if r.Err != nil {
		return fmt.Sprintf("%s err=%v", r.Type, r.Err)
	}
	return fmt.Sprintf("%s %s", r.Type, r.Path)
}

// Multi runs writes atomically: all apply or none. The error is the first
// failing op's code; the results say which op it was.
func (c *Client) Multi(ctx context.Context, ops ...Op) ([]OpResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	resp, err := c.multi(ctx, jute.OpMulti, ops)
	if err != nil {
		return nil, err
	}
	out := make([]OpResult, len(resp.Results))
	for i, r := range resp.Results {
		out[i] = OpResult{Type: r.Type, Path: c.clientPath(r.Path), Stat: r.Stat}
		if r.Type == jute.OpError {
			out[i].Err = r.Err.Err()
		}
	}
	return out, resp.FirstError().Err()
}

func (c *Client) multi(ctx context.Context, op jute.OpCode, ops []Op) (*jute.MultiResponse, error) {
	req := &jute.MultiRequest{Ops: make([]jute.MultiOp, 0, len(ops))}
	for _, o := range ops {
		mo, err := c.record(o)
		if err != nil {
			return nil, err
		}
		req.Ops = append(req.Ops, mo)
	}
	var resp jute.MultiResponse
	if err := c.do(ctx, op, req, &resp, nil); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ReadOp is one read of a MultiRead: GetDataOp or GetChildrenOp.
type ReadOp struct{ op Op }

// GetDataOp reads a node's data and Stat inside MultiRead.
func GetDataOp(path string) ReadOp { return ReadOp{Op{typ: jute.OpGetData, path: path}} }

// GetChildrenOp lists a node's children inside MultiRead.
func GetChildrenOp(path string) ReadOp { return ReadOp{Op{typ: jute.OpGetChildren, path: path}} }

// ReadResult is the outcome of one MultiRead op; each op succeeds or fails
// on its own.
type ReadResult struct {
	Data     []byte
	Stat     jute.Stat
	Children []string
	Err      error
}

// MultiRead runs several reads in one round trip, against one state of the tree.
func (c *Client) MultiRead(ctx context.Context, ops ...ReadOp) ([]ReadResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	plain := make([]Op, len(ops))
	for i, o := range ops {
		plain[i] = o.op
	}
	resp, err := c.multi(ctx, jute.OpMultiRead, plain)
	if err != nil {
		return nil, err
	}
	out := make([]ReadResult, len(resp.Results))
	for i, r := range resp.Results {
		out[i] = ReadResult{Data: r.Data, Stat: r.Stat, Children: r.Children}
		if r.Type == jute.OpError {
			out[i].Err = r.Err.Err()
		}
	}
	return out, nil
}
