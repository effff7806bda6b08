#!/usr/bin/env bash
# The compatibility suites for CI (.ci/run calls this when it is executable):
# go-zookeeper/zk's own tests through the zkServer.sh shim, then zkCli.sh and
# kazoo. Builds zabkeeper once for both. zkCli.sh and kazoo come from Debian
# (zookeeper, python3-kazoo); they are installed here when missing.
# Takes about 1 minute on a warm build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d "${TMPDIR:-/tmp}/ci-compat.XXXXXX")
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/zabkeeper" ./cmd/zabkeeper

status=0
echo "=== go-zookeeper/zk v1.0.4 test suite"
scripts/go-zk-suite.sh --bin "$bin/zabkeeper" || status=1

if [ ! -x /usr/share/zookeeper/bin/zkCli.sh ] || ! /usr/bin/python3 -c 'import kazoo' 2>/dev/null; then
  echo "=== installing zookeeper and python3-kazoo"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zookeeper python3-kazoo >/dev/null
fi
echo "=== zkCli.sh and kazoo"
scripts/zkcli-kazoo.sh --bin "$bin/zabkeeper" || status=1
echo "=== the Go client and recipe tests against Apache ZooKeeper 3.8"
ZK_PORT=${ZK_PORT:-32181} scripts/client-vs-zookeeper.sh || status=1
exit $status
