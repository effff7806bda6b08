package zab

import (
	"errors"
	"slices"

	"github.com/zabkeeper/zabkeeper/zxid"
)

// peerState is where a follower is in the leader's eyes.
type peerState uint8

const (
	peerInfo     peerState = iota // FOLLOWERINFO received
	peerEpoch                     // ACKEPOCH received, sync not started
	peerSnapWait                  // waiting for the driver's snapshot
	peerSyncing                   // sync and NEWLEADER sent: gets proposals and commits
	peerSynced                    // ACKNEWLEADER received
)

type peer struct {
	id            int64
	state         peerState
	acceptedEpoch uint32
	currentEpoch  uint32
	lastZxid      zxid.Zxid
	matched       zxid.Zxid // highest zxid the follower has durably (cumulative ACK)
	silent        int       // ticks since last heard
}

// forwarded says whether the peer is on the broadcast stream.
func (p *peer) forwarded() bool { return p.state == peerSyncing || p.state == peerSynced }

type leaderState struct {
	epoch        uint32 // the new epoch, 0 until a quorum of FOLLOWERINFO
	peers        map[int64]*peer
	epochAcked   map[int64]bool // followers that sent ACKEPOCH for epoch
	startCurrent uint32         // our currentEpoch when discovery began
	startLast    zxid.Zxid      // our last zxid when discovery began
	selfEpochSeq uint64         // our acceptedEpoch is durable at this Ready
	selfEpochAck bool
	syncStarted  bool
	historyEnd   zxid.Zxid // the initial history every follower is synced to
	selfNLSeq    uint64    // our currentEpoch (and history) durable at this Ready
	selfNLAck    bool
	established  bool
	phaseTicks   int
}

func newLeaderState() *leaderState {
	return &leaderState{peers: map[int64]*peer{}, epochAcked: map[int64]bool{}}
}

func (l *leaderState) syncedIDs() []int64 {
	var ids []int64
	for id, p := range l.peers {
		if p.state == peerSynced {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (l *leaderState) count(pred func(*peer) bool) int {
	c := 0
	for _, p := range l.peers {
		if pred(p) {
			c++
		}
	}
	return c
}

// stepLeader is the leader's protocol: one switch over message types.
func (n *Node) stepLeader(m Message) {
	l := n.ld
	if !n.isVoter(m.From) || m.From == n.id {
		return
	}
	if m.Type == MsgFollowerInfo {
		n.onFollowerInfo(m)
		return
	}
	p := l.peers[m.From]
	if p == nil {
		return // from a connection we dropped
	}
	p.silent = 0
	if m.Type != MsgAckEpoch && m.Epoch != 0 && m.Epoch != l.epoch {
		return
	}
	switch m.Type {
	case MsgAckEpoch:
		n.onAckEpoch(p, m)
	case MsgAckNewLeader:
		n.onAckNewLeader(p, m)
	case MsgAck:
		// An ACK may come before ACKNEWLEADER (ZOOKEEPER-4685): remember
		// it, count it once the follower acked NEWLEADER, never give up.
		if p.forwarded() && m.Zxid <= n.lastLogged && m.Zxid > p.matched {
			p.matched = m.Zxid
			n.advanceCommit()
		}
	case MsgPing:
		n.rd.Touched = append(n.rd.Touched, m.Sessions...)
	case MsgRequest:
		if l.established && p.state == peerSynced {
			n.rd.Requests = append(n.rd.Requests, m.Data)
		}
	case MsgSync:
		if p.forwarded() {
			n.send(Message{Type: MsgSyncReply, To: p.id, Epoch: l.epoch, ID: m.ID, Zxid: n.committed})
		}
	}
}

// onFollowerInfo (re)starts a follower's connection. A follower that
// accepted our epoch or a newer one from another leader can never join this
// epoch: step down so that the next election picks a higher epoch.
func (n *Node) onFollowerInfo(m Message) {
	l := n.ld
	if l.epoch != 0 && (m.Epoch > l.epoch || m.Epoch == l.epoch && !l.epochAcked[m.From]) {
		n.lose("follower %d accepted epoch %d elsewhere; need an epoch above %d", m.From, m.Epoch, l.epoch)
		return
	}
	l.peers[m.From] = &peer{id: m.From, acceptedEpoch: m.Epoch, lastZxid: m.Zxid}
	if l.epoch != 0 {
		n.send(Message{Type: MsgLeaderInfo, To: m.From, Epoch: l.epoch, Rejoin: m.Epoch == l.epoch})
		return
	}
	n.tryFixEpoch()
}

// tryFixEpoch picks the new epoch once a quorum (us included) reported its
// acceptedEpoch, and persists it before counting our own ACKEPOCH.
func (n *Node) tryFixEpoch() {
	l := n.ld
	if l.epoch != 0 || len(l.peers)+1 < n.quorum() {
		return
	}
	e := n.acceptedEpoch
	for _, p := range l.peers {
		e = max(e, p.acceptedEpoch)
	}
	l.epoch = e + 1
	n.setAccepted(l.epoch, n.id)
	l.selfEpochSeq, l.phaseTicks = n.acceptedSeq, 0
	n.infof("proposing epoch %d", l.epoch)
	for _, p := range l.peers {
		n.send(Message{Type: MsgLeaderInfo, To: p.id, Epoch: l.epoch})
	}
}

// onAckEpoch: before the quorum is reached, a follower with a newer history
// than ours means the election went wrong: give up (as ZooKeeper does).
func (n *Node) onAckEpoch(p *peer, m Message) {
	l := n.ld
	if p.state != peerInfo || l.epoch == 0 {
		return
	}
	p.state, p.currentEpoch, p.lastZxid = peerEpoch, m.Epoch, m.Zxid
	l.epochAcked[p.id] = true
	if !l.syncStarted {
		if m.Epoch > l.startCurrent || m.Epoch == l.startCurrent && m.Zxid > l.startLast {
			n.lose("follower %d is ahead (c%d %s > c%d %s)", p.id, m.Epoch, m.Zxid, l.startCurrent, l.startLast)
			return
		}
		n.tryStartSync()
		return
	}
	n.syncPeer(p)
}

// tryStartSync: a quorum holds the new epoch; fix the initial history, make
// currentEpoch durable after it, and sync every follower that acked.
func (n *Node) tryStartSync() {
	l := n.ld
	if l.syncStarted || !l.selfEpochAck || l.count(func(p *peer) bool { return p.state >= peerEpoch })+1 < n.quorum() {
		return
	}
	l.syncStarted, l.phaseTicks = true, 0
	n.phase = PhaseSync
	l.historyEnd = n.lastLogged
	n.setCurrent(l.epoch)
	l.selfNLSeq = n.pendingSeq()
	for _, id := range n.peerIDs() {
		if p := l.peers[id]; p.state == peerEpoch {
			n.syncPeer(p)
		}
	}
	n.leaderPersisted()
}

func (n *Node) peerIDs() []int64 {
	ids := make([]int64, 0, len(n.ld.peers))
	for id := range n.ld.peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// syncPeer chooses DIFF, TRUNC or SNAP for the follower's last zxid.
func (n *Node) syncPeer(p *peer) {
	m, ok := n.planSync(p.lastZxid)
	if !ok {
		p.state = peerSnapWait
		n.rd.NeedSnapshot = append(n.rd.NeedSnapshot, p.id)
		return
	}
	m.To = p.id
	n.sendSync(p, m)
}

func (n *Node) planSync(pz zxid.Zxid) (Message, bool) {
	t, ok := n.lastAtOrBefore(pz)
	if !ok {
		return Message{}, false
	}
	es, err := n.entries(t+1, n.lastLogged)
	if errors.Is(err, ErrCompacted) || n.diffLimit > 0 && len(es) > n.diffLimit {
		return Message{}, false
	}
	if err != nil {
		panic("zab: reading the log for a DIFF: " + err.Error())
	}
	if t == pz {
		return Message{Type: MsgDiff, Entries: es}, true
	}
	return Message{Type: MsgTrunc, Zxid: t, Entries: es}, true
}

// sendSync sends the sync message and NEWLEADER; from now on the follower
// gets every proposal and commit, so nothing falls between sync and
// broadcast, and nothing is proposed twice.
func (n *Node) sendSync(p *peer, m Message) {
	m.Epoch = n.ld.epoch
	n.send(m)
	n.send(Message{Type: MsgNewLeader, To: p.id, Epoch: n.ld.epoch, Zxid: n.lastLogged})
	p.state = peerSyncing
}

// SendSnapshot answers Ready.NeedSnapshot: snap is the leader's applied state;
// the log entries after it follow in the same message.
func (n *Node) SendSnapshot(to int64, snap Snapshot) error {
	if n.ld == nil || n.ld.peers[to] == nil || n.ld.peers[to].state != peerSnapWait {
		return ErrUnknownPeer
	}
	if snap.Zxid > n.committed {
		panic("zab: snapshot beyond the committed zxid")
	}
	es, err := n.entries(snap.Zxid+1, n.lastLogged)
	if err != nil {
		return err
	}
	n.sendSync(n.ld.peers[to], Message{Type: MsgSnap, To: to, Snapshot: &snap, Entries: es})
	return nil
}

func (n *Node) onAckNewLeader(p *peer, m Message) {
	l := n.ld
	if p.state != peerSyncing {
		return
	}
	p.state = peerSynced
	p.matched = max(p.matched, m.Zxid)
	if !l.established {
		n.tryEstablish()
		return
	}
	n.send(Message{Type: MsgUpToDate, To: p.id, Epoch: l.epoch, Zxid: n.committed})
	n.advanceCommit()
}

// tryEstablish: a quorum (us included) durably holds the initial history and
// the new epoch. The whole history is committed, and the synced followers
// learn the latest committed zxid in UPTODATE.
func (n *Node) tryEstablish() {
	l := n.ld
	if l.established || !l.selfNLAck || l.count(func(p *peer) bool { return p.state == peerSynced })+1 < n.quorum() {
		return
	}
	l.established = true
	n.phase = PhaseBroadcast
	n.commitTo(l.historyEnd)
	n.advanceCommit()
	for _, id := range n.peerIDs() {
		if p := l.peers[id]; p.state == peerSynced {
			n.send(Message{Type: MsgUpToDate, To: id, Epoch: l.epoch, Zxid: n.committed})
		}
	}
	n.rd.RoleChanged, n.rd.Role, n.rd.Leader, n.rd.Epoch = true, Leading, n.id, l.epoch
	n.infof("leading epoch %d with %v, committed %s", l.epoch, l.syncedIDs(), n.committed)
}

// advanceCommit commits the highest zxid durably held by a quorum of us and
// followers that acked NEWLEADER; COMMIT goes to everyone on the stream.
func (n *Node) advanceCommit() {
	l := n.ld
	if !l.established {
		return
	}
	acks := []zxid.Zxid{n.durable}
	if !l.selfNLAck {
		acks[0] = 0
	}
	for _, p := range l.peers {
		if p.state == peerSynced {
			acks = append(acks, p.matched)
		}
	}
	if len(acks) < n.quorum() {
		return
	}
	slices.Sort(acks)
	z := min(acks[len(acks)-n.quorum()], n.lastLogged)
	if z <= n.committed {
		return
	}
	n.commitTo(z)
	for _, id := range n.peerIDs() {
		if l.peers[id].forwarded() {
			n.send(Message{Type: MsgCommit, To: id, Epoch: l.epoch, Zxid: z})
		}
	}
}

// Propose appends a txn with the next zxid and sends it to the followers.
func (n *Node) Propose(data []byte) (zxid.Zxid, error) {
	if n.role != Leading || !n.ld.established {
		return 0, ErrNotLeader
	}
	z := n.lastLogged + 1
	if n.lastLogged.Epoch() != n.ld.epoch {
		z = zxid.New(n.ld.epoch, 1)
	}
	n.appendEntry(Entry{Zxid: z, Data: data})
	for _, id := range n.peerIDs() {
		if n.ld.peers[id].forwarded() {
			n.send(Message{Type: MsgProposal, To: id, Epoch: n.ld.epoch, Zxid: z, Data: data})
		}
	}
	return z, nil
}

// Forward sends a client write from a follower to the leader.
func (n *Node) Forward(data []byte) error {
	switch {
	case n.role == Leading && n.ld.established:
		n.rd.Requests = append(n.rd.Requests, data)
	case n.role == Following && n.phase == PhaseBroadcast:
		n.send(Message{Type: MsgRequest, To: n.leader, Epoch: n.fl.epoch, Data: data})
	default:
		return ErrNotReady
	}
	return nil
}

// Sync starts a client sync(): the answer (Ready.Synced) carries the
// leader's committed zxid, sent after every COMMIT the leader sent before.
func (n *Node) Sync(id uint64) error {
	switch {
	case n.role == Leading && n.ld.established:
		n.rd.Synced = append(n.rd.Synced, SyncDone{ID: id, Zxid: n.committed})
	case n.role == Following && n.phase == PhaseBroadcast:
		n.send(Message{Type: MsgSync, To: n.leader, Epoch: n.fl.epoch, ID: id})
	default:
		return ErrNotReady
	}
	return nil
}

func (n *Node) leaderPersisted() {
	l := n.ld
	if !l.selfEpochAck && l.epoch != 0 && n.durSeq >= l.selfEpochSeq {
		l.selfEpochAck = true
		n.tryStartSync()
	}
	if l.syncStarted && !l.selfNLAck && n.durSeq >= l.selfNLSeq {
		l.selfNLAck = true
		n.tryEstablish()
	}
	n.advanceCommit()
}

// tickLeader pings everyone, drops silent followers and steps down without
// a quorum (syncLimit in broadcast, initLimit per phase before).
func (n *Node) tickLeader() {
	l := n.ld
	for _, id := range n.peerIDs() {
		p := l.peers[id]
		p.silent++
		limit := n.initLimit
		if p.state == peerSynced {
			limit = n.syncLimit
		}
		if p.silent >= limit {
			n.dropPeer(id, "silent")
			continue
		}
		n.send(Message{Type: MsgPing, To: id, Epoch: l.epoch})
	}
	if !l.established {
		if l.phaseTicks++; l.phaseTicks >= n.initLimit {
			n.lose("no quorum for epoch %d within initLimit", l.epoch)
		}
		return
	}
	if l.count(func(p *peer) bool { return p.state == peerSynced })+1 < n.quorum() {
		n.lose("lost the quorum")
	}
}

func (n *Node) dropPeer(id int64, why string) {
	n.warnf("dropping follower %d: %s", id, why)
	delete(n.ld.peers, id)
}
