package client

import (
	"context"
	"errors"
	"sync"

	"github.com/zabkeeper/zabkeeper/jute"
)

// watchKind is the client-side table a one-shot watch lives in; it decides
// which setWatches list re-registers it and which events fire it.
type watchKind int

const (
	kindData  watchKind = iota // getData, or exists on an existing node
	kindExist                  // exists on a missing node
	kindChild                  // getChildren
)

type watchKey struct {
	path string // server path, chroot included
	kind watchKind
}

// watches is the client's registry. Its lock is never held while sending.
type watches struct {
	mu         sync.Mutex
	oneShot    map[watchKey][]chan Event
	persistent map[string][]*Watcher
	recursive  map[string][]*Watcher
}

func newWatches() *watches {
	return &watches{
		oneShot:    map[watchKey][]chan Event{},
		persistent: map[string][]*Watcher{},
		recursive:  map[string][]*Watcher{},
	}
}

// addOneShot registers ch; called from the reader when the reply that set
// the server-side watch arrives, so no later event can overtake it.
func (w *watches) addOneShot(k watchKey, ch chan Event) {
	w.mu.Lock()
	w.oneShot[k] = append(w.oneShot[k], ch)
	w.mu.Unlock()
}

func (w *watches) addPersistent(pw *Watcher) {
	w.mu.Lock()
	if pw.recursive {
		w.recursive[pw.path] = append(w.recursive[pw.path], pw)
	} else {
		w.persistent[pw.path] = append(w.persistent[pw.path], pw)
	}
	w.mu.Unlock()
}

// removePersistent drops pw and reports whether any watch of any kind is
// left on its path (then the server-side watch must stay).
func (w *watches) removePersistent(pw *Watcher) (othersLeft bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.persistent
	if pw.recursive {
		m = w.recursive
	}
	list := m[pw.path]
	for i, x := range list {
		if x == pw {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(m, pw.path)
	} else {
		m[pw.path] = list
	}
	if len(w.persistent[pw.path])+len(w.recursive[pw.path]) > 0 {
		return true
	}
	for k := range w.oneShot {
		if k.path == pw.path {
			return true
		}
	}
	return false
}

// kindsFor lists the one-shot tables an event type fires.
func kindsFor(t jute.EventType) []watchKind {
	switch t {
	case jute.EventNodeCreated, jute.EventNodeDataChanged:
		return []watchKind{kindData, kindExist}
	case jute.EventNodeDeleted:
		return []watchKind{kindData, kindExist, kindChild}
	case jute.EventNodeChildrenChanged:
		return []watchKind{kindChild}
	}
	return nil
}

// dispatch delivers one server notification; ev.Path is already stripped of
// the chroot, serverPath is not.
func (w *watches) dispatch(serverPath string, ev Event) {
	var fire []chan Event
	var streams []*Watcher
	w.mu.Lock()
	for _, k := range kindsFor(ev.Type) {
		key := watchKey{serverPath, k}
		fire = append(fire, w.oneShot[key]...)
		delete(w.oneShot, key)
	}
	streams = append(streams, w.persistent[serverPath]...)
	if ev.Type != jute.EventNodeChildrenChanged {
		for p := serverPath; ; p = parentOf(p) {
			streams = append(streams, w.recursive[p]...)
			if p == "/" {
				break
			}
		}
	}
	w.mu.Unlock()
	for _, ch := range fire {
		ch <- ev
		close(ch)
	}
	for _, s := range streams {
		s.push(ev)
	}
}

// removeLocal ends the local watches a successful removeWatches dropped.
func (w *watches) removeLocal(serverPath, clientPath string, t jute.WatcherType) {
	var kinds []watchKind
	switch t {
	case jute.WatcherData:
		kinds = []watchKind{kindData, kindExist}
	case jute.WatcherChildren:
		kinds = []watchKind{kindChild}
	case jute.WatcherAny:
		kinds = []watchKind{kindData, kindExist, kindChild}
	}
	var ended []*Watcher
	w.mu.Lock()
	for _, k := range kinds {
		key := watchKey{serverPath, k}
		typ := jute.EventDataWatchRemoved
		if k == kindChild {
			typ = jute.EventChildWatchRemoved
		}
		for _, ch := range w.oneShot[key] {
			ch <- Event{Type: typ, Path: clientPath, Zxid: -1}
			close(ch)
		}
		delete(w.oneShot, key)
	}
	if t == jute.WatcherPersistent || t == jute.WatcherAny {
		ended = append(ended, w.persistent[serverPath]...)
		delete(w.persistent, serverPath)
	}
	if t == jute.WatcherPersistentRecursive || t == jute.WatcherAny {
		ended = append(ended, w.recursive[serverPath]...)
		delete(w.recursive, serverPath)
	}
	w.mu.Unlock()
	for _, s := range ended {
		s.push(Event{Type: jute.EventPersistentWatchRemoved, Path: clientPath, Zxid: -1})
		s.end(nil)
	}
}

// failAll ends every watch with err: the session is over.
func (w *watches) failAll(err error) {
	w.mu.Lock()
	one, p, r := w.oneShot, w.persistent, w.recursive
	w.oneShot, w.persistent, w.recursive = map[watchKey][]chan Event{}, map[string][]*Watcher{}, map[string][]*Watcher{}
	w.mu.Unlock()
	for _, chs := range one {
		for _, ch := range chs {
			ch <- Event{Type: jute.EventNone, Zxid: -1, Err: err}
			close(ch)
		}
	}
	for _, m := range []map[string][]*Watcher{p, r} {
		for _, list := range m {
			for _, s := range list {
				s.end(err)
			}
		}
	}
}

// setWatchesMax is the Java client's per-packet budget of path bytes.
const setWatchesMax = 128 * 1024

// resendRecords builds the setWatches/setWatches2 packets that re-register
// every watch after a reconnect, split so each stays under setWatchesMax.
func (w *watches) resendRecords(rel int64) (op jute.OpCode, recs []*jute.SetWatches2) {
	w.mu.Lock()
	defer w.mu.Unlock()
	op = jute.OpSetWatches
	if len(w.persistent)+len(w.recursive) > 0 {
		op = jute.OpSetWatches2
	}
	cur, size := &jute.SetWatches2{}, 0
	add := func(list *[]string, p string) {
		if size+len(p) > setWatchesMax && size > 0 {
			recs = append(recs, cur)
			cur, size = &jute.SetWatches2{}, 0
		}
		*list = append(*list, p)
		size += len(p)
	}
	for k := range w.oneShot {
		switch k.kind {
		case kindData:
			add(&cur.DataWatches, k.path)
		case kindExist:
			add(&cur.ExistWatches, k.path)
		case kindChild:
			add(&cur.ChildWatches, k.path)
		}
	}
	for p := range w.persistent {
		add(&cur.PersistentWatches, p)
	}
	for p := range w.recursive {
		add(&cur.PersistentRecursiveWatches, p)
	}
	if size > 0 {
		recs = append(recs, cur)
	}
	for _, r := range recs {
		r.RelativeZxid = zxidOf(rel)
	}
	return op, recs
}

func parentOf(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}

// Watcher is a persistent (or persistent recursive) watch: a stream of
// events that stays registered, across reconnects, until Close or the end
// of the session.
type Watcher struct {
	c         *Client
	path      string // server path
	recursive bool
	out       chan Event
	wake      chan struct{}
	stop      chan struct{}
	stopOnce  sync.Once

	mu    sync.Mutex
	queue []Event
	ended bool
	final error
}

func newWatcher(c *Client, serverPath string, recursive bool) *Watcher {
	w := &Watcher{c: c, path: serverPath, recursive: recursive,
		out: make(chan Event), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	go w.pump()
	return w
}

// Events is the stream. It is closed after Close, or after a last Event with
// Err set when the session ends. Events queue without bound, so a slow
// reader never stalls the connection. A caller that stops reading before the
// stream closes must call Close, which releases the goroutine feeding it.
func (w *Watcher) Events() <-chan Event { return w.out }

func (w *Watcher) push(ev Event) {
	w.mu.Lock()
	if !w.ended {
		w.queue = append(w.queue, ev)
	}
	w.mu.Unlock()
	w.signal()
}

func (w *Watcher) end(err error) {
	w.mu.Lock()
	if !w.ended {
		w.ended, w.final = true, err
	}
	w.mu.Unlock()
	w.signal()
}

func (w *Watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// pump moves queued events to the unbuffered out channel.
func (w *Watcher) pump() {
	defer close(w.out)
	for {
		w.mu.Lock()
		var next *Event
		if len(w.queue) > 0 {
			ev := w.queue[0]
			w.queue = w.queue[1:]
			next = &ev
		} else if w.ended {
			if w.final != nil {
				next = &Event{Type: jute.EventNone, Path: w.c.clientPath(w.path), Zxid: -1, Err: w.final}
				w.final = nil
			} else {
				w.mu.Unlock()
				return
			}
		}
		w.mu.Unlock()
		if next == nil {
			select {
			case <-w.wake:
			case <-w.stop:
				return
			}
			continue
		}
		select {
		case w.out <- *next:
		case <-w.stop:
			return
		}
	}
}

// Close removes the watch: locally at once, and on the server (removeWatches)
// unless another watch of this client still needs that path.
func (w *Watcher) Close() error {
	first := false
	w.stopOnce.Do(func() { first = true; close(w.stop) })
	if !first {
		return nil
	}
	w.end(nil)
	if w.c.watches.removePersistent(w) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.c.cfg.sessionTimeout)
	defer cancel()
	err := w.c.do(ctx, jute.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: w.path, Type: jute.WatcherAny}, nil, nil)
	if err == nil || errors.Is(err, jute.ErrNoWatcher) || !w.c.alive() {
		return nil
	}
	return err
}
