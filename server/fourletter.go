package server

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/jute"
	"github.com/zabkeeper/zabkeeper/watch"
)

// fourLetterWord answers a four-letter word in ZooKeeper's text formats and
// closes the connection (protocol §12).
func (c *conn) fourLetterWord(cmd string, r *bufio.Reader) {
	s := c.s
	defer c.flushAndClose()
	if cmd == "stmk" {
		io.ReadFull(r, make([]byte, 8)) // the trace mask; zabkeeper has none to set
	}
	if !s.cfg.FourLetterWordAllowed(cmd) {
		c.log.Info("four-letter word refused by 4lw.commands.whitelist", zap.String("cmd", cmd))
		c.send([]byte(cmd + " is not executed because it is not in the whitelist.\n"))
		return
	}
	c.log.Debug("four-letter word", zap.String("cmd", cmd))
	var b strings.Builder
	if !s.serving() && cmd != "ruok" && cmd != "isro" && cmd != "conf" && cmd != "envi" {
		c.send([]byte("This ZooKeeper instance is not currently serving requests\n"))
		return
	}
	switch cmd {
	case "ruok":
		b.WriteString("imok")
	case "isro":
		b.WriteString("rw")
	case "srvr":
		s.writeSrvr(&b, false)
	case "stat":
		s.writeSrvr(&b, true)
	case "cons":
		s.writeCons(&b, c)
	case "mntr":
		s.writeMntr(&b)
	case "conf":
		b.WriteString(s.cfg.String())
	case "envi":
		s.writeEnvi(&b)
	case "crst":
		s.eachConn(func(c *conn) { c.stats.reset() })
		b.WriteString("Connection stats reset.\n")
	case "srst":
		s.stats.reset()
		b.WriteString("Server stats reset.\n")
	case "wchs":
		s.wmu.Lock()
		conns, paths, total := s.watches.Summary()
		s.wmu.Unlock()
		fmt.Fprintf(&b, "%d connections watching %d paths\nTotal watches:%d\n", conns, paths, total)
	case "wchc":
		s.writeWatchesBySession(&b)
	case "wchp":
		s.writeWatchesByPath(&b)
	case "dump":
		s.writeDump(&b)
	case "dirs":
		fmt.Fprintf(&b, "datadir_size: %d\nlogdir_size: %d\n", dirSize(s.cfg.DataDir), dirSize(s.cfg.DataLogDir))
	case "gtmk":
		b.WriteString("0\n")
	case "stmk":
		b.WriteString("0\n")
	case "hash":
		s.mu.RLock()
		fmt.Fprintf(&b, "%s: %d\n", s.tree.LastZxid(), s.tree.Digest())
		s.mu.RUnlock()
	}
	c.send([]byte(b.String()))
}

// writeSrvr prints srvr (or stat, with the client list) in the exact line
// order go-zookeeper's FLWSrvr and zkServer.sh status parse.
func (s *Server) writeSrvr(b *strings.Builder, withClients bool) {
	fmt.Fprintf(b, "Zookeeper version: %s, built on %s\n", Version, BuildDate)
	if withClients {
		b.WriteString("Clients:\n")
		s.eachConn(func(c *conn) { c.writeConsLine(b, false) })
		b.WriteString("\n")
	}
	mn, avg, mx := s.stats.latencies()
	fmt.Fprintf(b, "Latency min/avg/max: %d/%.4f/%d\n", int64(mn), avg, int64(mx))
	fmt.Fprintf(b, "Received: %d\n", s.stats.packetsRecv.Load())
	fmt.Fprintf(b, "Sent: %d\n", s.stats.packetsSent.Load())
	fmt.Fprintf(b, "Connections: %d\n", s.stats.connections.Load())
	fmt.Fprintf(b, "Outstanding: %d\n", s.outstanding())
	s.mu.RLock()
	z, nodes := s.tree.LastZxid(), s.tree.NodeCount()
	s.mu.RUnlock()
	fmt.Fprintf(b, "Zxid: %s\n", z)
	fmt.Fprintf(b, "Mode: %s\n", s.repl.mode())
	fmt.Fprintf(b, "Node count: %d\n", nodes)
}

// writeCons lists the client connections, leaving out the one asking:
// go-zookeeper's FLWCons fails on any line without a session.
// Only connections with a session are listed: a connection still in its
// handshake, or one that answered a four-letter word and is closing, has no
// session fields, and go-zookeeper's FLWCons rejects such lines.
func (s *Server) writeCons(b *strings.Builder, asking *conn) {
	s.eachConn(func(c *conn) {
		if c != asking && c.sessionID() != 0 {
			c.writeConsLine(b, true)
		}
	})
	b.WriteString("\n")
}

// writeConsLine prints one connection as ZooKeeper's cons does (§12.3).
func (c *conn) writeConsLine(b *strings.Builder, full bool) {
	c.mu.Lock()
	queued, sid, to := len(c.pending), c.sid, c.timeout
	c.mu.Unlock()
	st := &c.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	fmt.Fprintf(b, " /%s[1](queued=%d,recved=%d,sent=%d", c.nc.RemoteAddr(), queued, st.recv, st.sent)
	if full && sid != 0 {
		avg := int64(0)
		if st.count > 0 {
			avg = (st.sumLat / time.Duration(st.count)).Milliseconds()
		}
		// go-zookeeper's FLWCons parses est and lresp as unsigned decimals:
		// a zero time must print as 0, not as a negative Unix time.
		fmt.Fprintf(b, ",sid=0x%x,lop=%s,est=%d,to=%d,lcxid=0x%x,lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
			uint64(sid), lastOpName(st.lastOp), unixMs(st.est), to.Milliseconds(), uint32(st.cxid), uint64(c.s.lastZxid()),
			unixMs(st.resp), st.lastLat.Milliseconds(), st.minLat.Milliseconds(), avg, st.maxLat.Milliseconds())
	}
	b.WriteString(")\n")
}

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// lastOpName uses ZooKeeper's four-letter op abbreviations.
func lastOpName(op jute.OpCode) string {
	names := map[jute.OpCode]string{
		jute.OpCreate: "CREA", jute.OpCreate2: "CREA", jute.OpCreateContainer: "CREA", jute.OpCreateTTL: "CREA",
		jute.OpDelete: "DELE", jute.OpExists: "EXIS", jute.OpGetData: "GETD", jute.OpSetData: "SETD",
		jute.OpGetACL: "GACL", jute.OpSetACL: "SACL", jute.OpGetChildren: "GETC", jute.OpGetChildren2: "GETC",
		jute.OpSync: "SYNC", jute.OpPing: "PING", jute.OpMulti: "MULT", jute.OpMultiRead: "MLTR",
		jute.OpCloseSession: "CLOS", jute.OpSetWatches: "SETW", jute.OpSetWatches2: "STW2",
		jute.OpAddWatch: "ADDW", jute.OpAuth: "AUTH", jute.OpWhoAmI: "HOMI",
	}
	if n, ok := names[op]; ok {
		return n
	}
	return "NA"
}

func (s *Server) writeMntr(b *strings.Builder) {
	mn, avg, mx := s.stats.latencies()
	s.mu.RLock()
	nodes, size, eph := s.tree.NodeCount(), s.tree.ApproxDataSize(), s.tree.EphemeralCount()
	sessions := len(s.tree.Sessions())
	s.mu.RUnlock()
	s.wmu.Lock()
	_, _, watches := s.watches.Summary()
	s.wmu.Unlock()
	kv := func(k string, v any) { fmt.Fprintf(b, "zk_%s\t%v\n", k, v) }
	kv("version", Version+", built on "+BuildDate)
	kv("server_state", s.repl.mode())
	kv("avg_latency", fmt.Sprintf("%.4f", avg))
	kv("max_latency", int64(mx))
	kv("min_latency", int64(mn))
	kv("packets_received", s.stats.packetsRecv.Load())
	kv("packets_sent", s.stats.packetsSent.Load())
	kv("num_alive_connections", s.stats.connections.Load())
	kv("outstanding_requests", s.outstanding())
	kv("znode_count", nodes)
	kv("watch_count", watches)
	kv("ephemerals_count", eph)
	kv("approximate_data_size", size)
	kv("global_sessions", sessions)
	kv("local_sessions", 0)
	kv("uptime", time.Since(s.start).Milliseconds())
	kv("txns_applied", s.stats.txns.Load())
	if open, maxFD, ok := fileDescriptors(); ok {
		kv("open_file_descriptor_count", open)
		kv("max_file_descriptor_count", maxFD)
	}
	if ms, ok := s.repl.(interface{ followerStats() (int, int, int) }); ok {
		f, synced, pending := ms.followerStats()
		kv("followers", f)
		kv("synced_followers", synced)
		kv("pending_syncs", pending)
	}
}

func (s *Server) writeEnvi(b *strings.Builder) {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	b.WriteString("Environment:\n")
	kv := func(k, v string) { fmt.Fprintf(b, "%s=%s\n", k, v) }
	kv("zookeeper.version", Version+", built on "+BuildDate)
	kv("host.name", host)
	kv("go.version", runtime.Version())
	kv("os.name", runtime.GOOS)
	kv("os.arch", runtime.GOARCH)
	kv("user.dir", wd)
	kv("os.cpus", fmt.Sprint(runtime.NumCPU()))
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	kv("os.memory.heap.inuse", fmt.Sprintf("%dMB", m.HeapInuse>>20))
	kv("os.memory.sys", fmt.Sprintf("%dMB", m.Sys>>20))
}

// writeWatchesBySession is wchc: each session, then its watched paths.
func (s *Server) writeWatchesBySession(b *strings.Builder) {
	s.wmu.Lock()
	byW := s.watches.ByWatcher()
	s.wmu.Unlock()
	ws := make([]uint64, 0, len(byW))
	for w := range byW {
		ws = append(ws, uint64(w))
	}
	slices.Sort(ws)
	for _, w := range ws {
		sid := int64(0)
		if c := s.connByID(w); c != nil {
			sid = c.sessionID()
		}
		fmt.Fprintf(b, "0x%x\n", uint64(sid))
		paths := byW[watch.WatcherID(w)]
		slices.Sort(paths)
		for _, p := range paths {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
}

// writeWatchesByPath is wchp: each path, then the sessions watching it.
func (s *Server) writeWatchesByPath(b *strings.Builder) {
	s.wmu.Lock()
	byP := s.watches.ByPath()
	s.wmu.Unlock()
	paths := make([]string, 0, len(byP))
	for p := range byP {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		fmt.Fprintf(b, "%s\n", p)
		for _, w := range byP[p] {
			sid := int64(0)
			if c := s.connByID(uint64(w)); c != nil {
				sid = c.sessionID()
			}
			fmt.Fprintf(b, "\t0x%x\n", uint64(sid))
		}
	}
}

// writeDump lists sessions by expiry bucket and the ephemerals of each.
func (s *Server) writeDump(b *strings.Builder) {
	s.smu.Lock()
	buckets := s.tracker.Buckets()
	n := s.tracker.Len()
	s.smu.Unlock()
	b.WriteString("SessionTracker dump:\n")
	fmt.Fprintf(b, "Session Sets (%d)/(%d):\n", len(buckets), n)
	for _, bk := range buckets {
		fmt.Fprintf(b, "%d expire at %s:\n", len(bk.IDs), time.UnixMilli(bk.ExpiresAt).UTC().Format(time.UnixDate))
		for _, id := range bk.IDs {
			fmt.Fprintf(b, "\t0x%x\n", uint64(id))
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var withEph []int64
	for _, si := range s.tree.Sessions() {
		if si.Ephemerals > 0 {
			withEph = append(withEph, si.ID)
		}
	}
	b.WriteString("ephemeral nodes dump:\n")
	fmt.Fprintf(b, "Sessions with Ephemerals (%d):\n", len(withEph))
	for _, id := range withEph {
		fmt.Fprintf(b, "0x%x:\n", uint64(id))
		for _, p := range s.tree.Ephemerals(id, "/") {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
}

func (s *Server) eachConn(f func(*conn)) {
	s.connsMu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		cs = append(cs, c)
	}
	s.connsMu.Unlock()
	slices.SortFunc(cs, func(a, b *conn) int { return int(a.id - b.id) })
	for _, c := range cs {
		f(c)
	}
}

// outstanding counts requests waiting for a reply on every connection.
func (s *Server) outstanding() int {
	n := 0
	s.eachConn(func(c *conn) {
		c.mu.Lock()
		n += len(c.pending)
		c.mu.Unlock()
	})
	return n
}
