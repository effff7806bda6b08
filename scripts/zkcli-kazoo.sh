#!/usr/bin/env bash
# Drives zabkeeper with two clients nobody here wrote: zkCli.sh from Debian's
# zookeeper package and kazoo (python3-kazoo), and checks what they print.
#
# usage: scripts/zkcli-kazoo.sh [--against-zookeeper] [--only zkcli|kazoo] [-v] [--bin PATH]
#   --against-zookeeper  run the same checks against Debian's Apache ZooKeeper
#                        3.8, to prove the expectations themselves are right
#   --only zkcli|kazoo   run one half
#   -v                   print every zkCli transcript
#   --bin PATH           use this zabkeeper binary instead of building one
# Needs: apt-get install -y zookeeper python3-kazoo (Java 17 for zkCli.sh);
# kazoo is importable only from /usr/bin/python3.
# Exit status: 0 when every check passed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
zkbin=/usr/share/zookeeper/bin
against=zabkeeper
only=all
verbose=0
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --against-zookeeper) against=zookeeper; shift ;;
    --only) only=$2; shift 2 ;;
    -v) verbose=1; shift ;;
    --bin) bin=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -x "$zkbin/zkCli.sh" ] || { echo "zkCli.sh missing: apt-get install -y zookeeper python3-kazoo" >&2; exit 2; }
/usr/bin/python3 -c 'import kazoo' 2>/dev/null || { echo "kazoo missing: apt-get install -y python3-kazoo" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/zkcli-kazoo.XXXXXX")
server_pid=""
watcher_pid=""
cleanup() {
  exec 7>&-
  for p in $watcher_pid $server_pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
start=$(date +%s)

# ---------------------------------------------------------------- the server
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/data"
cat >"$work/zoo.cfg" <<CFG
tickTime=2000
dataDir=$work/data
clientPort=$port
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
extendedTypesEnabled=true
admin.enableServer=false
CFG

if [ "$against" = zabkeeper ]; then
  if [ -z "$bin" ]; then
    bin=$work/zabkeeper
    (cd "$repo" && go build -o "$bin" ./cmd/zabkeeper)
  fi
  "$bin" server --config "$work/zoo.cfg" >"$work/server.log" 2>&1 &
else
  # Debian's zkEnv.sh fixes the log dir: the server log goes to /var/log/zookeeper.
  "$zkbin/zkServer.sh" start-foreground "$work/zoo.cfg" >"$work/server.log" 2>&1 &
fi
server_pid=$!

fourletter() { # fourletter WORD: the server's answer, empty when it is not up
  { exec 3<>"/dev/tcp/127.0.0.1/$port" && printf '%s' "$1" >&3 && timeout 5 cat <&3; exec 3<&-; } 2>/dev/null || true
}
for _ in $(seq 1 60); do
  [ "$(fourletter ruok)" = imok ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "server died" >&2; exit 1; }
  sleep 0.5
done
[ "$(fourletter ruok)" = imok ] || { cat "$work/server.log"; echo "server did not answer ruok" >&2; exit 1; }
echo "$against on 127.0.0.1:$port ($(fourletter srvr | head -n1))"

# ---------------------------------------------------------------- results
results=()
failed=0
record() { # record HARNESS NAME STATUS [DETAIL]
  results+=("$(printf '%-7s %-34s %s %s' "$1" "$2" "$3" "${4:-}")")
  [ "$3" = PASS ] || failed=$((failed + 1))
}

# ---------------------------------------------------------------- zkCli.sh
# zkcli NAME COMMANDS PATTERN...: runs COMMANDS (one per line) in one zkCli
# session and checks that the transcript matches every PATTERN (grep -E, one
# line each; a leading ! means the pattern must NOT appear).
zkcli() {
  local name=$1 cmds=$2; shift 2
  local out="$work/zkcli-$name.out" miss=""
  printf '%s\nquit\n' "$cmds" | timeout 60 "$zkbin/zkCli.sh" -server "127.0.0.1:$port" >"$out" 2>&1 || true
  for pat in "$@"; do
    if [ "${pat:0:1}" = '!' ]; then
      grep -Eq -- "${pat:1}" "$out" && miss="$miss [unexpected: ${pat:1}]"
    else
      grep -Eq -- "$pat" "$out" || miss="$miss [missing: $pat]"
    fi
  done
  [ "$verbose" = 1 ] && { echo "----- zkcli $name"; grep -v -e '^SLF4J' -e '^$' "$out"; }
  if [ -z "$miss" ]; then record zkCli "$name" PASS; else
    record zkCli "$name" FAIL "$miss"
    echo "----- zkcli $name transcript (failed:$miss)"; grep -v '^SLF4J' "$out" | tail -n 40
  fi
}

# waitfor FILE PATTERN: poll until FILE matches (up to 30 s); false on timeout.
waitfor() {
  for _ in $(seq 1 150); do grep -Eq -- "$2" "$1" && return 0; sleep 0.2; done
  return 1
}

# waitcount FILE PATTERN N: poll until PATTERN matches N lines of FILE (30 s).
waitcount() {
  for _ in $(seq 1 150); do [ "$(grep -Ec -- "$2" "$1")" -ge "$3" ] && return 0; sleep 0.2; done
  return 1
}

# digest ACL id for user u, password p: base64(sha1("u:p")), as ZooKeeper forms it.
udigest=$(/usr/bin/python3 -c 'import base64,hashlib; print(base64.b64encode(hashlib.sha1(b"u:p").digest()).decode())')

run_zkcli() {
  zkcli create-modes \
'create /p pdata
create -e /p/e
create -s /p/s-
create -c /c
create -t 60000 /t tdata
create /p again' \
    '^Created /p$' '^Created /p/e$' '^Created /p/s-0000000001$' '^Created /c$' '^Created /t$' \
    'Node already exists: /p'

  # /p/e died with the first session, so /p has one child and cversion 3
  # (two creates, one delete). ZooKeeper shows ephemeralOwner 0x0 for
  # container and TTL nodes: their internal owner marker is not shown.
  zkcli get-set-stat \
'get -s /p
set /p v2
stat /p
set -v 7 /p v3
stat /c
stat /t' \
    '^pdata$' '^numChildren = 1$' '^cversion = 3$' '^dataVersion = 1$' '^dataLength = 2$' \
    'version No is not valid : /p' \
    '!^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$' \
    '^cZxid = 0x[0-9a-f]+$' '^ctime = [A-Z][a-z]{2} '

  # The ephemeral /p/e died with the first session; create fresh children.
  zkcli ls \
'create /l
create /l/a
create /l/a/x
create /l/b
ls /l
ls -R /l
ls -s /l
getAllChildrenNumber /l
ls /nonexistent' \
    '^\[a, b\]$' '^/l/a/x$' '^/l/b$' '^cversion = 2$' '^numChildren = 2$' '^3$' \
    'Node does not exist: /nonexistent'

  zkcli ephemerals \
'create -e /eph1
create -e /l/eph2
getEphemerals
getEphemerals /l' \
    '^\[(/eph1, /l/eph2|/l/eph2, /eph1)\]$' '^\[/l/eph2\]$'

  zkcli ephemerals-gone-after-close \
'stat /eph1
ls /p' \
    'Node does not exist: /eph1' '^\[s-0000000001\]$'

  zkcli delete \
'delete /p/s-0000000001
delete /l
deleteall /l
ls /
stat /l' \
    'Node not empty: /l' '^\[c, p, t, zookeeper\]$' 'Node does not exist: /l'

  zkcli auth-acl \
'whoami
addauth digest u:p
whoami
create /a secret
setAcl /a auth::cdrwa
getAcl /a
getAcl /p' \
    '^Auth scheme: User$' '^ip: 127\.0\.0\.1$' '^digest: u$' \
    "^'digest,'u:$udigest\$" '^: cdrwa$' "^'world,'anyone\$"

  zkcli acl-denied \
'get /a' \
    'Insufficient permission : /a'

  zkcli acl-wrong-password \
'addauth digest u:wrong
set /a x' \
    'Insufficient permission : /a'

  zkcli acl-right-password \
'addauth digest u:p
get -s /a' \
    '^secret$' '^dataVersion = 0$' '!Insufficient permission'

  zkcli sync \
'sync /p' \
    'Sync is OK'

  # Watches: the first zkCli sets them and stays connected (stdin is a fifo);
  # a second zkCli makes the changes; the first must print the events.
  zkcli watch-setup \
'create /w w0
create /r'
  mkfifo "$work/watcher.in"
  timeout 120 "$zkbin/zkCli.sh" -server "127.0.0.1:$port" <"$work/watcher.in" >"$work/zkcli-watcher.out" 2>&1 &
  watcher_pid=$!
  exec 7>"$work/watcher.in"
  printf 'get -w /w\nls -w /w\naddWatch /r\naddWatch -m PERSISTENT /p\nget /w\n' >&7
  # 'get /w' echoes w0 a second time once every watch above is registered.
  if ! waitcount "$work/zkcli-watcher.out" '^w0$' 2; then
    record zkCli watch-from-second-client FAIL "[watches never registered]"
    grep -v '^SLF4J' "$work/zkcli-watcher.out" | tail -n 40
  else
    zkcli watch-trigger \
'set /w w1
create /w/child
create /r/x
create /r/x/y
set /p p3
set /p p4'
    local miss=""
    for ev in 'type:NodeDataChanged path:/w' 'type:NodeChildrenChanged path:/w' \
              'type:NodeCreated path:/r/x$' 'type:NodeCreated path:/r/x/y' 'type:NodeDataChanged path:/p'; do
      waitfor "$work/zkcli-watcher.out" "$ev" || miss="$miss [missing: $ev]"
    done
    # one-shot watches fire once; the persistent one on /p fires for both sets.
    [ "$(grep -c 'type:NodeDataChanged path:/p' "$work/zkcli-watcher.out")" = 2 ] ||
      miss="$miss [persistent watch on /p fired $(grep -c 'type:NodeDataChanged path:/p' "$work/zkcli-watcher.out") times, want 2]"
    [ "$(grep -c 'type:NodeDataChanged path:/w' "$work/zkcli-watcher.out")" = 1 ] ||
      miss="$miss [one-shot watch on /w fired more than once]"
    [ "$verbose" = 1 ] && { echo "----- zkcli watcher"; grep -v -e '^SLF4J' -e '^$' "$work/zkcli-watcher.out"; }
    if [ -z "$miss" ]; then record zkCli watch-from-second-client PASS; else
      record zkCli watch-from-second-client FAIL "$miss"
      grep -v '^SLF4J' "$work/zkcli-watcher.out" | tail -n 40
    fi
  fi
  printf 'quit\n' >&7
  exec 7>&-
  wait "$watcher_pid" 2>/dev/null || true
  watcher_pid=""
}

# ---------------------------------------------------------------- kazoo
run_kazoo() {
  local out="$work/kazoo.out"
  /usr/bin/python3 "$repo/compat/kazoo_check.py" "127.0.0.1:$port" >"$out" 2>&1 || true
  [ "$verbose" = 1 ] && cat "$out"
  # kazoo_check.py prints "PASS name" / "FAIL name: detail" per check.
  local any=0
  while read -r status name detail; do
    case "$status" in
      PASS) record kazoo "$name" PASS; any=1 ;;
      FAIL) record kazoo "${name%:}" FAIL "$detail"; any=1 ;;
    esac
  done <"$out"
  if [ "$any" = 0 ] || grep -q '^Traceback' "$out"; then
    record kazoo kazoo_check.py FAIL "[crashed, see below]"
    tail -n 40 "$out"
  fi
}

case "$only" in
  all) run_zkcli; run_kazoo ;;
  zkcli) run_zkcli ;;
  kazoo) run_kazoo ;;
  *) echo "--only zkcli|kazoo" >&2; exit 2 ;;
esac

printf '\n%-7s %-34s %s\n' CLIENT CHECK RESULT
printf '%s\n' "${results[@]}"
printf '\nagainst %s: %d checks, %d failed, %ds\n' "$against" "${#results[@]}" "$failed" $(( $(date +%s) - start ))
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server exited during the run:"; tail -n 40 "$work/server.log"; exit 1
fi
[ "$failed" = 0 ]
