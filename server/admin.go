package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/store"
	"github.com/zabkeeper/zabkeeper/tree"
)

// SnapshotPath is where the admin server streams a snapshot file.
const SnapshotPath = "/commands/snapshot"

// startAdmin serves the admin HTTP endpoints: a point-in-time snapshot
// (for `zabkeeper snapshot save`) and Prometheus metrics. It binds to
// 127.0.0.1 by default, since a snapshot holds every znode whatever its ACL.
func (s *Server) startAdmin() error {
	mux := http.NewServeMux()
	mux.HandleFunc(SnapshotPath, s.serveSnapshot)
	mux.Handle("/metrics", promhttp.HandlerFor(s.metricsRegistry(), promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "zabkeeper %s admin: %s (snapshot file), /metrics (Prometheus), /debug/pprof/ (profiles)\n", Version, SnapshotPath)
	})
	listen := func(port int) (net.Listener, error) {
		return net.Listen("tcp", net.JoinHostPort(s.cfg.AdminAddress, strconv.Itoa(port)))
	}
	if s.cfg.AdminEnabled {
		ln, err := listen(s.cfg.AdminPort)
		if err != nil {
			return fmt.Errorf("admin server (admin.serverPort): %w", err)
		}
		s.adminLn = ln
		s.serveHTTP(ln, mux)
	}
	if s.cfg.MetricsPort != 0 {
		ln, err := listen(s.cfg.MetricsPort)
		if err != nil {
			return fmt.Errorf("metrics port: %w", err)
		}
		s.metricsLn = ln
		s.serveHTTP(ln, mux)
	}
	return nil
}

func (s *Server) serveHTTP(ln net.Listener, h http.Handler) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !s.closed.Load() {
			s.log.Warn("admin server stopped", zap.Error(err))
		}
	}()
	go func() {
		defer s.wg.Done()
		<-s.closing
		hs.Close()
	}()
}

// AdminAddr is the admin server's address, nil when it is off.
func (s *Server) AdminAddr() net.Addr {
	if s.adminLn == nil {
		return nil
	}
	return s.adminLn.Addr()
}

// serveSnapshot streams a snapshot file of the tree as it is now; writes go
// on meanwhile (the snapshot is copy-on-write).
func (s *Server) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	err := s.withSnapshot(func(snap *tree.Snapshot) error {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Zabkeeper-Zxid", snap.Zxid().String())
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(s.streamSnapshot(snap, pw)) }()
		_, err := store.WriteSnapshotFile(w, snap.Zxid(), pr)
		pr.CloseWithError(err)
		return err
	})
	if err != nil {
		s.log.Warn("snapshot download failed", zap.String("remote", r.RemoteAddr), zap.Error(err))
		return
	}
	s.log.Info("snapshot downloaded", zap.String("remote", r.RemoteAddr))
}

// metricsRegistry exposes the mntr figures to Prometheus.
func (s *Server) metricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "zabkeeper", Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "zabkeeper", Name: name, Help: help}, f))
	}
	gauge("znode_count", "znodes in the tree", func() float64 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return float64(s.tree.NodeCount())
	})
	gauge("approximate_data_size_bytes", "bytes of paths and data in the tree", func() float64 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return float64(s.tree.ApproxDataSize())
	})
	gauge("sessions", "live sessions in the ensemble", func() float64 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return float64(len(s.tree.Sessions()))
	})
	gauge("watches", "watches registered on this member", func() float64 {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		_, _, n := s.watches.Summary()
		return float64(n)
	})
	gauge("connections", "client connections", func() float64 { return float64(s.stats.connections.Load()) })
	gauge("outstanding_requests", "requests waiting for a reply", func() float64 { return float64(s.outstanding()) })
	gauge("last_zxid", "zxid of the last applied txn", func() float64 { return float64(s.lastZxid()) })
	gauge("serving", "1 while this member serves clients", func() float64 {
		if s.serving() {
			return 1
		}
		return 0
	})
	gauge("is_leader", "1 on the leader (and a standalone member)", func() float64 {
		if s.decides() {
			return 1
		}
		return 0
	})
	counter("packets_received_total", "client packets received", func() float64 { return float64(s.stats.packetsRecv.Load()) })
	counter("packets_sent_total", "client packets sent", func() float64 { return float64(s.stats.packetsSent.Load()) })
	counter("txns_applied_total", "txns applied to the tree", func() float64 { return float64(s.stats.txns.Load()) })
	counter("notifications_total", "watch notifications sent", func() float64 { return float64(s.stats.notifications.Load()) })
	gauge("avg_latency_ms", "mean request latency since the last srst", func() float64 {
		_, avg, _ := s.stats.latencies()
		return avg
	})
	return reg
}
