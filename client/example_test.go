package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/client/recipe"
)

// Watches: a one-shot watch is a channel that gets exactly one event; a
// persistent recursive watch is a stream re-registered on every reconnect.
func Example_watches() {
	ctx := context.Background()
	c, err := client.Connect(ctx, []string{"127.0.0.1:2181", "127.0.0.1:2182", "127.0.0.1:2183"},
		client.WithSessionTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	data, _, changed, err := c.GetW(ctx, "/config")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("config is %q\n", data)
	ev := <-changed
	fmt.Println("config changed:", ev.Type, ev.Path)

	w, err := c.Watch(ctx, "/services", true)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	for ev := range w.Events() {
		fmt.Println(ev.Type, ev.Path, ev.Zxid)
	}
}

// Locks: the holder gets a fencing token (strictly increasing across
// holders) and a channel that closes if the lock is lost with the session.
func Example_lock() {
	ctx := context.Background()
	c, err := client.Connect(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	l := recipe.NewLock(c, "/locks/backup")
	if err := l.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	defer l.Unlock(ctx)
	fmt.Println("holding the lock with token", l.Token())
	select {
	case <-l.Lost():
		fmt.Println("lost the lock: stop writing")
	case <-time.After(time.Second): // the work
	}
}

// Election: Campaign returns once this process leads; Lost closes when it
// stops leading (its session ended).
func Example_election() {
	ctx := context.Background()
	c, err := client.Connect(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	e := recipe.NewElection(c, "/election/scheduler")
	if err := e.Campaign(ctx, "host-a"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("leading")
	<-e.Lost()
	fmt.Println("no longer leading")
}
