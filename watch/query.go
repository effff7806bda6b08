package watch

import (
	"slices"

	"github.com/zabkeeper/zabkeeper/jute"
)

// Remove implements removeWatches for one watcher and path with 3.8 matching:
// Children and Data remove whatever mode sits on that table, Any clears both
// tables, Persistent and PersistentRecursive (3.9 wire values) remove that
// mode wherever it is. False means nothing was removed (reply NoWatcher).
func (m *Manager) Remove(path string, w WatcherID, t jute.WatcherType) bool {
	inData, inChild := m.match(path, w, t)
	if inData {
		m.delData(path, w)
	}
	if inChild {
		m.delChild(path, w)
	}
	return inData || inChild
}

// Has implements checkWatches: whether Remove with the same arguments would
// remove something.
func (m *Manager) Has(path string, w WatcherID, t jute.WatcherType) bool {
	inData, inChild := m.match(path, w, t)
	return inData || inChild
}

// match tells which tables hold an entry of (path, w) selected by t.
func (m *Manager) match(path string, w WatcherID, t jute.WatcherType) (inData, inChild bool) {
	dk, dok := m.data.get(path, w)
	ck, cok := m.child.get(path, w)
	switch t {
	case jute.WatcherData:
		return dok, false
	case jute.WatcherChildren:
		return false, cok
	case jute.WatcherAny:
		return dok, cok
	case jute.WatcherPersistent:
		return dok && dk == Persistent, cok && ck == Persistent
	case jute.WatcherPersistentRecursive:
		return dok && dk == PersistentRecursive, cok && ck == PersistentRecursive
	}
	return false, false
}

// RemoveWatcher drops every watch of w (its connection closed).
func (m *Manager) RemoveWatcher(w WatcherID) {
	for path := range m.byW[w] {
		if k, ok := m.data.get(path, w); ok && k == PersistentRecursive {
			m.unindexRec(path, w)
		}
		m.data.del(path, w)
		m.child.del(path, w)
	}
	delete(m.byW, w)
}

// PathsOf lists w's watched paths by kind, each sorted. A persistent or
// recursive watch appears once even though it sits on both tables.
func (m *Manager) PathsOf(w WatcherID) (data, exist, child, persistent, recursive []string) {
	for path := range m.byW[w] {
		var isP, isR bool
		if k, ok := m.data.get(path, w); ok {
			switch k {
			case Data:
				data = append(data, path)
			case Exist:
				exist = append(exist, path)
			case Persistent:
				isP = true
			case PersistentRecursive:
				isR = true
			}
		}
		if k, ok := m.child.get(path, w); ok {
			switch k {
			case Child:
				child = append(child, path)
			case Persistent:
				isP = true
			case PersistentRecursive:
				isR = true
			}
		}
		if isP {
			persistent = append(persistent, path)
		}
		if isR {
			recursive = append(recursive, path)
		}
	}
	for _, s := range [][]string{data, exist, child, persistent, recursive} {
		slices.Sort(s)
	}
	return data, exist, child, persistent, recursive
}

// Summary gives the wchs figures: connections with a watch, distinct watched
// paths, and (watcher, path) pairs, a pair counted once across both tables.
func (m *Manager) Summary() (connections, paths, total int) {
	for _, ps := range m.byW {
		total += len(ps)
	}
	return len(m.byW), len(m.ByPath()), total
}

// ByPath maps each watched path to its watchers, sorted (wchp).
func (m *Manager) ByPath() map[string][]WatcherID {
	out := make(map[string][]WatcherID)
	for w, ps := range m.byW {
		for p := range ps {
			out[p] = append(out[p], w)
		}
	}
	for _, ws := range out {
		slices.Sort(ws)
	}
	return out
}

// ByWatcher maps each watcher to its watched paths, sorted (wchc).
func (m *Manager) ByWatcher() map[WatcherID][]string {
	out := make(map[WatcherID][]string, len(m.byW))
	for w, ps := range m.byW {
		l := make([]string, 0, len(ps))
		for p := range ps {
			l = append(l, p)
		}
		slices.Sort(l)
		out[w] = l
	}
	return out
}
