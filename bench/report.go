package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Result is the outcome of one run. Latencies cover successful requests
// sent and answered within the measured time, from send to reply.
type Result struct {
	Workload    Workload
	Client      Client
	Servers     []string
	Connections int
	Inflight    int
	ValueSize   int
	ReadRatio   float64
	Elapsed     time.Duration // measured time
	Reads       int64         // successful gets
	Writes      int64         // successful creates and sets
	Latency     *Histogram
	Errors      map[string]int64 // by kind: ZooKeeper code name or connection failure
	Failover    *FailoverResult  // nil unless the run killed the leader
}

// FailoverResult tells what the leader's kill cost. Times are from the
// start of the measured time.
type FailoverResult struct {
	Leader              Member
	KilledAt            time.Duration
	MaxWriteGap         time.Duration // longest time between two successful writes
	GapStart            time.Duration
	FirstWriteAfterKill time.Duration // from the kill; 0 if none
}

func (r *Result) fill(cfg Config, st *stats) {
	r.Workload, r.Client, r.Servers = cfg.Workload, cfg.Client, cfg.Servers
	r.Connections, r.Inflight, r.ValueSize = cfg.Connections, cfg.Inflight, cfg.ValueSize
	if cfg.Workload == Mixed {
		r.ReadRatio = cfg.ReadRatio
	}
	r.Reads, r.Writes, r.Latency, r.Errors = st.reads, st.writes, st.hist, st.errs
}

// Ops is the number of successful requests in the measured time.
func (r *Result) Ops() int64 { return r.Reads + r.Writes }

// OpsPerSec is the throughput of successful requests.
func (r *Result) OpsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops()) / r.Elapsed.Seconds()
}

// ErrorCount is the number of failed requests and connection failures.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

func (r *Result) String() string {
	return fmt.Sprintf("%s %dx%d: %.0f ops/s %s errors=%d", r.Workload, r.Connections, r.Inflight,
		r.OpsPerSec(), r.Latency, r.ErrorCount())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteText prints the result for people.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	wl := string(r.Workload)
	if r.Workload == Mixed {
		wl = fmt.Sprintf("mixed (%.0f%% reads)", 100*r.ReadRatio)
	}
	fmt.Fprintf(&b, "workload     %s, %d connections x %d in flight, %d-byte values, client %s\n",
		wl, r.Connections, r.Inflight, r.ValueSize, r.Client)
	fmt.Fprintf(&b, "servers      %s\n", strings.Join(r.Servers, ","))
	fmt.Fprintf(&b, "measured     %.1f s: %d ops (%d reads, %d writes)\n", r.Elapsed.Seconds(), r.Ops(), r.Reads, r.Writes)
	fmt.Fprintf(&b, "throughput   %.0f ops/s\n", r.OpsPerSec())
	fmt.Fprintf(&b, "latency ms   p50 %.3f  p99 %.3f  p99.9 %.3f  mean %.3f  max %.3f\n",
		ms(r.Latency.Quantile(0.5)), ms(r.Latency.Quantile(0.99)), ms(r.Latency.Quantile(0.999)),
		ms(r.Latency.Mean()), ms(r.Latency.Max()))
	fmt.Fprintf(&b, "errors       %d%s\n", r.ErrorCount(), errorList(r.Errors))
	if f := r.Failover; f != nil {
		fmt.Fprintf(&b, "failover     killed leader %s at %.2f s; longest write gap %.0f ms (from %.2f s); first write %.0f ms after the kill\n",
			f.Leader, f.KilledAt.Seconds(), ms(f.MaxWriteGap), f.GapStart.Seconds(), ms(f.FirstWriteAfterKill))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func errorList(errs map[string]int64) string {
	var kinds []string
	for k := range errs {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "; %s %d", k, errs[k])
	}
	return b.String()
}

// jsonResult is the stable JSON form: durations in milliseconds.
type jsonResult struct {
	Workload    Workload         `json:"workload"`
	Client      Client           `json:"client"`
	Servers     []string         `json:"servers"`
	Connections int              `json:"connections"`
	Inflight    int              `json:"inflight"`
	ValueSize   int              `json:"value_size"`
	ReadRatio   float64          `json:"read_ratio"`
	ElapsedS    float64          `json:"elapsed_s"`
	Ops         int64            `json:"ops"`
	Reads       int64            `json:"reads"`
	Writes      int64            `json:"writes"`
	OpsPerSec   float64          `json:"ops_per_sec"`
	LatencyMs   jsonLatency      `json:"latency_ms"`
	Errors      map[string]int64 `json:"errors"`
	Failover    *jsonFailover    `json:"failover,omitempty"`
}

type jsonLatency struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

type jsonFailover struct {
	LeaderID              int     `json:"leader_id"`
	LeaderAddr            string  `json:"leader_addr"`
	KilledAtS             float64 `json:"killed_at_s"`
	MaxWriteGapMs         float64 `json:"max_write_gap_ms"`
	GapStartS             float64 `json:"gap_start_s"`
	FirstWriteAfterKillMs float64 `json:"first_write_after_kill_ms"`
}

// WriteJSON prints the result as one JSON object.
func (r *Result) WriteJSON(w io.Writer) error {
	h := r.Latency
	j := jsonResult{Workload: r.Workload, Client: r.Client, Servers: r.Servers, Connections: r.Connections,
		Inflight: r.Inflight, ValueSize: r.ValueSize, ReadRatio: r.ReadRatio, ElapsedS: r.Elapsed.Seconds(),
		Ops: r.Ops(), Reads: r.Reads, Writes: r.Writes, OpsPerSec: r.OpsPerSec(),
		LatencyMs: jsonLatency{ms(h.Quantile(0.5)), ms(h.Quantile(0.99)), ms(h.Quantile(0.999)), ms(h.Mean()), ms(h.Max())},
		Errors:    r.Errors}
	if f := r.Failover; f != nil {
		j.Failover = &jsonFailover{f.Leader.ID, f.Leader.Addr, f.KilledAt.Seconds(), ms(f.MaxWriteGap),
			f.GapStart.Seconds(), ms(f.FirstWriteAfterKill)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}
