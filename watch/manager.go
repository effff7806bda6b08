package watch

import (
	"fmt"

	"github.com/zabkeeper/zabkeeper/jute"
)

// WatcherID names the party to notify: the server's connection id.
type WatcherID uint64

// Kind is how a watch was set.
type Kind int

const (
	Data                Kind = iota // getData(watch=true): data table, one-shot
	Exist                           // exists(watch=true): data table, one-shot
	Child                           // getChildren(watch=true): child table, one-shot
	Persistent                      // addWatch PERSISTENT: both tables, stays
	PersistentRecursive             // addWatch PERSISTENT_RECURSIVE: both tables (3.8), stays, covers descendants
)

var kindNames = [...]string{"data", "exist", "child", "persistent", "recursive"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// oneShot reports whether a watch of this kind is consumed when it fires.
func (k Kind) oneShot() bool { return k == Data || k == Exist || k == Child }

// Fire is one notification to deliver.
type Fire struct {
	W    WatcherID
	Type jute.EventType
	Path string
}

func (f Fire) String() string { return fmt.Sprintf("%d:%s %s", f.W, f.Type, f.Path) }

// table maps path -> watcher -> the one mode that watcher has on that path.
type table map[string]map[WatcherID]Kind

func (t table) set(path string, w WatcherID, k Kind) {
	ws, ok := t[path]
	if !ok {
		ws = make(map[WatcherID]Kind)
		t[path] = ws
	}
	ws[w] = k
}

func (t table) get(path string, w WatcherID) (Kind, bool) {
	k, ok := t[path][w]
	return k, ok
}

func (t table) del(path string, w WatcherID) {
	ws := t[path]
	delete(ws, w)
	if len(ws) == 0 {
		delete(t, path)
	}
}

// Manager holds every watch of one server.
type Manager struct {
	data  table // Data, Exist, Persistent, PersistentRecursive
	child table // Child, Persistent, PersistentRecursive
	// rec indexes the data-table recursive watches by path, so a change at
	// depth d looks at d ancestors instead of scanning all watches.
	rec map[string]map[WatcherID]struct{}
	// byW lists, per watcher, the paths it has on either table, so closing a
	// connection costs its own watches only.
	byW map[WatcherID]map[string]struct{}
}

// New returns an empty Manager.
func New() *Manager {
	return &Manager{
		data:  make(table),
		child: make(table),
		rec:   make(map[string]map[WatcherID]struct{}),
		byW:   make(map[WatcherID]map[string]struct{}),
	}
}

func (m *Manager) String() string {
	c, p, n := m.Summary()
	return fmt.Sprintf("watches(%d connections, %d paths, %d total)", c, p, n)
}

// Add registers a watch. On each table a (watcher, path) pair has one mode,
// and the latest registration wins: a getData watch after a persistent one
// downgrades the data-table entry to one-shot, as in ZooKeeper 3.8.
func (m *Manager) Add(path string, w WatcherID, k Kind) {
	switch k {
	case Data, Exist:
		m.setData(path, w, k)
	case Child:
		m.child.set(path, w, k)
	case Persistent, PersistentRecursive:
		m.setData(path, w, k)
		m.child.set(path, w, k)
	default:
		panic(fmt.Sprintf("watch: Add with unknown kind %d", int(k)))
	}
	ps, ok := m.byW[w]
	if !ok {
		ps = make(map[string]struct{})
		m.byW[w] = ps
	}
	ps[path] = struct{}{}
}

func (m *Manager) setData(path string, w WatcherID, k Kind) {
	if old, ok := m.data.get(path, w); ok && old == PersistentRecursive {
		m.unindexRec(path, w)
	}
	m.data.set(path, w, k)
	if k == PersistentRecursive {
		ws, ok := m.rec[path]
		if !ok {
			ws = make(map[WatcherID]struct{})
			m.rec[path] = ws
		}
		ws[w] = struct{}{}
	}
}

func (m *Manager) unindexRec(path string, w WatcherID) {
	ws := m.rec[path]
	delete(ws, w)
	if len(ws) == 0 {
		delete(m.rec, path)
	}
}

// delData and delChild drop one table entry and keep the indexes in step.
func (m *Manager) delData(path string, w WatcherID) {
	if k, ok := m.data.get(path, w); ok && k == PersistentRecursive {
		m.unindexRec(path, w)
	}
	m.data.del(path, w)
	m.forgetIfGone(path, w)
}

func (m *Manager) delChild(path string, w WatcherID) {
	m.child.del(path, w)
	m.forgetIfGone(path, w)
}

func (m *Manager) forgetIfGone(path string, w WatcherID) {
	if _, ok := m.data.get(path, w); ok {
		return
	}
	if _, ok := m.child.get(path, w); ok {
		return
	}
	ps := m.byW[w]
	delete(ps, path)
	if len(ps) == 0 {
		delete(m.byW, w)
	}
}
