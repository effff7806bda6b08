// Package zxid is the ZooKeeper transaction id: a leader epoch in the high 32
// bits and a counter in the low 32 bits. Every txn takes the next zxid; a new
// leader starts its epoch at counter 0.
package zxid

import "strconv"

// Zxid orders every txn of an ensemble. Zero means "nothing yet".
type Zxid int64

// New joins an epoch and a counter.
func New(epoch, counter uint32) Zxid { return Zxid(int64(epoch)<<32 | int64(counter)) }

// Epoch is the leader epoch that proposed the txn.
func (z Zxid) Epoch() uint32 { return uint32(uint64(z) >> 32) }

// Counter is the txn's position inside its epoch.
func (z Zxid) Counter() uint32 { return uint32(uint64(z)) }

// Next is the zxid after z in the same epoch.
func (z Zxid) Next() Zxid { return z + 1 }

// String prints the zxid in ZooKeeper's log form, 0x plus lower-case hex
// ("0x100000005"), so logs and test scripts read like ZooKeeper's.
func (z Zxid) String() string { return "0x" + strconv.FormatUint(uint64(z), 16) }

// Parse is the inverse of String; the 0x prefix is optional.
func Parse(s string) (Zxid, error) {
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	v, err := strconv.ParseUint(s, 16, 64)
	return Zxid(v), err
}
