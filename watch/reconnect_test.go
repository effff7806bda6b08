package watch

import (
	"fmt"
	"testing"
)

func TestReconnectTable78(t *testing.T) {
	const rel = 100
	tree := map[string]NodeState{
		"/same":     {Exists: true, Mzxid: 50, Pzxid: 60},
		"/changed":  {Exists: true, Mzxid: 101, Pzxid: 60},
		"/kids":     {Exists: true, Mzxid: 50, Pzxid: 150},
		"/boundary": {Exists: true, Mzxid: 100, Pzxid: 100}, // == rel: nothing missed
	}
	lookup := func(p string) NodeState { return tree[p] }
	sw := SetWatches{
		Data:                []string{"/same", "/changed", "/gone", "/kids", "/boundary"},
		Exist:               []string{"/same", "/gone"},
		Child:               []string{"/same", "/kids", "/gone", "/changed", "/boundary"},
		Persistent:          []string{"/gone", "/same"},
		PersistentRecursive: []string{"/"},
	}
	fire, reg := Reconnect(rel, lookup, sw)
	wantFire := "[0:NodeDataChanged /changed 0:NodeDeleted /gone 0:NodeCreated /same " +
		"0:NodeChildrenChanged /kids 0:NodeDeleted /gone]"
	if got := fmt.Sprint(fire); got != wantFire {
		t.Errorf("fire = %s\nwant   %s", got, wantFire)
	}
	wantReg := "[data /same data /kids data /boundary exist /gone child /same child /changed " +
		"child /boundary persistent /gone persistent /same recursive /]"
	if got := fmt.Sprint(reg); got != wantReg {
		t.Errorf("reg = %s\nwant  %s", got, wantReg)
	}
}

func TestReconnectThenRegister(t *testing.T) {
	m := New()
	_, reg := Reconnect(0, func(string) NodeState { return NodeState{} }, SetWatches{Exist: []string{"/x"}})
	for _, r := range reg {
		m.Add(r.Path, 5, r.Kind)
	}
	expect(t, m, created, "/x", "5:NodeCreated /x")
}

func TestReconnectEmpty(t *testing.T) {
	fire, reg := Reconnect(0, func(string) NodeState { panic("no lookup expected") }, SetWatches{})
	if fire != nil || reg != nil {
		t.Fatalf("got %v %v", fire, reg)
	}
	if s := (SetWatches{Data: []string{"/a"}}).String(); s != "setWatches(data=1 exist=0 child=0 persistent=0 recursive=0)" {
		t.Errorf("String = %q", s)
	}
}
