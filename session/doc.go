// Package session holds the server-local parts of ZooKeeper sessions: timeout
// negotiation, session id generation, the session password, and expiry by tick
// buckets. The replicated session table lives in tree/; this package only
// decides locally when a session has gone quiet for too long.
//
// It is a pure core: no wall clock, no goroutines. Time arrives as milliseconds.
package session
