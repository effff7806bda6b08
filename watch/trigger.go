package watch

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/zabkeeper/zabkeeper/jute"
)

// Trigger returns who to notify of one change of type t at path, sorted by
// watcher, each watcher at most once, and consumes the one-shot watches that
// fired. For NodeChildrenChanged, path is the parent whose children changed.
//
//	NodeCreated         data table at path + recursive on path or an ancestor
//	NodeDeleted         data and child tables at path + recursive on ancestors
//	NodeDataChanged     data table at path + recursive on path or an ancestor
//	NodeChildrenChanged child table at path, recursive watchers excluded
func (m *Manager) Trigger(t jute.EventType, path string) []Fire {
	seen := make(map[WatcherID]struct{})
	switch t {
	case jute.EventNodeCreated, jute.EventNodeDataChanged:
		m.fireData(path, seen)
		m.fireAncestors(path, seen)
	case jute.EventNodeDeleted:
		m.fireData(path, seen)
		m.fireChild(path, true, seen)
		m.fireAncestors(path, seen)
	case jute.EventNodeChildrenChanged:
		// Recursive watchers never get this event: they learn of the child
		// itself through NodeCreated/NodeDeleted.
		m.fireChild(path, false, seen)
	default:
		panic(fmt.Sprintf("watch: Trigger with non-node event %s", t))
	}
	if len(seen) == 0 {
		return nil
	}
	out := make([]Fire, 0, len(seen))
	for w := range seen {
		out = append(out, Fire{W: w, Type: t, Path: path})
	}
	slices.SortFunc(out, func(a, b Fire) int { return cmp.Compare(a.W, b.W) })
	return out
}

// fireData notifies every data-table watcher at path. One-shot watches are
// consumed even if the watcher was already told through another table.
func (m *Manager) fireData(path string, seen map[WatcherID]struct{}) {
	for w, k := range m.data[path] {
		seen[w] = struct{}{}
		if k.oneShot() {
			m.delData(path, w)
		}
	}
}

func (m *Manager) fireChild(path string, withRec bool, seen map[WatcherID]struct{}) {
	for w, k := range m.child[path] {
		if k == PersistentRecursive && !withRec {
			continue
		}
		seen[w] = struct{}{}
		if k.oneShot() {
			m.delChild(path, w)
		}
	}
}

// fireAncestors walks the proper ancestors of path up to "/", so the cost is
// the depth of the path plus the watchers that actually fire.
func (m *Manager) fireAncestors(path string, seen map[WatcherID]struct{}) {
	for p, ok := parent(path); ok; p, ok = parent(p) {
		for w := range m.rec[p] {
			seen[w] = struct{}{}
		}
	}
}

// parent returns the parent of an absolute path; false for "/".
func parent(path string) (string, bool) {
	if path == "/" || path == "" {
		return "", false
	}
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/", true
	}
	return path[:i], true
}
