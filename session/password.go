package session

import "crypto/subtle"

// PasswordLen is the length of a session password on the wire.
const PasswordLen = 16

// passwordSeedXor is the constant ZooKeeper mixes into the session id before
// seeding java.util.Random; matching it keeps passwords identical to a Java
// server's, so a session created on one can be resumed on the other.
const passwordSeedXor = 0xB3415C00

// Password returns the 16-byte password ZooKeeper derives for session id.
func Password(id int64) []byte {
	r := newJavaRandom(id ^ passwordSeedXor)
	b := make([]byte, PasswordLen)
	r.nextBytes(b)
	return b
}

// CheckPassword reports whether passwd is the password of session id. The
// compare is constant-time so a client cannot guess a password byte by byte.
func CheckPassword(id int64, passwd []byte) bool {
	return subtle.ConstantTimeCompare(Password(id), passwd) == 1
}

// javaRandom is java.util.Random's 48-bit linear congruential generator,
// reproduced bit for bit.
type javaRandom struct{ seed uint64 }

const (
	jrMultiplier = 0x5DEECE66D
	jrAddend     = 0xB
	jrMask       = 1<<48 - 1
)

func newJavaRandom(seed int64) *javaRandom {
	// Java scrambles the seed with the multiplier and keeps 48 bits.
	return &javaRandom{seed: (uint64(seed) ^ jrMultiplier) & jrMask}
}

// next returns the top bits of the advanced state as a signed int, like Java.
func (r *javaRandom) next(bits uint) int32 {
	r.seed = (r.seed*jrMultiplier + jrAddend) & jrMask
	return int32(int64(r.seed) >> (48 - bits))
}

// nextBytes fills b from successive nextInt() values, each one spent low
// byte first; a trailing partial int is only partly used.
func (r *javaRandom) nextBytes(b []byte) {
	for i := 0; i < len(b); {
		rnd := r.next(32)
		for n := min(len(b)-i, 4); n > 0; n-- {
			b[i] = byte(rnd)
			rnd >>= 8
			i++
		}
	}
}
