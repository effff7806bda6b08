package zab

import "github.com/zabkeeper/zabkeeper/zxid"

// followerState is what a follower knows about its leader's session.
type followerState struct {
	epoch       uint32    // the leader's epoch, once LEADERINFO was accepted
	ackEpochSeq uint64    // ACKEPOCH waits for this Ready to be durable
	epochAcked  bool      // ACKEPOCH sent
	synced      bool      // DIFF, TRUNC or SNAP received
	gotNL       bool      // NEWLEADER received
	nlSeq       uint64    // ACKNEWLEADER waits for this Ready to be durable
	nlZxid      zxid.Zxid // NEWLEADER's zxid
	nlAcked     bool      // ACKNEWLEADER sent: proposals may now be acked
	acked       zxid.Zxid // last zxid acked
	heard       int       // ticks since the leader was last heard
	touched     []int64   // sessions to report with the next ping
}

// stepFollower is the follower's protocol: one switch over message types.
func (n *Node) stepFollower(m Message) {
	f := n.fl
	if m.From != n.leader {
		return // a former leader's late message
	}
	f.heard = 0
	if m.Type != MsgLeaderInfo && m.Epoch != 0 && m.Epoch != f.epoch {
		return
	}
	switch m.Type {
	case MsgLeaderInfo:
		n.onLeaderInfo(m)
	case MsgDiff, MsgTrunc, MsgSnap:
		n.onSync(m)
	case MsgNewLeader:
		n.onNewLeader(m)
	case MsgProposal:
		n.onProposal(m)
	case MsgCommit:
		if !f.synced || m.Zxid > n.lastLogged {
			n.lose("COMMIT %s beyond our log %s", m.Zxid, n.lastLogged)
			return
		}
		n.commitTo(m.Zxid)
	case MsgUpToDate:
		n.onUpToDate(m)
	case MsgPing:
		n.send(Message{Type: MsgPing, To: n.leader, Sessions: f.touched})
		f.touched = nil
	case MsgSyncReply:
		n.rd.Synced = append(n.rd.Synced, SyncDone{ID: m.ID, Zxid: m.Zxid})
	}
}

// onLeaderInfo accepts the new epoch unless we promised a newer one. An equal
// epoch is accepted only from the leader we acked it to (we remember it in
// this life, or the leader says so with Rejoin): a member acks an epoch to
// one leader only, so no two leaders can both gather a quorum for one epoch.
func (n *Node) onLeaderInfo(m Message) {
	f := n.fl
	if n.phase != PhaseDiscovery || f.epoch != 0 {
		return
	}
	switch e := m.Epoch; {
	case e < n.acceptedEpoch || (e == n.acceptedEpoch && n.acceptedFrom != n.leader && !m.Rejoin):
		n.lose("leader %d offers epoch %d, we accepted %d", n.leader, e, n.acceptedEpoch)
		return
	case e > n.acceptedEpoch:
		n.setAccepted(e, n.leader)
	}
	f.epoch = m.Epoch
	n.phase = PhaseSync
	f.ackEpochSeq = n.acceptedSeq
	n.followerPersisted()
}

// onSync applies the leader's DIFF, TRUNC or SNAP to the log.
func (n *Node) onSync(m Message) {
	f := n.fl
	if n.phase != PhaseSync || f.synced || !f.epochAcked {
		n.lose("unexpected %s", m.Type)
		return
	}
	switch m.Type {
	case MsgSnap:
		if m.Snapshot == nil {
			n.lose("SNAP without a snapshot")
			return
		}
		n.installSnapshot(*m.Snapshot)
	case MsgTrunc:
		if m.Zxid > n.lastLogged {
			n.lose("TRUNC to %s beyond our log %s", m.Zxid, n.lastLogged)
			return
		}
		n.truncate(m.Zxid)
	}
	for _, e := range m.Entries {
		if e.Zxid <= n.lastLogged {
			n.lose("sync entry %s not after %s", e.Zxid, n.lastLogged)
			return
		}
		n.appendEntry(e)
	}
	f.synced = true
}

// onNewLeader persists currentEpoch after the synced entries; ACKNEWLEADER
// waits until both are durable (ZOOKEEPER-4643, -4646).
func (n *Node) onNewLeader(m Message) {
	f := n.fl
	if !f.synced || f.gotNL {
		n.lose("unexpected NEWLEADER")
		return
	}
	if m.Zxid != n.lastLogged {
		n.lose("NEWLEADER at %s but our log ends at %s", m.Zxid, n.lastLogged)
		return
	}
	if n.currentEpoch != f.epoch {
		n.setCurrent(f.epoch)
	}
	f.gotNL, f.nlZxid = true, m.Zxid
	f.nlSeq = n.pendingSeq()
	n.followerPersisted()
}

// onProposal appends the next txn; gaps or stale epochs are protocol errors.
func (n *Node) onProposal(m Message) {
	f := n.fl
	if !f.gotNL {
		n.lose("PROPOSAL %s before NEWLEADER", m.Zxid)
		return
	}
	want := n.lastLogged + 1
	if n.lastLogged.Epoch() != f.epoch {
		want = zxid.New(f.epoch, 1)
	}
	if m.Zxid != want {
		n.lose("PROPOSAL %s, expected %s", m.Zxid, want)
		return
	}
	n.appendEntry(Entry{Zxid: m.Zxid, Data: m.Data})
}

func (n *Node) onUpToDate(m Message) {
	f := n.fl
	if !f.nlAcked || n.phase == PhaseBroadcast {
		n.lose("unexpected UPTODATE")
		return
	}
	if m.Zxid > n.lastLogged {
		n.lose("UPTODATE %s beyond our log %s", m.Zxid, n.lastLogged)
		return
	}
	n.commitTo(m.Zxid)
	n.phase = PhaseBroadcast
	n.rd.RoleChanged, n.rd.Role, n.rd.Leader, n.rd.Epoch = true, Following, n.leader, f.epoch
	n.infof("following %d in epoch %d, committed %s", n.leader, f.epoch, n.committed)
}

// followerPersisted sends the acknowledgements that waited for durability.
func (n *Node) followerPersisted() {
	f := n.fl
	if f.epoch != 0 && !f.epochAcked && n.durSeq >= f.ackEpochSeq {
		f.epochAcked = true
		n.send(Message{Type: MsgAckEpoch, To: n.leader, Epoch: n.currentEpoch, Zxid: n.lastLogged})
	}
	if f.gotNL && !f.nlAcked && n.durSeq >= f.nlSeq {
		f.nlAcked, f.acked = true, f.nlZxid
		n.send(Message{Type: MsgAckNewLeader, To: n.leader, Epoch: f.epoch, Zxid: f.nlZxid})
	}
	if f.nlAcked && n.durable > f.acked {
		f.acked = n.durable
		n.send(Message{Type: MsgAck, To: n.leader, Epoch: f.epoch, Zxid: n.durable})
	}
}

// tickFollower gives up on a leader not heard from for syncLimit ticks
// (initLimit before broadcast).
func (n *Node) tickFollower() {
	limit := n.initLimit
	if n.phase == PhaseBroadcast {
		limit = n.syncLimit
	}
	if n.fl.heard++; n.fl.heard >= limit {
		n.lose("leader %d silent for %d ticks", n.leader, n.fl.heard)
		return
	}
	if n.phase == PhaseDiscovery && n.fl.epoch == 0 {
		// No LEADERINFO yet: the leader may have missed our FOLLOWERINFO.
		n.send(Message{Type: MsgFollowerInfo, To: n.leader, Epoch: n.acceptedEpoch, Zxid: n.lastLogged})
	}
}
