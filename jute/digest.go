package jute

import (
	"crypto/sha1"
	"encoding/base64"
	"strings"
)

// DigestCredential turns the credential of a digest auth packet
// ("user:password") into the id the session then holds, as ZooKeeper's
// DigestAuthenticationProvider does: the part before the first ':', a ':',
// and base64(sha1(whole credential)).
func DigestCredential(cred string) string {
	user, _, _ := strings.Cut(cred, ":")
	sum := sha1.Sum([]byte(cred))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// DigestID is the ACL id of digest user with password: what an ACL entry
// ("digest", DigestID(user, password)) names, and what a session that sent
// "user:password" holds.
func DigestID(user, password string) string { return DigestCredential(user + ":" + password) }
