package jute

import (
	"fmt"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// Record is a jute record: its fields back to back, no tag or length.
// Decode reads into the receiver and leaves problems in the decoder's Err.
type Record interface {
	Encode(e *Encoder)
	Decode(d *Decoder)
}

// Minimum wire sizes, used to bound vector counts before allocating.
const (
	statSize       = 68
	aclMinSize     = 12 // perms + two empty strings
	clientInfoSize = 8  // two empty strings
)

// Encode writes the 68-byte Stat.
func (s *Stat) Encode(e *Encoder) {
	e.Long(s.Czxid)
	e.Long(s.Mzxid)
	e.Long(s.Ctime)
	e.Long(s.Mtime)
	e.Int(s.Version)
	e.Int(s.Cversion)
	e.Int(s.Aversion)
	e.Long(s.EphemeralOwner)
	e.Int(s.DataLength)
	e.Int(s.NumChildren)
	e.Long(s.Pzxid)
}

// Decode reads a Stat.
func (s *Stat) Decode(d *Decoder) {
	s.Czxid = d.Long()
	s.Mzxid = d.Long()
	s.Ctime = d.Long()
	s.Mtime = d.Long()
	s.Version = d.Int()
	s.Cversion = d.Int()
	s.Aversion = d.Int()
	s.EphemeralOwner = d.Long()
	s.DataLength = d.Int()
	s.NumChildren = d.Int()
	s.Pzxid = d.Long()
}

// Encode writes scheme then id.
func (i *Id) Encode(e *Encoder) { e.String(i.Scheme); e.String(i.ID) }

// Decode reads an Id.
func (i *Id) Decode(d *Decoder) { i.Scheme = d.String(); i.ID = d.String() }

// Encode writes perms then the Id.
func (a *ACL) Encode(e *Encoder) { e.Int(a.Perms); a.ID.Encode(e) }

// Decode reads an ACL.
func (a *ACL) Decode(d *Decoder) { a.Perms = d.Int(); a.ID.Decode(d) }

func encodeACLs(e *Encoder, acl []ACL) {
	e.Int(int32(len(acl)))
	for i := range acl {
		acl[i].Encode(e)
	}
}

// decodeACLs reads a vector<ACL>; null and empty both give nil.
func decodeACLs(d *Decoder) []ACL {
	n := d.Count(aclMinSize)
	if n == 0 {
		return nil
	}
	out := make([]ACL, n)
	for i := range out {
		out[i].Decode(d)
	}
	if d.Err() != nil {
		return nil
	}
	return out
}

// ClientInfo is one identity of a session, as whoAmI reports it.
type ClientInfo struct {
	AuthScheme string
	User       string
}

func (c *ClientInfo) Encode(e *Encoder) { e.String(c.AuthScheme); e.String(c.User) }
func (c *ClientInfo) Decode(d *Decoder) { c.AuthScheme = d.String(); c.User = d.String() }
func (c ClientInfo) String() string     { return c.AuthScheme + ":" + c.User }

// ConnectRequest is the client's first frame. HasReadOnly tells whether the
// optional trailing readOnly byte was present (decode) or is to be written
// (encode); 3.8 clients and go-zookeeper leave it out.
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    zxid.Zxid
	TimeOut         int32 // requested session timeout, ms
	SessionID       int64 // 0 for a new session
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

func (r *ConnectRequest) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Long(int64(r.LastZxidSeen))
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

func (r *ConnectRequest) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.LastZxidSeen = zxid.Zxid(d.Long())
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.ReadOnly, r.HasReadOnly = optionalBool(d)
}

// optionalBool reads a trailing boolean if one byte or more is left.
func optionalBool(d *Decoder) (v, present bool) {
	if d.Err() != nil || d.Remaining() < 1 {
		return false, false
	}
	return d.Bool(), true
}

func (r ConnectRequest) String() string {
	return fmt.Sprintf("connect session=0x%x timeout=%d lastZxid=%s%s",
		r.SessionID, r.TimeOut, r.LastZxidSeen, roSuffix(r.ReadOnly, r.HasReadOnly))
}

func roSuffix(ro, has bool) string {
	if !has {
		return ""
	}
	return fmt.Sprintf(" ro=%t", ro)
}

// ConnectResponse is the server's first frame. TimeOut 0 means the session
// is invalid or expired. HasReadOnly as in ConnectRequest: echo the client.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32 // negotiated, ms
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

func (r *ConnectResponse) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

func (r *ConnectResponse) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.ReadOnly, r.HasReadOnly = optionalBool(d)
}

func (r ConnectResponse) String() string {
	return fmt.Sprintf("connected session=0x%x timeout=%d%s",
		r.SessionID, r.TimeOut, roSuffix(r.ReadOnly, r.HasReadOnly))
}

// RequestHeader starts every client frame after the handshake.
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

func (h *RequestHeader) Encode(e *Encoder) { e.Int(h.Xid); e.Int(int32(h.Type)) }
func (h *RequestHeader) Decode(d *Decoder) { h.Xid = d.Int(); h.Type = OpCode(d.Int()) }
func (h RequestHeader) String() string     { return fmt.Sprintf("req xid=%d %s", h.Xid, h.Type) }

// ReplyHeader starts every server frame after the handshake.
type ReplyHeader struct {
	Xid  int32
	Zxid zxid.Zxid // -1 for notifications without a txn
	Err  Code
}

func (h *ReplyHeader) Encode(e *Encoder) { e.Int(h.Xid); e.Long(int64(h.Zxid)); e.Int(int32(h.Err)) }
func (h *ReplyHeader) Decode(d *Decoder) {
	h.Xid = d.Int()
	h.Zxid = zxid.Zxid(d.Long())
	h.Err = Code(d.Int())
}

func (h ReplyHeader) String() string {
	z := h.Zxid.String()
	if h.Zxid < 0 {
		z = fmt.Sprint(int64(h.Zxid))
	}
	return fmt.Sprintf("reply xid=%d zxid=%s err=%s", h.Xid, z, h.Err.Name())
}

// MultiHeader precedes each op and each result inside multi bodies.
type MultiHeader struct {
	Type OpCode
	Done bool
	Err  Code
}

func (h *MultiHeader) Encode(e *Encoder) { e.Int(int32(h.Type)); e.Bool(h.Done); e.Int(int32(h.Err)) }
func (h *MultiHeader) Decode(d *Decoder) {
	h.Type = OpCode(d.Int())
	h.Done = d.Bool()
	h.Err = Code(d.Int())
}

func (h MultiHeader) String() string {
	return fmt.Sprintf("multiHeader %s done=%t err=%s", h.Type, h.Done, h.Err.Name())
}

// AuthPacket adds credentials to a session (opcode 100).
type AuthPacket struct {
	Type   int32 // clients send 0
	Scheme string
	Auth   []byte
}

func (r *AuthPacket) Encode(e *Encoder) { e.Int(r.Type); e.String(r.Scheme); e.Buffer(r.Auth) }
func (r *AuthPacket) Decode(d *Decoder) { r.Type = d.Int(); r.Scheme = d.String(); r.Auth = d.Buffer() }

// String leaves the credential out: logs must not carry secrets.
func (r AuthPacket) String() string { return fmt.Sprintf("auth %s len=%d", r.Scheme, len(r.Auth)) }

// SetWatches re-registers watches after a reconnect (opcode 101).
type SetWatches struct {
	RelativeZxid zxid.Zxid
	DataWatches  []string
	ExistWatches []string
	ChildWatches []string
}

func (r *SetWatches) Encode(e *Encoder) {
	e.Long(int64(r.RelativeZxid))
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
}

func (r *SetWatches) Decode(d *Decoder) {
	r.RelativeZxid = zxid.Zxid(d.Long())
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
}

func (r SetWatches) String() string {
	return fmt.Sprintf("setWatches rel=%s data=%d exist=%d child=%d",
		r.RelativeZxid, len(r.DataWatches), len(r.ExistWatches), len(r.ChildWatches))
}

// SetWatches2 is SetWatches plus persistent watches (opcode 105).
type SetWatches2 struct {
	RelativeZxid               zxid.Zxid
	DataWatches                []string
	ExistWatches               []string
	ChildWatches               []string
	PersistentWatches          []string
	PersistentRecursiveWatches []string
}

func (r *SetWatches2) Encode(e *Encoder) {
	e.Long(int64(r.RelativeZxid))
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
	e.Strings(r.PersistentWatches)
	e.Strings(r.PersistentRecursiveWatches)
}

func (r *SetWatches2) Decode(d *Decoder) {
	r.RelativeZxid = zxid.Zxid(d.Long())
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
	r.PersistentWatches = d.Strings()
	r.PersistentRecursiveWatches = d.Strings()
}

func (r SetWatches2) String() string {
	return fmt.Sprintf("setWatches2 rel=%s data=%d exist=%d child=%d persistent=%d recursive=%d",
		r.RelativeZxid, len(r.DataWatches), len(r.ExistWatches), len(r.ChildWatches),
		len(r.PersistentWatches), len(r.PersistentRecursiveWatches))
}

// CreateRequest is the body of create, create2 and createContainer.
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32 // a create mode
}

func (r *CreateRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	encodeACLs(e, r.ACL)
	e.Int(r.Flags)
}

func (r *CreateRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = decodeACLs(d)
	r.Flags = d.Int()
}

func (r CreateRequest) String() string {
	return fmt.Sprintf("create %s flags=%d", r.Path, r.Flags)
}

// CreateTTLRequest is the body of createTTL.
type CreateTTLRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64 // ms
}

func (r *CreateTTLRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	encodeACLs(e, r.ACL)
	e.Int(r.Flags)
	e.Long(r.TTL)
}

func (r *CreateTTLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = decodeACLs(d)
	r.Flags = d.Int()
	r.TTL = d.Long()
}

func (r CreateTTLRequest) String() string {
	return fmt.Sprintf("createTTL %s flags=%d ttl=%d", r.Path, r.Flags, r.TTL)
}

// CreateResponse answers create: the actual path (sequence suffix included).
type CreateResponse struct{ Path string }

func (r *CreateResponse) Encode(e *Encoder) { e.String(r.Path) }
func (r *CreateResponse) Decode(d *Decoder) { r.Path = d.String() }
func (r CreateResponse) String() string     { return "created " + r.Path }

// Create2Response answers create2, createContainer and createTTL.
type Create2Response struct {
	Path string
	Stat Stat
}

func (r *Create2Response) Encode(e *Encoder) { e.String(r.Path); r.Stat.Encode(e) }
func (r *Create2Response) Decode(d *Decoder) { r.Path = d.String(); r.Stat.Decode(d) }
func (r Create2Response) String() string {
	return fmt.Sprintf("created %s czxid=0x%x", r.Path, r.Stat.Czxid)
}

// DeleteRequest deletes Path if its version matches (-1: any).
type DeleteRequest struct {
	Path    string
	Version int32
}

func (r *DeleteRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *DeleteRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }
func (r DeleteRequest) String() string     { return fmt.Sprintf("delete %s v=%d", r.Path, r.Version) }

// DeleteContainerRequest is the server's internal container reaper op
// (opcode 20): its body is one buffer holding the path bytes.
type DeleteContainerRequest struct{ Path string }

func (r *DeleteContainerRequest) Encode(e *Encoder) { e.Buffer([]byte(r.Path)) }
func (r *DeleteContainerRequest) Decode(d *Decoder) { r.Path = string(d.Buffer()) }
func (r DeleteContainerRequest) String() string     { return "deleteContainer " + r.Path }

// pathWatch is the shared shape of exists, getData and getChildren(2).
type pathWatch struct {
	Path  string
	Watch bool
}

func (r *pathWatch) Encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }
func (r *pathWatch) Decode(d *Decoder) { r.Path = d.String(); r.Watch = d.Bool() }

func (r pathWatch) describe(op string) string {
	if r.Watch {
		return op + " " + r.Path + " watch"
	}
	return op + " " + r.Path
}

// ExistsRequest asks for Path's Stat, optionally leaving a data watch.
type ExistsRequest struct {
	Path  string
	Watch bool
}

func (r *ExistsRequest) Encode(e *Encoder) { (*pathWatch)(r).Encode(e) }
func (r *ExistsRequest) Decode(d *Decoder) { (*pathWatch)(r).Decode(d) }
func (r ExistsRequest) String() string     { return pathWatch(r).describe("exists") }

// ExistsResponse carries the node's Stat.
type ExistsResponse struct{ Stat Stat }

func (r *ExistsResponse) Encode(e *Encoder) { r.Stat.Encode(e) }
func (r *ExistsResponse) Decode(d *Decoder) { r.Stat.Decode(d) }
func (r ExistsResponse) String() string     { return "stat " + r.Stat.String() }

// GetDataRequest reads Path's data.
type GetDataRequest struct {
	Path  string
	Watch bool
}

func (r *GetDataRequest) Encode(e *Encoder) { (*pathWatch)(r).Encode(e) }
func (r *GetDataRequest) Decode(d *Decoder) { (*pathWatch)(r).Decode(d) }
func (r GetDataRequest) String() string     { return pathWatch(r).describe("getData") }

// GetDataResponse carries data and Stat (also the reply to reconfig).
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

func (r *GetDataResponse) Encode(e *Encoder) { e.Buffer(r.Data); r.Stat.Encode(e) }
func (r *GetDataResponse) Decode(d *Decoder) { r.Data = d.Buffer(); r.Stat.Decode(d) }
func (r GetDataResponse) String() string {
	return fmt.Sprintf("data len=%d v=%d", len(r.Data), r.Stat.Version)
}

// SetDataRequest replaces Path's data if its version matches (-1: any).
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

func (r *SetDataRequest) Encode(e *Encoder) { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }
func (r *SetDataRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
}

func (r SetDataRequest) String() string {
	return fmt.Sprintf("setData %s v=%d len=%d", r.Path, r.Version, len(r.Data))
}

// SetDataResponse carries the new Stat.
type SetDataResponse struct{ Stat Stat }

func (r *SetDataResponse) Encode(e *Encoder) { r.Stat.Encode(e) }
func (r *SetDataResponse) Decode(d *Decoder) { r.Stat.Decode(d) }
func (r SetDataResponse) String() string     { return "stat " + r.Stat.String() }

// GetACLRequest reads Path's ACL.
type GetACLRequest struct{ Path string }

func (r *GetACLRequest) Encode(e *Encoder) { e.String(r.Path) }
func (r *GetACLRequest) Decode(d *Decoder) { r.Path = d.String() }
func (r GetACLRequest) String() string     { return "getACL " + r.Path }

// GetACLResponse carries the ACL and Stat.
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

func (r *GetACLResponse) Encode(e *Encoder) { encodeACLs(e, r.ACL); r.Stat.Encode(e) }
func (r *GetACLResponse) Decode(d *Decoder) { r.ACL = decodeACLs(d); r.Stat.Decode(d) }
func (r GetACLResponse) String() string {
	return fmt.Sprintf("acl %v av=%d", r.ACL, r.Stat.Aversion)
}

// SetACLRequest replaces Path's ACL if its aversion matches (-1: any).
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (r *SetACLRequest) Encode(e *Encoder) { e.String(r.Path); encodeACLs(e, r.ACL); e.Int(r.Version) }
func (r *SetACLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.ACL = decodeACLs(d)
	r.Version = d.Int()
}

func (r SetACLRequest) String() string {
	return fmt.Sprintf("setACL %s v=%d %v", r.Path, r.Version, r.ACL)
}

// SetACLResponse carries the new Stat.
type SetACLResponse struct{ Stat Stat }

func (r *SetACLResponse) Encode(e *Encoder) { r.Stat.Encode(e) }
func (r *SetACLResponse) Decode(d *Decoder) { r.Stat.Decode(d) }
func (r SetACLResponse) String() string     { return "stat " + r.Stat.String() }

// GetChildrenRequest lists Path's children, optionally leaving a child watch.
type GetChildrenRequest struct {
	Path  string
	Watch bool
}

func (r *GetChildrenRequest) Encode(e *Encoder) { (*pathWatch)(r).Encode(e) }
func (r *GetChildrenRequest) Decode(d *Decoder) { (*pathWatch)(r).Decode(d) }
func (r GetChildrenRequest) String() string     { return pathWatch(r).describe("getChildren") }

// GetChildrenResponse lists bare child names.
type GetChildrenResponse struct{ Children []string }

func (r *GetChildrenResponse) Encode(e *Encoder) { e.Strings(r.Children) }
func (r *GetChildrenResponse) Decode(d *Decoder) { r.Children = d.Strings() }
func (r GetChildrenResponse) String() string     { return fmt.Sprintf("children n=%d", len(r.Children)) }

// GetChildren2Request is getChildren that also returns the parent's Stat.
type GetChildren2Request struct {
	Path  string
	Watch bool
}

func (r *GetChildren2Request) Encode(e *Encoder) { (*pathWatch)(r).Encode(e) }
func (r *GetChildren2Request) Decode(d *Decoder) { (*pathWatch)(r).Decode(d) }
func (r GetChildren2Request) String() string     { return pathWatch(r).describe("getChildren2") }

// GetChildren2Response lists bare child names plus the parent's Stat.
type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

func (r *GetChildren2Response) Encode(e *Encoder) { e.Strings(r.Children); r.Stat.Encode(e) }
func (r *GetChildren2Response) Decode(d *Decoder) { r.Children = d.Strings(); r.Stat.Decode(d) }
func (r GetChildren2Response) String() string {
	return fmt.Sprintf("children n=%d cv=%d", len(r.Children), r.Stat.Cversion)
}

// GetAllChildrenNumberRequest counts all descendants of Path.
type GetAllChildrenNumberRequest struct{ Path string }

func (r *GetAllChildrenNumberRequest) Encode(e *Encoder) { e.String(r.Path) }
func (r *GetAllChildrenNumberRequest) Decode(d *Decoder) { r.Path = d.String() }
func (r GetAllChildrenNumberRequest) String() string     { return "getAllChildrenNumber " + r.Path }

// GetAllChildrenNumberResponse is the descendant count.
type GetAllChildrenNumberResponse struct{ TotalNumber int32 }

func (r *GetAllChildrenNumberResponse) Encode(e *Encoder) { e.Int(r.TotalNumber) }
func (r *GetAllChildrenNumberResponse) Decode(d *Decoder) { r.TotalNumber = d.Int() }
func (r GetAllChildrenNumberResponse) String() string {
	return fmt.Sprintf("total=%d", r.TotalNumber)
}

// CheckVersionRequest is the multi-only version check (opcode 13).
type CheckVersionRequest struct {
	Path    string
	Version int32
}

func (r *CheckVersionRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *CheckVersionRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }
func (r CheckVersionRequest) String() string     { return fmt.Sprintf("check %s v=%d", r.Path, r.Version) }

// SyncRequest asks the server to catch up with the leader.
type SyncRequest struct{ Path string }

func (r *SyncRequest) Encode(e *Encoder) { e.String(r.Path) }
func (r *SyncRequest) Decode(d *Decoder) { r.Path = d.String() }
func (r SyncRequest) String() string     { return "sync " + r.Path }

// SyncResponse echoes the path.
type SyncResponse struct{ Path string }

func (r *SyncResponse) Encode(e *Encoder) { e.String(r.Path) }
func (r *SyncResponse) Decode(d *Decoder) { r.Path = d.String() }
func (r SyncResponse) String() string     { return "synced " + r.Path }

// ReconfigRequest changes the ensemble (opcode 16).
type ReconfigRequest struct {
	JoiningServers string
	LeavingServers string
	NewMembers     string
	CurConfigID    int64 // -1: unconditional
}

func (r *ReconfigRequest) Encode(e *Encoder) {
	e.String(r.JoiningServers)
	e.String(r.LeavingServers)
	e.String(r.NewMembers)
	e.Long(r.CurConfigID)
}

func (r *ReconfigRequest) Decode(d *Decoder) {
	r.JoiningServers = d.String()
	r.LeavingServers = d.String()
	r.NewMembers = d.String()
	r.CurConfigID = d.Long()
}

func (r ReconfigRequest) String() string {
	return fmt.Sprintf("reconfig join=%q leave=%q members=%q config=0x%x",
		r.JoiningServers, r.LeavingServers, r.NewMembers, r.CurConfigID)
}

// GetSASLRequest carries a client SASL token (opcode 102).
type GetSASLRequest struct{ Token []byte }

func (r *GetSASLRequest) Encode(e *Encoder) { e.Buffer(r.Token) }
func (r *GetSASLRequest) Decode(d *Decoder) { r.Token = d.Buffer() }
func (r GetSASLRequest) String() string     { return fmt.Sprintf("sasl len=%d", len(r.Token)) }

// SetSASLResponse carries the server's SASL token.
type SetSASLResponse struct{ Token []byte }

func (r *SetSASLResponse) Encode(e *Encoder) { e.Buffer(r.Token) }
func (r *SetSASLResponse) Decode(d *Decoder) { r.Token = d.Buffer() }
func (r SetSASLResponse) String() string     { return fmt.Sprintf("sasl-reply len=%d", len(r.Token)) }

// AddWatchRequest sets a persistent (0) or persistent recursive (1) watch.
type AddWatchRequest struct {
	Path string
	Mode int32
}

func (r *AddWatchRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Mode) }
func (r *AddWatchRequest) Decode(d *Decoder) { r.Path = d.String(); r.Mode = d.Int() }
func (r AddWatchRequest) String() string     { return fmt.Sprintf("addWatch %s mode=%d", r.Path, r.Mode) }

// CheckWatchesRequest asks whether a watch of Type exists on Path (opcode 17).
type CheckWatchesRequest struct {
	Path string
	Type WatcherType
}

func (r *CheckWatchesRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(int32(r.Type)) }
func (r *CheckWatchesRequest) Decode(d *Decoder) { r.Path = d.String(); r.Type = WatcherType(d.Int()) }
func (r CheckWatchesRequest) String() string {
	return fmt.Sprintf("checkWatches %s type=%d", r.Path, r.Type)
}

// RemoveWatchesRequest removes the watches of Type on Path (opcode 18).
type RemoveWatchesRequest struct {
	Path string
	Type WatcherType
}

func (r *RemoveWatchesRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(int32(r.Type)) }
func (r *RemoveWatchesRequest) Decode(d *Decoder) { r.Path = d.String(); r.Type = WatcherType(d.Int()) }
func (r RemoveWatchesRequest) String() string {
	return fmt.Sprintf("removeWatches %s type=%d", r.Path, r.Type)
}

// GetEphemeralsRequest lists the session's ephemerals under PrefixPath.
type GetEphemeralsRequest struct{ PrefixPath string }

func (r *GetEphemeralsRequest) Encode(e *Encoder) { e.String(r.PrefixPath) }
func (r *GetEphemeralsRequest) Decode(d *Decoder) { r.PrefixPath = d.String() }
func (r GetEphemeralsRequest) String() string     { return "getEphemerals " + r.PrefixPath }

// GetEphemeralsResponse lists full paths.
type GetEphemeralsResponse struct{ Ephemerals []string }

func (r *GetEphemeralsResponse) Encode(e *Encoder) { e.Strings(r.Ephemerals) }
func (r *GetEphemeralsResponse) Decode(d *Decoder) { r.Ephemerals = d.Strings() }
func (r GetEphemeralsResponse) String() string {
	return fmt.Sprintf("ephemerals n=%d", len(r.Ephemerals))
}

// WhoAmIResponse lists the session's identities (opcode 107).
type WhoAmIResponse struct{ ClientInfo []ClientInfo }

func (r *WhoAmIResponse) Encode(e *Encoder) {
	e.Int(int32(len(r.ClientInfo)))
	for i := range r.ClientInfo {
		r.ClientInfo[i].Encode(e)
	}
}

func (r *WhoAmIResponse) Decode(d *Decoder) {
	r.ClientInfo = nil
	n := d.Count(clientInfoSize)
	if n == 0 {
		return
	}
	out := make([]ClientInfo, n)
	for i := range out {
		out[i].Decode(d)
	}
	if d.Err() == nil {
		r.ClientInfo = out
	}
}

func (r WhoAmIResponse) String() string { return fmt.Sprintf("whoAmI %v", r.ClientInfo) }

// WatcherEvent is the body of a notification (xid -1).
type WatcherEvent struct {
	Type  EventType
	State KeeperState
	Path  string
}

func (r *WatcherEvent) Encode(e *Encoder) {
	e.Int(int32(r.Type))
	e.Int(int32(r.State))
	e.String(r.Path)
}
func (r *WatcherEvent) Decode(d *Decoder) {
	r.Type = EventType(d.Int())
	r.State = KeeperState(d.Int())
	r.Path = d.String()
}

func (r WatcherEvent) String() string {
	return fmt.Sprintf("event %s %s %s", r.Type, r.Path, r.State)
}

// ErrorResponse is a bare error code: multi error results and the addWatch
// reply (err=0) use it.
type ErrorResponse struct{ Err Code }

func (r *ErrorResponse) Encode(e *Encoder) { e.Int(int32(r.Err)) }
func (r *ErrorResponse) Decode(d *Decoder) { r.Err = Code(d.Int()) }
func (r ErrorResponse) String() string     { return "error " + r.Err.Name() }
