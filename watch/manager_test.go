package watch

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
)

const (
	created  = jute.EventNodeCreated
	deleted  = jute.EventNodeDeleted
	changed  = jute.EventNodeDataChanged
	children = jute.EventNodeChildrenChanged
)

// fires renders Trigger's answer as "w:Type path" joined by ", ".
func fires(fs []Fire) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.String()
	}
	return strings.Join(s, ", ")
}

func expect(t *testing.T, m *Manager, ev jute.EventType, path, want string) {
	t.Helper()
	if got := fires(m.Trigger(ev, path)); got != want {
		t.Errorf("Trigger(%s, %s) = %q, want %q", ev, path, got, want)
	}
}

// TestTable73 checks every cell of the 7.3 table: each kind of watch at P,
// and a recursive watch on an ancestor, against each event at P.
func TestTable73(t *testing.T) {
	type cell struct {
		kind   Kind
		at     string
		ev     jute.EventType
		fires  bool
		remain bool // still registered afterwards
	}
	cells := []cell{
		{Data, "/a", created, true, false},
		{Data, "/a", deleted, true, false},
		{Data, "/a", changed, true, false},
		{Data, "/a", children, false, true},
		{Exist, "/a", created, true, false},
		{Exist, "/a", deleted, true, false},
		{Exist, "/a", changed, true, false},
		{Exist, "/a", children, false, true},
		{Child, "/a", created, false, true},
		{Child, "/a", deleted, true, false},
		{Child, "/a", changed, false, true},
		{Child, "/a", children, true, false},
		{Persistent, "/a", created, true, true},
		{Persistent, "/a", deleted, true, true},
		{Persistent, "/a", changed, true, true},
		{Persistent, "/a", children, true, true},
		{PersistentRecursive, "/a", created, true, true},
		{PersistentRecursive, "/a", deleted, true, true},
		{PersistentRecursive, "/a", changed, true, true},
		{PersistentRecursive, "/a", children, false, true},
		{PersistentRecursive, "/", created, true, true},
		{PersistentRecursive, "/", deleted, true, true},
		{PersistentRecursive, "/", changed, true, true},
		{PersistentRecursive, "/", children, false, true},
		// Non-recursive watches on the parent never see events at the child.
		{Data, "/", created, false, true},
		{Persistent, "/", changed, false, true},
		{Child, "/", deleted, false, true},
	}
	for _, c := range cells {
		t.Run(fmt.Sprintf("%s@%s/%s", c.kind, c.at, c.ev), func(t *testing.T) {
			m := New()
			m.Add(c.at, 1, c.kind)
			want := ""
			if c.fires {
				want = "1:" + c.ev.String() + " /a"
			}
			expect(t, m, c.ev, "/a", want)
			if got := m.Has(c.at, 1, jute.WatcherAny); got != c.remain {
				t.Errorf("still registered = %v, want %v", got, c.remain)
			}
		})
	}
}

func TestOneShotFiresOnce(t *testing.T) {
	m := New()
	m.Add("/a", 1, Data)
	m.Add("/a", 2, Persistent)
	expect(t, m, changed, "/a", "1:NodeDataChanged /a, 2:NodeDataChanged /a")
	expect(t, m, changed, "/a", "2:NodeDataChanged /a")
}

func TestDeleteNotifiesOncePerWatcher(t *testing.T) {
	m := New()
	m.Add("/a", 1, Data)
	m.Add("/a", 1, Child)
	m.Add("/a", 2, Child)
	m.Add("/", 1, PersistentRecursive)
	expect(t, m, deleted, "/a", "1:NodeDeleted /a, 2:NodeDeleted /a")
	// Both one-shot watches of watcher 1 were consumed, the recursive one stays.
	data, exist, child, _, rec := m.PathsOf(1)
	if len(data)+len(exist)+len(child) != 0 || !slices.Equal(rec, []string{"/"}) {
		t.Errorf("PathsOf(1) = %v %v %v rec=%v", data, exist, child, rec)
	}
}

func TestPersistentSurvivesDelete(t *testing.T) {
	m := New()
	m.Add("/a", 1, Persistent)
	expect(t, m, deleted, "/a", "1:NodeDeleted /a")
	expect(t, m, created, "/a", "1:NodeCreated /a")
	expect(t, m, children, "/a", "1:NodeChildrenChanged /a")
}

func TestRecursiveOnAncestors(t *testing.T) {
	m := New()
	m.Add("/", 1, PersistentRecursive)
	m.Add("/a", 2, PersistentRecursive)
	m.Add("/a/b", 3, PersistentRecursive)
	m.Add("/ab", 4, PersistentRecursive) // a string prefix, not an ancestor
	expect(t, m, created, "/a/b/c", "1:NodeCreated /a/b/c, 2:NodeCreated /a/b/c, 3:NodeCreated /a/b/c")
	expect(t, m, changed, "/a/b", "1:NodeDataChanged /a/b, 2:NodeDataChanged /a/b, 3:NodeDataChanged /a/b")
	expect(t, m, deleted, "/a", "1:NodeDeleted /a, 2:NodeDeleted /a")
	expect(t, m, changed, "/", "1:NodeDataChanged /")
	expect(t, m, children, "/a", "")
	expect(t, m, children, "/", "")
}

func TestSortedAndDeduplicated(t *testing.T) {
	m := New()
	for _, w := range []WatcherID{9, 3, 7, 1} {
		m.Add("/x", w, Exist)
		m.Add("/", w, PersistentRecursive)
	}
	expect(t, m, created, "/x", "1:NodeCreated /x, 3:NodeCreated /x, 7:NodeCreated /x, 9:NodeCreated /x")
}

func TestDowngrade(t *testing.T) {
	m := New()
	m.Add("/a", 1, Persistent)
	m.Add("/a", 1, Data) // replaces the data-table entry only
	expect(t, m, changed, "/a", "1:NodeDataChanged /a")
	expect(t, m, changed, "/a", "") // the data side was one-shot now
	expect(t, m, children, "/a", "1:NodeChildrenChanged /a")
	expect(t, m, children, "/a", "1:NodeChildrenChanged /a") // child side still persistent

	m = New()
	m.Add("/a", 1, PersistentRecursive)
	m.Add("/a", 1, Exist)
	expect(t, m, created, "/a/b", "") // no longer recursive on the data table
	expect(t, m, created, "/a", "1:NodeCreated /a")
	expect(t, m, created, "/a", "")

	// And the other way: a persistent registration upgrades a one-shot one.
	m = New()
	m.Add("/a", 1, Data)
	m.Add("/a", 1, PersistentRecursive)
	expect(t, m, changed, "/a/b", "1:NodeDataChanged /a/b")
	expect(t, m, changed, "/a", "1:NodeDataChanged /a")
	expect(t, m, changed, "/a", "1:NodeDataChanged /a")
}

func TestRemoveAndHas(t *testing.T) {
	type tc struct {
		kinds []Kind
		wt    jute.WatcherType
		want  bool
		left  string // what of w1 still fires: NodeChildrenChanged ("ch"), then NodeDeleted ("del")
	}
	cases := []tc{
		{[]Kind{Data}, jute.WatcherData, true, ""},
		{[]Kind{Exist}, jute.WatcherData, true, ""},
		{[]Kind{Data}, jute.WatcherChildren, false, "del"},
		{[]Kind{Child}, jute.WatcherChildren, true, ""},
		{[]Kind{Child}, jute.WatcherData, false, "ch"},
		{[]Kind{Data, Child}, jute.WatcherAny, true, ""},
		{[]Kind{Data, Child}, jute.WatcherData, true, "ch"},
		{[]Kind{Persistent}, jute.WatcherData, true, "ch,del"}, // 3.8: child side remains
		{[]Kind{Persistent}, jute.WatcherChildren, true, "del"},
		{[]Kind{Persistent}, jute.WatcherAny, true, ""},
		{[]Kind{Persistent}, jute.WatcherPersistent, true, ""},
		{[]Kind{Persistent}, jute.WatcherPersistentRecursive, false, "ch,del"},
		{[]Kind{PersistentRecursive}, jute.WatcherPersistentRecursive, true, ""},
		{[]Kind{PersistentRecursive}, jute.WatcherPersistent, false, "del"},
		{[]Kind{PersistentRecursive}, jute.WatcherAny, true, ""},
		{[]Kind{Data}, jute.WatcherPersistent, false, "del"},
		{[]Kind{Data}, jute.WatcherType(0), false, "del"},
		{[]Kind{Data}, jute.WatcherType(9), false, "del"},
		{nil, jute.WatcherAny, false, ""},
		{nil, jute.WatcherData, false, ""},
		{nil, jute.WatcherChildren, false, ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d:%v/%d", i, c.kinds, c.wt), func(t *testing.T) {
			m := New()
			for _, k := range c.kinds {
				m.Add("/a", 1, k)
			}
			m.Add("/a", 2, Child) // another watcher is never touched
			if got := m.Has("/a", 1, c.wt); got != c.want {
				t.Errorf("Has = %v, want %v", got, c.want)
			}
			if got := m.Remove("/a", 1, c.wt); got != c.want {
				t.Errorf("Remove = %v, want %v", got, c.want)
			}
			if m.Has("/a", 1, c.wt) {
				t.Error("Has after Remove")
			}
			if m.Remove("/a", 1, c.wt) {
				t.Error("second Remove succeeded")
			}
			var left []string
			if slices.ContainsFunc(m.Trigger(children, "/a"), func(f Fire) bool { return f.W == 1 }) {
				left = append(left, "ch")
			}
			if slices.ContainsFunc(m.Trigger(deleted, "/a"), func(f Fire) bool { return f.W == 1 }) {
				left = append(left, "del")
			}
			slices.Sort(left)
			if got := strings.Join(left, ","); got != c.left {
				t.Errorf("left firing %q, want %q", got, c.left)
			}
		})
	}
}

func TestRemoveWatcher(t *testing.T) {
	m := New()
	m.Add("/a", 1, Data)
	m.Add("/a", 1, Child)
	m.Add("/", 1, PersistentRecursive)
	m.Add("/b", 1, Persistent)
	m.Add("/a", 2, Exist)
	m.RemoveWatcher(1)
	m.RemoveWatcher(42) // unknown: no-op
	expect(t, m, deleted, "/a", "2:NodeDeleted /a")
	expect(t, m, created, "/b/c", "")
	expect(t, m, children, "/b", "")
	if c, p, n := m.Summary(); c != 0 || p != 0 || n != 0 {
		t.Errorf("Summary = %d %d %d, want empty", c, p, n)
	}
}

func TestPathsOfAndSummaries(t *testing.T) {
	m := New()
	m.Add("/d2", 1, Data)
	m.Add("/d1", 1, Data)
	m.Add("/e", 1, Exist)
	m.Add("/c", 1, Child)
	m.Add("/d1", 1, Child) // data and child on one path
	m.Add("/p", 1, Persistent)
	m.Add("/r", 1, PersistentRecursive)
	m.Add("/c", 2, Child)
	data, exist, child, pers, rec := m.PathsOf(1)
	got := fmt.Sprint(data, exist, child, pers, rec)
	if want := "[/d1 /d2] [/e] [/c /d1] [/p] [/r]"; got != want {
		t.Errorf("PathsOf = %s, want %s", got, want)
	}
	if c, p, n := m.Summary(); c != 2 || p != 6 || n != 7 {
		t.Errorf("Summary = %d %d %d, want 2 6 7", c, p, n)
	}
	if got := fmt.Sprint(m.ByPath()["/c"]); got != "[1 2]" {
		t.Errorf("ByPath[/c] = %s", got)
	}
	if got := fmt.Sprint(m.ByWatcher()[1]); got != "[/c /d1 /d2 /e /p /r]" {
		t.Errorf("ByWatcher[1] = %s", got)
	}
	if s := m.String(); s != "watches(2 connections, 6 paths, 7 total)" {
		t.Errorf("String = %q", s)
	}
}

func TestTriggerPanicsOnClientEvent(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	New().Trigger(jute.EventDataWatchRemoved, "/a")
}

func TestParent(t *testing.T) {
	for in, want := range map[string]string{"/a": "/", "/a/b": "/a", "/a/b/c": "/a/b"} {
		if got, ok := parent(in); !ok || got != want {
			t.Errorf("parent(%s) = %s %v", in, got, ok)
		}
	}
	if _, ok := parent("/"); ok {
		t.Error("parent(/) exists")
	}
}

// BenchmarkTrigger: 100k one-shot-free persistent watches on distinct paths
// plus 1k recursive watches; each op is a data change deep in the tree.
func BenchmarkTrigger(b *testing.B) {
	m := New()
	for i := range 100000 {
		m.Add(fmt.Sprintf("/app/n%d/leaf%d", i%1000, i), WatcherID(i%500), Persistent)
	}
	for i := range 1000 {
		m.Add(fmt.Sprintf("/app/n%d", i), WatcherID(1000+i), PersistentRecursive)
	}
	paths := make([]string, 1024)
	for i := range paths {
		paths[i] = fmt.Sprintf("/app/n%d/leaf%d", i%1000, i*97%100000)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Trigger(changed, paths[i%len(paths)])
	}
}
