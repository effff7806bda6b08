package client

import (
	"errors"
	"fmt"

	"github.com/zabkeeper/zabkeeper/jute"
)

// State is the client's view of its session.
type State int32

const (
	// StateDisconnected: no server connection now; the session may still live.
	StateDisconnected State = iota
	// StateConnected: a server holds the session and answers requests.
	StateConnected
	// StateExpired: the session is gone (server said so, or no server was
	// reachable for the whole timeout). Final.
	StateExpired
	// StateAuthFailed: a server rejected a credential. Final.
	StateAuthFailed
	// StateClosed: Close was called. Final.
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateDisconnected:
		return "Disconnected"
	case StateConnected:
		return "Connected"
	case StateExpired:
		return "Expired"
	case StateAuthFailed:
		return "AuthFailed"
	case StateClosed:
		return "Closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// final reports whether no further state can follow.
func (s State) final() bool { return s >= StateExpired }

// ErrClosed is returned by calls on a client after Close.
var ErrClosed = errors.New("client: closed")

// IsRetryable tells a transient failure (the connection dropped, the outcome
// of the request is unknown, the session may still live) from a final one.
func IsRetryable(err error) bool {
	return errors.Is(err, jute.ErrConnectionLoss) || errors.Is(err, jute.ErrOperationTimeout)
}

// Event is one watch notification. Err is set (and Type is EventNone) when
// the watch ends without a change: the session expired or the client closed.
type Event struct {
	Type jute.EventType
	Path string
	Zxid int64 // zxid of the change; -1 when the server does not say
	Err  error
}

func (e Event) String() string {
	if e.Err != nil {
		return fmt.Sprintf("%s %s err=%v", e.Type, e.Path, e.Err)
	}
	return fmt.Sprintf("%s %s zxid=0x%x", e.Type, e.Path, e.Zxid)
}
