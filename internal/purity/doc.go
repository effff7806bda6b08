// Package purity holds the test that keeps the pure cores pure (see
// DESIGN.md): jute, tree, watch, session, zab and election do no I/O, read no
// wall clock and start no goroutines, so a whole ensemble can run
// deterministically in one test from a seed.
package purity
