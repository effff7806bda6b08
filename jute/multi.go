package jute

import (
	"fmt"
	"strings"
)

// multiEnd terminates both the op list and the result list.
var multiEnd = MultiHeader{Type: OpError, Done: true, Err: -1}

// MultiOp is one operation of a multi or multiRead request.
type MultiOp struct {
	Type OpCode
	Rec  Record // the request record multiOpRecord(Type) builds
}

func (o MultiOp) String() string {
	if s, ok := o.Rec.(fmt.Stringer); ok {
		return s.String()
	}
	return o.Type.String()
}

// MultiRequest is the body of multi (14) and multiRead (22). Decoding does
// not check that reads and writes are not mixed: that is the server's call.
type MultiRequest struct {
	Ops []MultiOp
}

// multiOpRecord is a fresh request record for an op allowed inside a multi
// or multiRead; false for anything else.
func multiOpRecord(op OpCode) (Record, bool) {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}, true
	case OpCreateTTL:
		return &CreateTTLRequest{}, true
	case OpDelete:
		return &DeleteRequest{}, true
	case OpSetData:
		return &SetDataRequest{}, true
	case OpCheck:
		return &CheckVersionRequest{}, true
	case OpGetChildren:
		return &GetChildrenRequest{}, true
	case OpGetData:
		return &GetDataRequest{}, true
	}
	return nil, false
}

// Encode writes each op behind its header, then the terminator. An op
// without a record is a programming error and panics.
func (m *MultiRequest) Encode(e *Encoder) {
	for _, op := range m.Ops {
		if op.Rec == nil {
			panic(fmt.Sprintf("jute: multi op %s has no record", op.Type))
		}
		h := MultiHeader{Type: op.Type, Err: -1}
		h.Encode(e)
		op.Rec.Encode(e)
	}
	multiEnd.Encode(e)
}

// Decode reads ops until the done header. An op type that cannot appear in
// a multi is ErrMarshallingError, as the Java server fails to parse it.
func (m *MultiRequest) Decode(d *Decoder) {
	m.Ops = nil
	for d.Err() == nil {
		var h MultiHeader
		h.Decode(d)
		if d.Err() != nil || h.Done {
			break
		}
		rec, ok := multiOpRecord(h.Type)
		if !ok {
			d.fail("op %s not allowed in multi", h.Type)
			break
		}
		rec.Decode(d)
		m.Ops = append(m.Ops, MultiOp{Type: h.Type, Rec: rec})
	}
	if d.Err() != nil {
		m.Ops = nil
	}
}

func (m MultiRequest) String() string {
	parts := make([]string, len(m.Ops))
	for i, op := range m.Ops {
		parts[i] = op.String()
	}
	return fmt.Sprintf("multi [%s]", strings.Join(parts, "; "))
}

// MultiResult is one result of a multi or multiRead. Type says which fields
// travel: 1 Path; 15 Path+Stat; 5 Stat; 4 Data+Stat; 8 Children; 2 and 13
// nothing; -1 (OpError) Err.
type MultiResult struct {
	Type     OpCode
	Err      Code
	Path     string
	Stat     Stat
	Data     []byte
	Children []string
}

func (r MultiResult) String() string {
	switch r.Type {
	case OpError:
		return "error " + r.Err.Name()
	case OpCreate, OpCreate2:
		return r.Type.String() + " " + r.Path
	case OpGetData:
		return fmt.Sprintf("getData len=%d", len(r.Data))
	case OpGetChildren:
		return fmt.Sprintf("getChildren n=%d", len(r.Children))
	}
	return r.Type.String()
}

// MultiResponse is the reply body of multi and multiRead.
type MultiResponse struct {
	Results []MultiResult
}

// Encode writes each result behind its header, then the terminator. A result
// type with no defined body is a programming error and panics.
func (m *MultiResponse) Encode(e *Encoder) {
	for i := range m.Results {
		encodeResult(e, &m.Results[i])
	}
	multiEnd.Encode(e)
}

func encodeResult(e *Encoder, r *MultiResult) {
	h := MultiHeader{Type: r.Type}
	if r.Type == OpError {
		h.Err = r.Err
	}
	h.Encode(e)
	switch r.Type {
	case OpError:
		e.Int(int32(r.Err))
	case OpCreate:
		e.String(r.Path)
	case OpCreate2:
		e.String(r.Path)
		r.Stat.Encode(e)
	case OpDelete, OpCheck:
	case OpSetData:
		r.Stat.Encode(e)
	case OpGetData:
		e.Buffer(r.Data)
		r.Stat.Encode(e)
	case OpGetChildren:
		e.Strings(r.Children)
	default:
		panic(fmt.Sprintf("jute: multi result type %s has no encoding", r.Type))
	}
}

// Decode reads results until the done header; an unknown result type is
// ErrMarshallingError.
func (m *MultiResponse) Decode(d *Decoder) {
	m.Results = nil
	for d.Err() == nil {
		var h MultiHeader
		h.Decode(d)
		if d.Err() != nil || h.Done {
			break
		}
		r, ok := decodeResult(d, h)
		if !ok {
			d.fail("result type %s not allowed in multi", h.Type)
			break
		}
		m.Results = append(m.Results, r)
	}
	if d.Err() != nil {
		m.Results = nil
	}
}

func decodeResult(d *Decoder, h MultiHeader) (MultiResult, bool) {
	r := MultiResult{Type: h.Type, Err: h.Err}
	switch h.Type {
	case OpError:
		// The body repeats the code; the Java client trusts the body.
		r.Err = Code(d.Int())
	case OpCreate:
		r.Path = d.String()
	case OpCreate2:
		r.Path = d.String()
		r.Stat.Decode(d)
	case OpDelete, OpCheck:
	case OpSetData:
		r.Stat.Decode(d)
	case OpGetData:
		r.Data = d.Buffer()
		r.Stat.Decode(d)
	case OpGetChildren:
		r.Children = d.Strings()
	default:
		return r, false
	}
	return r, true
}

func (m MultiResponse) String() string {
	parts := make([]string, len(m.Results))
	for i, r := range m.Results {
		parts[i] = r.String()
	}
	return fmt.Sprintf("multi-result [%s]", strings.Join(parts, "; "))
}

// FirstError is the first non-OK code among the results, as the Java client
// reports a failed multi; OK if every op succeeded.
func (m *MultiResponse) FirstError() Code {
	for _, r := range m.Results {
		if r.Type == OpError && r.Err != OK {
			return r.Err
		}
	}
	return OK
}
