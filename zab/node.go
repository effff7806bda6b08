package zab

import (
	"errors"
	"fmt"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// Expected outcomes of the public calls.
var (
	// ErrNotLeader: Propose on a member that is not an established leader.
	ErrNotLeader = errors.New("zab: not the established leader")
	// ErrNotReady: Forward or Sync on a member that is not in broadcast.
	ErrNotReady = errors.New("zab: not serving (no established leader)")
	// ErrCompacted is what a Log returns when part of the asked range was
	// removed by snapshot compaction; the leader then syncs with SNAP.
	ErrCompacted = errors.New("zab: log compacted")
	// ErrUnknownPeer: SendSnapshot for a follower that no longer waits for one.
	ErrUnknownPeer = errors.New("zab: peer not waiting for a snapshot")
)

// Log is a read-only view of the local log; writing is the driver's job
// (Ready.Append and friends).
type Log interface {
	// Entries returns the entries with from <= zxid <= to, ascending. It
	// returns ErrCompacted if entries in the range may have been removed.
	// The caller does not modify the returned entries.
	Entries(from, to zxid.Zxid) ([]Entry, error)
	LastZxid() zxid.Zxid
}

// Logger receives the protocol's notable events; nil discards them.
type Logger interface {
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
}

// Config is a member's identity and the durable state it restarts from.
type Config struct {
	ID                           int64
	Voters                       []int64 // all participants, ID included
	TickSyncLimit, TickInitLimit int     // zoo.cfg syncLimit / initLimit, in ticks
	AcceptedEpoch, CurrentEpoch  uint32
	LastLogged                   zxid.Zxid // last zxid in the local log
	// Applied is the last zxid already applied (snapshot + replay). Entries
	// after it are logged but not known to be committed: they are applied
	// only once a leader says so.
	Applied zxid.Zxid
	Log     Log
	Logger  Logger
	// DiffLimit > 0 makes the leader use SNAP instead of a DIFF longer than
	// this many entries.
	DiffLimit int
}

// Role is what the member does in the ensemble.
type Role uint8

// Roles.
const (
	Looking Role = iota
	Leading
	Following
)

func (r Role) String() string {
	return [...]string{"looking", "leading", "following"}[r]
}

// Phase is the Zab phase of a leader or follower.
type Phase uint8

// Phases.
const (
	PhaseNone Phase = iota
	PhaseDiscovery
	PhaseSync
	PhaseBroadcast
)

func (p Phase) String() string {
	return [...]string{"none", "discovery", "sync", "broadcast"}[p]
}

// Persisted tells the node which durable work is done. The driver passes back
// Ready.Durable of the last Ready whose durable part it completed; it covers
// that Ready and all earlier ones (so one fsync can cover many Readys).
type Persisted struct {
	Seq           uint64    // which Ready (increasing)
	Zxid          zxid.Zxid // the log's last zxid after that Ready
	AcceptedEpoch uint32
	CurrentEpoch  uint32
}

func (p Persisted) String() string {
	return fmt.Sprintf("persisted#%d %s a%d c%d", p.Seq, p.Zxid, p.AcceptedEpoch, p.CurrentEpoch)
}

// SyncDone answers a client sync(): reply once Applied >= Zxid.
type SyncDone struct {
	ID   uint64
	Zxid zxid.Zxid
}

// Ready is what the driver must do now. Messages may go out at once; the
// durable parts are done in field order, then Persisted(Durable) is called;
// Commit is applied in order after the durable parts of this Ready are written.
type Ready struct {
	Messages []Message

	InstallSnapshot *Snapshot  // SNAP sync: replace log and state with this snapshot
	TruncateAfter   *zxid.Zxid // TRUNC sync: drop log entries after this zxid
	Append          []Entry    // append to the log
	AcceptedEpoch   uint32     // non-zero: persist (after the log writes above)
	CurrentEpoch    uint32     // non-zero: persist (after AcceptedEpoch)
	Durable         Persisted  // Seq != 0: hand back to Persisted once the above is durable

	Commit       []Entry    // committed entries to apply, in order
	Requests     [][]byte   // leader: writes forwarded by followers, to stamp and Propose
	Synced       []SyncDone // client syncs that may be answered once applied
	Touched      []int64    // leader: sessions that followers saw alive
	NeedSnapshot []int64    // leader: call SendSnapshot for these followers

	RoleChanged bool
	Role        Role
	Leader      int64
	Epoch       uint32
	Lost        bool // go back to leader election
}

func (rd *Ready) durableWork() bool {
	return rd.InstallSnapshot != nil || rd.TruncateAfter != nil || len(rd.Append) > 0 ||
		rd.AcceptedEpoch != 0 || rd.CurrentEpoch != 0
}

func (rd *Ready) empty() bool {
	return len(rd.Messages) == 0 && !rd.durableWork() && len(rd.Commit) == 0 &&
		len(rd.Requests) == 0 && len(rd.Synced) == 0 && len(rd.Touched) == 0 &&
		len(rd.NeedSnapshot) == 0 && !rd.RoleChanged && !rd.Lost
}

// Status is a snapshot of the node's state for admin pages and tests.
type Status struct {
	ID                          int64
	Role                        Role
	Phase                       Phase
	Leader                      int64
	AcceptedEpoch, CurrentEpoch uint32 // latest values, maybe not yet durable
	Epoch                       uint32 // the epoch being led or followed (0 before LEADERINFO)
	LastLogged                  zxid.Zxid
	Durable                     zxid.Zxid
	Committed                   zxid.Zxid
	Applied                     zxid.Zxid // handed out in Ready.Commit
	Followers                   []int64   // leader: followers that acked NEWLEADER
}

func (s Status) String() string {
	return fmt.Sprintf("%d %s/%s leader=%d epoch=%d a%d c%d last=%s durable=%s committed=%s",
		s.ID, s.Role, s.Phase, s.Leader, s.Epoch, s.AcceptedEpoch, s.CurrentEpoch,
		s.LastLogged, s.Durable, s.Committed)
}

// Node is one member's Zab state machine. It is not safe for concurrent use.
type Node struct {
	id        int64
	voters    []int64
	syncLimit int
	initLimit int
	diffLimit int
	log       Log
	logger    Logger

	role   Role
	phase  Phase
	leader int64

	acceptedEpoch, currentEpoch uint32 // latest values handed out
	durAccepted, durCurrent     uint32 // durable values
	acceptedSeq                 uint64 // the Ready that carries acceptedEpoch
	acceptedFrom                int64  // leader that gave acceptedEpoch in this incarnation

	lastLogged zxid.Zxid
	durable    zxid.Zxid // log durable through this zxid
	committed  zxid.Zxid
	applied    zxid.Zxid // handed out in Ready.Commit
	// tail holds the entries after base; entries up to base are durable and
	// committed, so they are read from log when needed.
	base zxid.Zxid
	tail []Entry

	seq    uint64 // Durable.Seq of the last Ready handed out
	durSeq uint64 // last Persisted.Seq
	rd     Ready

	ld *leaderState
	fl *followerState

	// early keeps FOLLOWERINFO that arrived while this member was still
	// electing: the elected leader often hears from its followers before
	// its own election finishes, and dropping those would stall discovery
	// until initLimit runs out.
	early map[int64]Message
}

// New builds a node from its durable state; it starts Looking.
func New(c Config) *Node {
	if c.TickSyncLimit <= 0 {
		c.TickSyncLimit = 5
	}
	if c.TickInitLimit <= 0 {
		c.TickInitLimit = 10
	}
	n := &Node{
		id: c.ID, voters: append([]int64(nil), c.Voters...),
		syncLimit: c.TickSyncLimit, initLimit: c.TickInitLimit, diffLimit: c.DiffLimit,
		log: c.Log, logger: c.Logger,
		acceptedEpoch: c.AcceptedEpoch, currentEpoch: c.CurrentEpoch,
		durAccepted: c.AcceptedEpoch, durCurrent: c.CurrentEpoch,
		lastLogged: c.LastLogged, durable: c.LastLogged,
		committed: c.Applied, applied: c.Applied, base: c.Applied,
	}
	if !n.isVoter(c.ID) {
		panic(fmt.Sprintf("zab: member %d is not in voters %v", c.ID, c.Voters))
	}
	if c.LastLogged > c.Applied {
		es, err := n.logEntries(c.Applied+1, c.LastLogged)
		if err != nil {
			panic(fmt.Sprintf("zab: reading the unapplied log tail: %v", err))
		}
		n.tail = append([]Entry(nil), es...)
	}
	return n
}

func (n *Node) isVoter(id int64) bool {
	for _, v := range n.voters {
		if v == id {
			return true
		}
	}
	return false
}

func (n *Node) quorum() int { return len(n.voters)/2 + 1 }

// Lead starts discovery as prospective leader (the election chose us).
func (n *Node) Lead() {
	n.reset(Leading, n.id)
	n.ld = newLeaderState()
	n.ld.startCurrent, n.ld.startLast = n.currentEpoch, n.lastLogged
	n.infof("leading: discovery from a%d c%d last=%s", n.acceptedEpoch, n.currentEpoch, n.lastLogged)
	early := n.early
	n.early = nil
	for _, id := range n.voters {
		if m, ok := early[id]; ok && n.role == Leading {
			n.stepLeader(m)
		}
	}
	if n.role == Leading { // an early FOLLOWERINFO may have made us step down
		n.tryFixEpoch()
	}
}

// Follow starts discovery with the elected leader.
func (n *Node) Follow(leader int64) {
	if leader == n.id {
		n.Lead()
		return
	}
	n.reset(Following, leader)
	n.early = nil
	n.fl = &followerState{}
	n.infof("following %d: discovery from a%d c%d last=%s", leader, n.acceptedEpoch, n.currentEpoch, n.lastLogged)
	n.send(Message{Type: MsgFollowerInfo, To: leader, Epoch: n.acceptedEpoch, Zxid: n.lastLogged})
}

func (n *Node) reset(r Role, leader int64) {
	n.role, n.phase, n.leader = r, PhaseDiscovery, leader
	n.ld, n.fl = nil, nil
}

// lose drops the current role: the driver must run an election.
func (n *Node) lose(format string, args ...any) {
	if n.role == Looking {
		return
	}
	n.warnf("back to election: "+format, args...)
	n.role, n.phase, n.leader = Looking, PhaseNone, 0
	n.ld, n.fl = nil, nil
	n.early = nil // anything older than the next election is stale
	n.rd.Lost, n.rd.RoleChanged = true, true
	n.rd.Role, n.rd.Leader, n.rd.Epoch = Looking, 0, 0
}

// Step handles a message from a peer. Messages that do not fit the current
// role or phase (late or duplicated) are dropped silently; a protocol
// violation by the leader sends this member back to election.
func (n *Node) Step(m Message) error {
	if m.To != 0 && m.To != n.id {
		return fmt.Errorf("zab: message for %d delivered to %d", m.To, n.id)
	}
	switch n.role {
	case Leading:
		n.stepLeader(m)
	case Following:
		n.stepFollower(m)
	case Looking:
		if m.Type == MsgFollowerInfo && n.isVoter(m.From) {
			if n.early == nil {
				n.early = map[int64]Message{}
			}
			n.early[m.From] = m
		}
	}
	return nil
}

// Tick advances logical time by one tickTime.
func (n *Node) Tick() {
	switch n.role {
	case Leading:
		n.tickLeader()
	case Following:
		n.tickFollower()
	}
}

// Disconnected tells the node that the connection with peer broke.
func (n *Node) Disconnected(peer int64) {
	switch {
	case n.role == Following && peer == n.leader:
		n.lose("connection to leader %d broke", peer)
	case n.role == Leading && n.ld.peers[peer] != nil:
		n.dropPeer(peer, "connection broke")
	}
}

// Touch records sessions this member's clients pinged; a follower reports
// them to the leader with its next ping, a leader hands them out at once.
func (n *Node) Touch(sessions []int64) {
	switch n.role {
	case Following:
		n.fl.touched = append(n.fl.touched, sessions...)
	case Leading:
		n.rd.Touched = append(n.rd.Touched, sessions...)
	}
}

// Persisted reports durable work done (see Ready.Durable).
func (n *Node) Persisted(p Persisted) {
	if p.Seq <= n.durSeq {
		return
	}
	if p.Seq > n.seq {
		panic(fmt.Sprintf("zab: %s for a Ready never handed out (last #%d)", p, n.seq))
	}
	n.durSeq, n.durable = p.Seq, p.Zxid
	n.durAccepted, n.durCurrent = p.AcceptedEpoch, p.CurrentEpoch
	switch n.role {
	case Leading:
		n.leaderPersisted()
	case Following:
		n.followerPersisted()
	}
	n.trim()
}

// HasReady says whether Ready has anything to do.
func (n *Node) HasReady() bool { return !n.rd.empty() }

// Ready returns what to do now and forgets it.
func (n *Node) Ready() Ready {
	rd := n.rd
	n.rd = Ready{}
	if rd.durableWork() {
		n.seq++
		rd.Durable = Persisted{Seq: n.seq, Zxid: n.lastLogged, AcceptedEpoch: n.acceptedEpoch, CurrentEpoch: n.currentEpoch}
	}
	return rd
}

// pendingSeq is the Durable.Seq that covers all durable work handed out so
// far: the Ready being built if it has some, else the last one handed out.
func (n *Node) pendingSeq() uint64 {
	if n.rd.durableWork() {
		return n.seq + 1
	}
	return n.seq
}

// Status reports the node's state.
// Role is Status().Role without building a Status (cheap, for every write).
func (n *Node) Role() Role { return n.role }

// Phase is Status().Phase without building a Status.
func (n *Node) Phase() Phase { return n.phase }

func (n *Node) Status() Status {
	s := Status{
		ID: n.id, Role: n.role, Phase: n.phase, Leader: n.leader,
		AcceptedEpoch: n.acceptedEpoch, CurrentEpoch: n.currentEpoch,
		LastLogged: n.lastLogged, Durable: n.durable, Committed: n.committed, Applied: n.applied,
	}
	switch {
	case n.ld != nil:
		s.Epoch = n.ld.epoch
		s.Followers = n.ld.syncedIDs()
	case n.fl != nil:
		s.Epoch = n.fl.epoch
	}
	return s
}

func (n *Node) send(m Message) {
	m.From = n.id
	n.rd.Messages = append(n.rd.Messages, m)
}

// setAccepted hands out a new acceptedEpoch to persist.
func (n *Node) setAccepted(e uint32, from int64) {
	n.acceptedEpoch, n.acceptedFrom = e, from
	n.rd.AcceptedEpoch = e
	n.acceptedSeq = n.pendingSeq()
}

// setCurrent hands out a new currentEpoch; it is persisted after the log
// writes of the same and earlier Readys (ZOOKEEPER-4643).
func (n *Node) setCurrent(e uint32) {
	n.currentEpoch = e
	n.rd.CurrentEpoch = e
}

// appendEntry adds an entry after lastLogged, in memory and in Ready.Append.
func (n *Node) appendEntry(e Entry) {
	if e.Zxid <= n.lastLogged {
		panic(fmt.Sprintf("zab: append %s after %s", e.Zxid, n.lastLogged))
	}
	n.tail = append(n.tail, e)
	n.rd.Append = append(n.rd.Append, e)
	n.lastLogged = e.Zxid
}

// truncate drops every entry after z. Committed entries are never dropped.
func (n *Node) truncate(z zxid.Zxid) {
	if z < n.committed {
		panic(fmt.Sprintf("zab: member %d asked to truncate to %s below committed %s", n.id, z, n.committed))
	}
	if z >= n.lastLogged {
		return
	}
	i := len(n.tail)
	for i > 0 && n.tail[i-1].Zxid > z {
		i--
	}
	n.tail = n.tail[:i]
	keep := n.rd.Append[:0:0]
	for _, e := range n.rd.Append {
		if e.Zxid <= z {
			keep = append(keep, e)
		}
	}
	n.rd.Append = keep
	if n.rd.TruncateAfter == nil || z < *n.rd.TruncateAfter {
		t := z
		n.rd.TruncateAfter = &t
	}
	n.lastLogged = z
}

// installSnapshot replaces the log and the applied state.
func (n *Node) installSnapshot(s Snapshot) {
	if s.Zxid < n.committed {
		n.warnf("snapshot %s is older than committed %s", s.Zxid, n.committed)
	}
	n.rd.InstallSnapshot = &s
	n.rd.TruncateAfter, n.rd.Append, n.rd.Commit = nil, nil, nil
	n.tail = nil
	n.lastLogged, n.base, n.committed, n.applied = s.Zxid, s.Zxid, s.Zxid, s.Zxid
}

// commitTo marks everything up to z committed and hands it out to apply.
func (n *Node) commitTo(z zxid.Zxid) {
	if z <= n.committed {
		return
	}
	if z > n.lastLogged {
		panic(fmt.Sprintf("zab: member %d commits %s beyond its log %s", n.id, z, n.lastLogged))
	}
	n.committed = z
	es, err := n.entries(n.applied+1, z)
	if err != nil {
		panic(fmt.Sprintf("zab: reading committed entries: %v", err))
	}
	n.rd.Commit = append(n.rd.Commit, es...)
	n.applied = z
	n.trim()
}

// trim forgets tail entries that are both durable and applied.
func (n *Node) trim() {
	upto := min(n.applied, n.durable)
	i := 0
	for i < len(n.tail) && n.tail[i].Zxid <= upto {
		i++
	}
	if i > 0 {
		n.base = n.tail[i-1].Zxid
		n.tail = append([]Entry(nil), n.tail[i:]...)
	}
}

// entries returns the local entries in [from, to] from the log and the tail.
func (n *Node) entries(from, to zxid.Zxid) ([]Entry, error) {
	var out []Entry
	if from <= n.base {
		es, err := n.logEntries(from, min(to, n.base))
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	for _, e := range n.tail {
		if e.Zxid >= from && e.Zxid <= to {
			out = append(out, e)
		}
	}
	return out, nil
}

func (n *Node) logEntries(from, to zxid.Zxid) ([]Entry, error) {
	if n.log == nil || from > to {
		return nil, nil
	}
	return n.log.Entries(from, to)
}

// lastAtOrBefore finds the last local zxid <= z; ok is false when the log
// was compacted past the answer.
func (n *Node) lastAtOrBefore(z zxid.Zxid) (zxid.Zxid, bool) {
	if z >= n.lastLogged {
		return n.lastLogged, true
	}
	for i := len(n.tail) - 1; i >= 0; i-- {
		if n.tail[i].Zxid <= z {
			return n.tail[i].Zxid, true
		}
	}
	// Below the tail: search the log one epoch at a time, newest first.
	z = min(z, n.base)
	for e, tries := int64(z.Epoch()), 0; e >= 0 && tries < 64; e, tries = e-1, tries+1 {
		lo := zxid.New(uint32(e), 0)
		es, err := n.logEntries(lo, z)
		if err != nil {
			return 0, false
		}
		if len(es) > 0 {
			return es[len(es)-1].Zxid, true
		}
		if e == 0 {
			return 0, true
		}
		z = lo - 1
	}
	return 0, false
}

func (n *Node) infof(format string, args ...any) {
	if n.logger != nil {
		n.logger.Infof("zab %d: "+format, append([]any{n.id}, args...)...)
	}
}

func (n *Node) warnf(format string, args ...any) {
	if n.logger != nil {
		n.logger.Warnf("zab %d: "+format, append([]any{n.id}, args...)...)
	}
}

func (n *Node) debugf(format string, args ...any) {
	if n.logger != nil {
		n.logger.Debugf("zab %d: "+format, append([]any{n.id}, args...)...)
	}
}
