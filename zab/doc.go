// Package zab is ZooKeeper's atomic broadcast (Zab 1.0) as a pure state
// machine: no goroutines, no I/O, no clock. A driver (server/ in production,
// zab/sim in tests) feeds it the election outcome (Lead, Follow), peer
// messages (Step), logical time (Tick), client writes (Propose, Forward,
// Sync) and durability reports (Persisted), and carries out what Ready says.
//
// The phases are those of ZooKeeper: discovery (FOLLOWERINFO, LEADERINFO,
// ACKEPOCH: a quorum accepts a new epoch), synchronization (DIFF, TRUNC or
// SNAP, then NEWLEADER; the leader serves once a quorum, itself included,
// acknowledged NEWLEADER, then sends UPTODATE) and broadcast (PROPOSAL, ACK,
// COMMIT, many proposals in flight). Elections are not here: election/
// decides and the driver calls Lead or Follow; on Ready.Lost the driver
// elects again and calls Lead or Follow on the same Node.
//
// # The driver loop
//
//	for each input: n.Step(m) / n.Tick() / n.Propose(data) ...
//	for n.HasReady() {
//		rd := n.Ready()
//		send(rd.Messages)                        // may go before the writes below
//		write(rd.InstallSnapshot, rd.TruncateAfter, rd.Append)
//		writeEpochs(rd.AcceptedEpoch, rd.CurrentEpoch) // only after the log writes are durable
//		fsync; n.Persisted(rd.Durable)           // or later, for a whole batch of Readys
//		apply(rd.Commit); answer(rd.Synced) ...
//		if rd.Lost { elect; n.Lead() or n.Follow(leader) }
//	}
//
// # The durability contract
//
// zab never emits a message whose safety depends on durable state until the
// driver reported that state durable through Persisted: ACKEPOCH waits for
// acceptedEpoch, ACKNEWLEADER waits for the synced log and then currentEpoch
// (ZOOKEEPER-4643, -4646), an ACK of a proposal waits for the log, and a
// leader counts its own epoch, NEWLEADER and proposal acknowledgements only
// after its own Persisted. So the driver may send a Ready's Messages at once,
// before its fsync (a leader's PROPOSALs go out while it writes its own copy),
// and may cover many Readys with one fsync (group commit): Persisted(p)
// covers the Ready that carried p and all earlier ones.
//
// Durable work within and across Readys must become durable in order: the
// snapshot, the truncation, the appends, then the epochs. A driver that
// crashes may keep any prefix of the work not yet reported by Persisted, but
// never an epoch without the log writes that came before it, and never an
// installed snapshot without the Append of the same Ready: a SNAP replaces
// a log that may hold acknowledged txns, so the snapshot and the entries
// that follow it must replace it in one atomic write (zab/sim shows the loss
// otherwise: -zab.split-install -zab.seed=610).
//
// Ready.Commit lists committed entries in zxid order, exactly once each (a
// restarted node re-reads its logged-but-unapplied tail from Config.Log and
// hands it out once a leader commits it). Entries that were never committed
// are never handed out, so a TRUNC never has to undo applied state
// (ZOOKEEPER-2845).
//
// Expected refusals are sentinel errors (ErrNotLeader, ErrNotReady...);
// a broken invariant, such as truncating a committed entry, panics.
package zab
