#!/usr/bin/env bash
# Runs the client and recipe tests against Apache ZooKeeper (Debian's
# package): installs it if missing, starts a standalone server on a spare
# directory, runs `go test ./client/...` against it, and stops it again.
# Usage: scripts/client-vs-zookeeper.sh [go test flags...]
set -euo pipefail

PORT="${ZK_PORT:-2181}"
ZKBIN=/usr/share/zookeeper/bin/zkServer.sh
repo="$(cd "$(dirname "$0")/.." && pwd)"

if [ ! -x "$ZKBIN" ]; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y zookeeper
fi

work="$(mktemp -d /tmp/zk-client-test.XXXXXX)"
mkdir -p "$work/data" "$work/log"
cat > "$work/zoo.cfg" <<CFG
tickTime=500
dataDir=$work/data
clientPort=$PORT
maxClientCnxns=0
4lw.commands.whitelist=*
admin.enableServer=false
CFG

# TTL nodes need extended types.
export SERVER_JVMFLAGS="-Dzookeeper.extendedTypesEnabled=true"
export JVMFLAGS="$SERVER_JVMFLAGS"
export ZOO_LOG_DIR="$work/log"
"$ZKBIN" start-foreground "$work/zoo.cfg" > "$work/server.out" 2>&1 &
zkpid=$!
cleanup() {
	kill "$zkpid" 2>/dev/null || true
	wait "$zkpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

up=
for _ in $(seq 1 60); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf srvr >&3 && grep -v zabkeeper <&3 | grep -q "Zookeeper version") 2>/dev/null; then
		up=1
		break
	fi
	sleep 0.5
done
if [ -z "$up" ]; then
	echo "Apache ZooKeeper did not come up on port $PORT; its output:" >&2
	cat "$work/server.out" >&2
	exit 1
fi

cd "$repo"
ZABKEEPER_TEST_SERVERS="127.0.0.1:$PORT" go test -count=1 "$@" ./client/...
