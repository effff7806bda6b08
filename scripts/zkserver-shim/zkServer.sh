#!/usr/bin/env bash
# zkServer.sh stand-in that runs zabkeeper instead of Apache ZooKeeper.
#
# go-zookeeper/zk's test harness (server_java_test.go) runs
#   $ZOOKEEPER_BIN_PATH/zkServer.sh start-foreground CFG
# with SERVER_JVMFLAGS carrying -Dzookeeper.* system properties (superDigest,
# extendedTypesEnabled), and stops the server by killing the process it started.
# So this script must end by exec-ing zabkeeper: the pid the harness holds has
# to be the server itself, or a kill would leave zabkeeper running.
#
# zabkeeper reads the unmodified zoo.cfg (dataDir, clientPort, server.N lines,
# dataDir/myid). The -Dzookeeper.KEY=VALUE properties become KEY=VALUE lines of
# a copy of the cfg written next to it (CFG.zabkeeper), because zabkeeper reads
# "zookeeper."-prefixed keys as aliases and warns by name about keys it does not
# know, where an environment variable would be dropped silently.
#
# The binary: $SHIM_ZABKEEPER_BIN, else zabkeeper on PATH.
set -euo pipefail

die() { echo "zkServer.sh (zabkeeper shim): $*" >&2; exit 2; }

cfgdir=${ZOOCFGDIR:-$(cd "$(dirname "$0")/.." && pwd)/conf}
if [ "${1:-}" = "--config" ]; then
  [ $# -ge 2 ] || die "--config needs a directory"
  cfgdir=$2
  shift 2
fi
cmd=${1:-}
cfg=${2:-$cfgdir/${ZOOCFG:-zoo.cfg}}

case "$cmd" in
  start-foreground) ;;
  print-cmd) ;;
  "") die "usage: zkServer.sh [--config DIR] start-foreground|print-cmd [CFG]" ;;
  *) die "only start-foreground and print-cmd are supported (got '$cmd'); stop the server by killing it" ;;
esac

[ -r "$cfg" ] || die "cannot read config file '$cfg'"

# cfgvalue KEY: the last value of KEY in the cfg (Java properties, '=' form).
cfgvalue() {
  sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$cfg" | tail -n 1 | sed 's/[[:space:]]*$//'
}
datadir=$(cfgvalue dataDir)
port=$(cfgvalue clientPort)
servers=$(grep -c '^[[:space:]]*server\.[0-9]' "$cfg" || true)
[ -n "$datadir" ] || die "$cfg has no dataDir"
[ -d "$datadir" ] || mkdir -p "$datadir"
if [ "$servers" -gt 0 ] && [ ! -r "$datadir/myid" ]; then
  die "$cfg lists $servers servers but $datadir/myid is missing"
fi

bin=${SHIM_ZABKEEPER_BIN:-$(command -v zabkeeper || true)}
[ -n "$bin" ] && [ -x "$bin" ] || die "zabkeeper binary not found: set SHIM_ZABKEEPER_BIN or put zabkeeper on PATH"

# Carry -Dzookeeper.KEY=VALUE from the JVM flag variables into the cfg copy;
# other JVM flags (-Xmx, -Djava.*) mean nothing to zabkeeper.
merged=$cfg.zabkeeper
{
  cat "$cfg"
  echo
  echo "# from SERVER_JVMFLAGS / JVMFLAGS by the zabkeeper zkServer.sh shim"
  set -f  # the flags are words, not globs
  for flag in ${JVMFLAGS:-} ${SERVER_JVMFLAGS:-}; do
    case "$flag" in
      -Dzookeeper.*=*) echo "${flag#-D}" ;;
    esac
  done
} >"$merged"

echo "zkServer.sh (zabkeeper shim): $bin server --config $merged (dataDir=$datadir clientPort=${port:-2181} servers=$servers myid=$(cat "$datadir/myid" 2>/dev/null || echo -))" >&2
if [ "$cmd" = print-cmd ]; then
  echo "$bin server --config $merged"
  exit 0
fi
exec "$bin" server --config "$merged"
