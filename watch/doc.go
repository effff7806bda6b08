// Package watch is the registry of ZooKeeper watches on one server and the
// rule book for who is notified of a change. Watches belong to connections,
// so nothing here is replicated; the server feeds it the events produced by
// applying txns and delivers the returned Fires.
//
// Semantics follow ZooKeeper 3.8: two tables (data and child), one mode per
// (watcher, path) on each table, a later registration replacing an earlier
// one. It is a pure core: no I/O, no goroutines, no locks (the caller owns
// the Manager from one goroutine).
package watch
