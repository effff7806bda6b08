package session

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestNegotiate(t *testing.T) {
	cases := []struct{ req, want int32 }{
		{0, 4000}, {3999, 4000}, {4000, 4000}, {30000, 30000}, {40000, 40000}, {40001, 40000}, {-5, 4000},
	}
	for _, c := range cases {
		if got := Negotiate(c.req, 4000, 40000); got != c.want {
			t.Errorf("Negotiate(%d) = %d, want %d", c.req, got, c.want)
		}
	}
}

// The expected passwords were computed once with OpenJDK 17.0.15 by
//
//	byte[] b = new byte[16]; new java.util.Random(id ^ 0xB3415C00L).nextBytes(b);
//
// (a throwaway Pw.java run with javac/java); the tests do not need Java.
// Ids that differ only above bit 47 share a password because Random keeps
// only 48 bits of its seed; that is ZooKeeper's behaviour too.
var javaPasswords = []struct {
	id   int64
	want string
}{
	{0, "f22acd4a97e69d6d20a49bb638eadb38"},
	{1, "054cc74a37327db215e702e20c73f005"},
	{0x0100000000000001, "054cc74a37327db215e702e20c73f005"},
	{0x1000018f1e2b0000, "579ebd0598c6c7048dea9c11a1d42890"},
	{-1, "20f62cb5648dc2d771471c8a2486a9ee"},
	{math.MinInt64 + 1, "054cc74a37327db215e702e20c73f005"},
	{0xB3415C00, "60b420bb3851d9d47acb933dbe70399b"},
	{0x0100000000000000, "f22acd4a97e69d6d20a49bb638eadb38"},
}

func TestPasswordMatchesJava(t *testing.T) {
	for _, c := range javaPasswords {
		if got := hex.EncodeToString(Password(c.id)); got != c.want {
			t.Errorf("Password(0x%x) = %s, want %s", uint64(c.id), got, c.want)
		}
	}
}

// new Random(42).nextBytes(new byte[7]) in Java 17: pins the partial-int tail.
func TestJavaRandomOddLength(t *testing.T) {
	b := make([]byte, 7)
	newJavaRandom(42).nextBytes(b)
	if got := hex.EncodeToString(b); got != "359d41baf78afe" {
		t.Fatalf("nextBytes(7) = %s", got)
	}
}

func TestCheckPassword(t *testing.T) {
	id := int64(0x1000018f1e2b0000)
	pw := Password(id)
	if !CheckPassword(id, pw) {
		t.Fatal("own password rejected")
	}
	bad := slices.Clone(pw)
	bad[15] ^= 1
	for _, p := range [][]byte{bad, pw[:15], nil, make([]byte, 16)} {
		if CheckPassword(id, p) {
			t.Errorf("accepted wrong password %x", p)
		}
	}
	if CheckPassword(id+1, pw) {
		t.Error("password of another session accepted")
	}
}

func TestIDGenLayout(t *testing.T) {
	now := int64(0x18f1e2b3c4d) // a 2024 time in ms: 41 bits, the top one is shifted out
	g := NewIDGen(3, now)
	id := g.Next()
	if got := uint64(id) >> 56; got != 3 {
		t.Errorf("server byte = %d", got)
	}
	if got := uint64(id) & 0xffff; got != 0 {
		t.Errorf("low 16 bits = %x, want 0", got)
	}
	if got, want := (uint64(id)>>16)&(1<<40-1), uint64(now)&(1<<40-1); got != want {
		t.Errorf("time bits = %x, want %x", got, want)
	}
	if id != 0x038f1e2b3c4d0000 {
		t.Errorf("id = 0x%x", uint64(id))
	}
	if next := g.Next(); next != id+1 {
		t.Errorf("second id = 0x%x, want 0x%x", uint64(next), uint64(id+1))
	}
}

func TestIDGenTimeDoesNotReachServerByte(t *testing.T) {
	// Bits of the time above 40 are shifted out, never into the server byte.
	id := NewIDGen(0, -1).Next()
	if uint64(id)>>56 != 0 || id != 0x00ffffffffff0000 {
		t.Errorf("id = 0x%x", uint64(id))
	}
}

func TestIDGenSkipsMinInt64(t *testing.T) {
	// Server id 128 with time 0 lands exactly on Long.MIN_VALUE.
	g := NewIDGen(128, 0)
	if id := g.Next(); id != math.MinInt64+1 {
		t.Fatalf("first id = 0x%x, want MIN_VALUE+1", uint64(id))
	}
	g = &IDGen{next: math.MaxInt64}
	g.Next()
	if id := g.Next(); id != math.MinInt64+1 {
		t.Fatalf("after wrap id = 0x%x", uint64(id))
	}
}

func TestBucketRounding(t *testing.T) {
	tr := NewTracker(2000)
	cases := []struct {
		now     int64
		timeout int32
		want    int64
	}{
		{0, 4000, 6000},    // exact multiple still moves to the next one
		{1, 4000, 6000},    // 4001 -> 6000
		{1999, 4000, 6000}, // 5999 -> 6000
		{2000, 4000, 8000}, // 6000 -> 8000
		{10500, 30000, 42000},
	}
	for i, c := range cases {
		tr.Add(int64(i), c.timeout, c.now)
		if got, _ := tr.Deadline(int64(i)); got != c.want {
			t.Errorf("now=%d timeout=%d: deadline %d, want %d", c.now, c.timeout, got, c.want)
		}
	}
}

func TestTouchAndExpire(t *testing.T) {
	tr := NewTracker(1000)
	tr.Add(7, 3000, 0) // deadline 4000
	tr.Add(8, 3000, 0)
	if at, ok := tr.NextExpiry(); !ok || at != 4000 {
		t.Fatalf("NextExpiry = %d %v", at, ok)
	}
	if !tr.Touch(7, 2500) { // 5500 -> 6000
		t.Fatal("touch of live session failed")
	}
	if got := tr.Expired(3999); len(got) != 0 {
		t.Fatalf("expired early: %v", got)
	}
	if got := tr.Expired(4000); !slices.Equal(got, []int64{8}) {
		t.Fatalf("Expired(4000) = %v, want [8]", got)
	}
	if tr.Touch(8, 4001) {
		t.Fatal("touch revived an expired session")
	}
	if at, ok := tr.NextExpiry(); !ok || at != 6000 {
		t.Fatalf("NextExpiry = %d %v", at, ok)
	}
	if got := tr.Expired(10000); !slices.Equal(got, []int64{7}) {
		t.Fatalf("Expired = %v", got)
	}
	if _, ok := tr.NextExpiry(); ok || tr.Len() != 0 {
		t.Fatal("tracker not empty")
	}
}

func TestRemove(t *testing.T) {
	tr := NewTracker(1000)
	tr.Add(1, 2000, 0)
	tr.Add(2, 5000, 0)
	tr.Remove(1)
	tr.Remove(99) // unknown: ignored
	if _, ok := tr.Deadline(1); ok || tr.Touch(1, 10) {
		t.Fatal("removed session still tracked")
	}
	// The emptied bucket at 3000 must not be reported.
	if at, ok := tr.NextExpiry(); !ok || at != 6000 {
		t.Fatalf("NextExpiry = %d %v, want 6000", at, ok)
	}
	if got := tr.Expired(100000); !slices.Equal(got, []int64{2}) {
		t.Fatalf("Expired = %v", got)
	}
}

func TestAddAgainChangesTimeout(t *testing.T) {
	tr := NewTracker(1000)
	tr.Add(1, 2000, 0)
	tr.Add(1, 10000, 500) // reconnect with a new negotiated timeout
	if at, _ := tr.Deadline(1); at != 11000 {
		t.Fatalf("deadline %d", at)
	}
	tr.Touch(1, 1000)
	if at, _ := tr.Deadline(1); at != 12000 {
		t.Fatalf("deadline after touch %d", at)
	}
	if tr.Len() != 1 || len(tr.Buckets()) != 1 {
		t.Fatalf("len %d buckets %v", tr.Len(), tr.Buckets())
	}
}

func TestManySessions(t *testing.T) {
	tr := NewTracker(100)
	const n = 10000
	for i := range int64(n) {
		tr.Add(i, int32(1000+i%10*100), 0) // deadlines 1100..2000
	}
	// Even sessions keep pinging until t=5000.
	for now := int64(100); now <= 5000; now += 100 {
		for i := int64(0); i < n; i += 2 {
			tr.Touch(i, now)
		}
		for _, id := range tr.Expired(now) {
			if id%2 == 0 {
				t.Fatalf("pinging session %d expired at %d", id, now)
			}
		}
	}
	if tr.Len() != n/2 {
		t.Fatalf("len %d, want %d", tr.Len(), n/2)
	}
	got := tr.Expired(1 << 40)
	if len(got) != n/2 || !slices.IsSorted(got) {
		t.Fatalf("final expiry: %d ids, sorted=%v", len(got), slices.IsSorted(got))
	}
}

func TestBuckets(t *testing.T) {
	tr := NewTracker(1000)
	tr.Add(3, 2000, 0)
	tr.Add(1, 2000, 0)
	tr.Add(2, 4000, 0)
	want := []Bucket{{3000, []int64{1, 3}}, {5000, []int64{2}}}
	got := tr.Buckets()
	if len(got) != len(want) {
		t.Fatalf("Buckets = %v", got)
	}
	for i := range want {
		if got[i].ExpiresAt != want[i].ExpiresAt || !slices.Equal(got[i].IDs, want[i].IDs) {
			t.Fatalf("Buckets = %v, want %v", got, want)
		}
	}
	if s := got[0].String(); s != "bucket(3000: 2 sessions)" {
		t.Errorf("String = %q", s)
	}
}

// BenchmarkTouch100k touches 100k sessions round-robin while the clock
// advances 100 ms per round: with a 2 s tick most touches stay in their bucket
// (steady pings), with a 100 ms tick every touch moves to a new bucket.
func BenchmarkTouch100k(b *testing.B) {
	for _, tick := range []int64{2000, 100} {
		b.Run(fmt.Sprintf("tick=%dms", tick), func(b *testing.B) {
			const n = 100000
			tr := NewTracker(tick)
			for i := range int64(n) {
				tr.Add(i, 30000, 0)
			}
			b.ResetTimer()
			now := int64(0)
			for i := 0; i < b.N; i++ {
				if i%n == 0 {
					now += 100
				}
				tr.Touch(int64(i%n), now)
			}
		})
	}
}
