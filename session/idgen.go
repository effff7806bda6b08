package session

import (
	"fmt"
	"math"
)

// IDGen hands out session ids in ZooKeeper's layout: the server id in the top
// byte, 40 bits of the start time below it, and a counter in the low bits, so
// ids from different servers and restarts do not collide.
type IDGen struct {
	next int64
}

// NewIDGen starts the sequence for serverID at time nowMs.
func NewIDGen(serverID int64, nowMs int64) *IDGen {
	base := int64(uint64(nowMs<<24) >> 8) // logical shift: the time never reaches the top byte
	return &IDGen{next: base | serverID<<56}
}

// Next returns a fresh session id. Long.MIN_VALUE is skipped because it marks
// container nodes in ephemeralOwner and must never name a session.
func (g *IDGen) Next() int64 {
	if g.next == math.MinInt64 {
		g.next++
	}
	id := g.next
	g.next++
	return id
}

// String shows the next id to be handed out, in hex like ZooKeeper logs ids.
func (g *IDGen) String() string {
	return fmt.Sprintf("idgen(next=0x%x)", uint64(g.next))
}
