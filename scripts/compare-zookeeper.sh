#!/usr/bin/env bash
# Side-by-side benchmark of a 3-member Apache ZooKeeper 3.8 ensemble (Debian's
# package, default JVM settings, forceSync on) and a 3-member zabkeeper
# ensemble (three `zabkeeper server --config` processes), on this machine,
# one after the other, with the same `zabkeeper bench` workloads:
#   8 connections x 8 in flight sets and gets of 100-byte values spread over
#   the members, a lone client's set (1 x 1), and a failover run that kills
#   the leader with kill -9; then each member's VmRSS (read after the
#   throughput runs, before the failover run kills one of them).
# Prints a markdown table with ratios (zabkeeper/ZooKeeper) and writes it to --out.
#
# Usage: scripts/compare-zookeeper.sh [--out FILE] [--duration 10s] [--warmup 2s]
#        [--failover-duration 10s]
# Environment: ZABKEEPER_BIN (skip the build), ZK_BASE, ZB_BASE (default: the
#              first free of 24181, 25181, ...): each ensemble uses BASE..BASE+2
#              for clients, BASE+700.. for peers and BASE+1700.. for elections.
set -euo pipefail

OUT=compare-zookeeper.md
DURATION=10s
WARMUP=2s
FAILOVER_DURATION=10s
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT="$2"; shift 2 ;;
	--duration) DURATION="$2"; shift 2 ;;
	--warmup) WARMUP="$2"; shift 2 ;;
	--failover-duration) FAILOVER_DURATION="$2"; shift 2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
# free_base [SKIP]: the first base port whose nine ports nobody listens on.
free_base() {
	local base used
	used="$(ss -Hltn | awk '{ n = split($4, a, ":"); print a[n] }')"
	for base in $(seq 24181 1000 40181); do
		[ "$base" = "${1:-}" ] && continue
		local clash=0
		for off in 0 1 2 700 701 702 1700 1701 1702; do
			if grep -qx "$((base + off))" <<< "$used"; then clash=1; fi
		done
		[ "$clash" = 0 ] && { echo "$base"; return; }
	done
	echo "no free ports" >&2
	exit 1
}
ZK_BASE="${ZK_BASE:-$(free_base)}"
ZB_BASE="${ZB_BASE:-$(free_base "$ZK_BASE")}"
ZKSERVER=/usr/share/zookeeper/bin/zkServer.sh
repo="$(cd "$(dirname "$0")/.." && pwd)"

if [ ! -x "$ZKSERVER" ]; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y zookeeper
fi
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 2; }

work="$(mktemp -d /tmp/compare-zookeeper.XXXXXX)"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do { wait "$p"; } 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BIN="${ZABKEEPER_BIN:-}"
if [ -z "$BIN" ]; then
	BIN="$work/zabkeeper"
	(cd "$repo" && go build -o "$BIN" ./cmd/zabkeeper)
fi

# write_cfg DIR BASE ID: one member's zoo.cfg (identical keys for both systems).
write_cfg() {
	local dir="$1" base="$2" id="$3"
	mkdir -p "$dir/data"
	echo "$id" > "$dir/data/myid"
	cat > "$dir/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$((base + id - 1))
clientPortAddress=127.0.0.1
maxClientCnxns=0
forceSync=yes
4lw.commands.whitelist=srvr,ruok,mntr
admin.enableServer=false
server.1=127.0.0.1:$((base + 700)):$((base + 1700))
server.2=127.0.0.1:$((base + 701)):$((base + 1701))
server.3=127.0.0.1:$((base + 702)):$((base + 1702))
CFG
}

# mode PORT: the Mode line of srvr, empty when unreachable.
mode() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf srvr >&3 && grep '^Mode:' <&3 | cut -d' ' -f2) 2>/dev/null || true
}

# wait_serving BASE: until all three members lead or follow (60 s at most).
wait_serving() {
	local base="$1" ok
	for _ in $(seq 1 240); do
		ok=0
		for i in 0 1 2; do
			case "$(mode $((base + i)))" in leader|follower) ok=$((ok + 1)) ;; esac
		done
		[ "$ok" = 3 ] && return 0
		sleep 0.25
	done
	echo "ensemble on $base did not come up; logs in $work" >&2
	exit 1
}

# start_zk: three Java processes; start-foreground execs java, so $! is the JVM.
start_zk() {
	for id in 1 2 3; do
		local d="$work/zk/$id"
		write_cfg "$d" "$ZK_BASE" "$id"
		mkdir -p "$d/log"
		ZOO_LOG_DIR="$d/log" "$ZKSERVER" start-foreground "$d/zoo.cfg" > "$d/out.log" 2>&1 &
		PIDS+=($!)
		echo $! > "$work/zk/$id.pid"
	done
	wait_serving "$ZK_BASE"
}

start_zb() {
	for id in 1 2 3; do
		local d="$work/zb/$id"
		write_cfg "$d" "$ZB_BASE" "$id"
		"$BIN" server --config "$d/zoo.cfg" --log-level warn > "$d/out.log" 2>&1 &
		PIDS+=($!)
		echo $! > "$work/zb/$id.pid"
	done
	wait_serving "$ZB_BASE"
}

# stop SYS: kill -9 the ensemble's members that are still running.
stop() {
	for id in 1 2 3; do kill -9 "$(cat "$work/$1/$id.pid")" 2>/dev/null || true; done
	for id in 1 2 3; do { wait "$(cat "$work/$1/$id.pid")"; } 2>/dev/null || true; done
}

# rss SYS: each member's VmRSS in MB, space-separated.
rss() {
	for id in 1 2 3; do
		awk '/^VmRSS:/ { printf "%.1f ", $2 / 1024 }' "/proc/$(cat "$work/$1/$id.pid")/status"
	done
}

# run_all SYS BASE: every workload against one ensemble, JSON into $work/SYS-*.json.
run_all() {
	local sys="$1" base="$2"
	local servers="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
	local common=(--servers "$servers" --value-size 100 --warmup "$WARMUP" -o json)
	echo "== $sys: sets 8x8" >&2
	"$BIN" bench "${common[@]}" -w set -c 8 -i 8 -d "$DURATION" > "$work/$sys-set.json"
	echo "== $sys: gets 8x8" >&2
	"$BIN" bench "${common[@]}" -w get -c 8 -i 8 -d "$DURATION" > "$work/$sys-get.json"
	echo "== $sys: lone set 1x1" >&2
	"$BIN" bench "${common[@]}" -w set -c 1 -i 1 -d "$DURATION" > "$work/$sys-lone.json"
	rss "$sys" > "$work/$sys-rss.txt"
	echo "== $sys: failover (kill -9 the leader)" >&2
	"$BIN" bench "${common[@]}" -w set -c 8 -i 8 -d "$FAILOVER_DURATION" --failover \
		--kill-cmd "kill -9 \$(cat $work/$sys/{id}.pid)" > "$work/$sys-failover.json"
}

fsync_ms() {
	local t0 t1
	t0=$(date +%s%N)
	dd if=/dev/zero of="$work/fsync.probe" bs=4k count=200 oflag=dsync 2>/dev/null
	t1=$(date +%s%N)
	awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", ns / 200 / 1e6 }'
}

start_zk
run_all zk "$ZK_BASE"
stop zk
start_zb
run_all zb "$ZB_BASE"
stop zb

j() { jq -r "$2" "$work/$1.json"; }
jl() { jq -r "(.latency_ms.$2 * 1000 | round) / 1000" "$work/$1.json"; }
row() { # label zk zb
	awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN {
		r = (a + 0 > 0) ? sprintf("%.2f", b / a) : "-"
		printf "| %s | %s | %s | %s |\n", l, a, b, r }'
}
maxrss() { tr ' ' '\n' < "$work/$1-rss.txt" | sort -n | tail -1; }
{
	echo "# zabkeeper vs Apache ZooKeeper 3.8: 3 members each on 127.0.0.1"
	echo
	echo "$(nproc) cores, $(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | sed 's/^ *//'); 4 KB write+dsync $(fsync_ms) ms;" \
		"100-byte values; $DURATION per workload after $WARMUP warm-up; client: zabkeeper bench (raw)."
	echo
	echo "| metric | ZooKeeper | zabkeeper | ratio zabkeeper/ZooKeeper |"
	echo "|---|---:|---:|---:|"
	row "sets/s, 8 conns x 8 in flight" "$(j zk-set '.ops_per_sec|floor')" "$(j zb-set '.ops_per_sec|floor')"
	row "set p50 ms (8x8)" "$(jl zk-set p50)" "$(jl zb-set p50)"
	row "set p99 ms (8x8)" "$(jl zk-set p99)" "$(jl zb-set p99)"
	row "set p99.9 ms (8x8)" "$(jl zk-set p999)" "$(jl zb-set p999)"
	row "gets/s, 8 conns x 8 in flight" "$(j zk-get '.ops_per_sec|floor')" "$(j zb-get '.ops_per_sec|floor')"
	row "get p50 ms (8x8)" "$(jl zk-get p50)" "$(jl zb-get p50)"
	row "get p99 ms (8x8)" "$(jl zk-get p99)" "$(jl zb-get p99)"
	row "lone client set/s (1x1)" "$(j zk-lone '.ops_per_sec|floor')" "$(j zb-lone '.ops_per_sec|floor')"
	row "lone client set p50 ms" "$(jl zk-lone p50)" "$(jl zb-lone p50)"
	row "lone client set p99 ms" "$(jl zk-lone p99)" "$(jl zb-lone p99)"
	row "failover: longest write gap ms" "$(j zk-failover '.failover.max_write_gap_ms|floor')" "$(j zb-failover '.failover.max_write_gap_ms|floor')"
	row "failover: first write after kill ms" "$(j zk-failover '.failover.first_write_after_kill_ms|floor')" "$(j zb-failover '.failover.first_write_after_kill_ms|floor')"
	row "max member RSS MB" "$(maxrss zk)" "$(maxrss zb)"
	echo
	echo "Member RSS MB (VmRSS after the set/get/lone runs): ZooKeeper $(cat "$work/zk-rss.txt"); zabkeeper $(cat "$work/zb-rss.txt")."
	for r in set get lone failover; do
		echo "Errors in $r: ZooKeeper $(j zk-$r '.errors|tostring'); zabkeeper $(j zb-$r '.errors|tostring')."
	done
} > "$work/table.md"
cat "$work/table.md"
cp "$work/table.md" "$OUT"
