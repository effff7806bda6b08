#!/usr/bin/python3
"""Checks a ZooKeeper-protocol server with kazoo, a client nobody here wrote.

usage: /usr/bin/python3 compat/kazoo_check.py HOST:PORT

Prints one line per check, "PASS name" or "FAIL name: detail", and exits 1 if
any check failed. Every expectation is what Apache ZooKeeper 3.8 answers;
scripts/zkcli-kazoo.sh --against-zookeeper runs this file against it to keep
the expectations honest. Waits for events use generous timeouts, so a slow
machine makes a run slower, not red.
"""

import queue
import sys
import threading
import time
import traceback

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
)

WAIT = 20.0  # seconds an expected event may take before the check fails

HOSTS = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:2181"
failures = []


class Mismatch(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Mismatch("%s: got %r, want %r" % (what, got, want))


def client():
    zk = KazooClient(hosts=HOSTS, timeout=10.0)
    zk.start(timeout=15)
    return zk


def get_event(q, what):
    try:
        return q.get(timeout=WAIT)
    except queue.Empty:
        raise Mismatch("no %s within %.0fs" % (what, WAIT))


def check_crud(zk):
    path = zk.create("/k-crud", b"v0")
    expect("create returns the path", path, "/k-crud")
    data, st = zk.get("/k-crud")
    expect("data", data, b"v0")
    expect("version", st.version, 0)
    expect("dataLength", st.dataLength, 2)
    expect("czxid == mzxid on create", st.czxid, st.mzxid)
    st2 = zk.set("/k-crud", b"v1", version=0)
    expect("version after set", st2.version, 1)
    expect("czxid kept by set", st2.czxid, st.czxid)
    if st2.mzxid <= st.mzxid:
        raise Mismatch("mzxid did not grow: %#x -> %#x" % (st.mzxid, st2.mzxid))
    try:
        zk.set("/k-crud", b"v2", version=0)
        raise Mismatch("set with a stale version succeeded")
    except BadVersionError:
        pass
    try:
        zk.create("/k-crud")
        raise Mismatch("second create succeeded")
    except NodeExistsError:
        pass
    zk.create("/k-crud/a")
    zk.create("/k-crud/b", b"bb")
    expect("children", sorted(zk.get_children("/k-crud")), ["a", "b"])
    st3 = zk.exists("/k-crud")
    expect("numChildren", st3.numChildren, 2)
    expect("cversion", st3.cversion, 2)
    children, cst = zk.get_children("/k-crud", include_data=True)
    expect("numChildren via get_children stat", cst.numChildren, 2)
    try:
        zk.delete("/k-crud")
        raise Mismatch("delete of a parent with children succeeded")
    except NotEmptyError:
        pass
    zk.delete("/k-crud", recursive=True)
    expect("exists after recursive delete", zk.exists("/k-crud"), None)
    try:
        zk.get("/k-crud")
        raise Mismatch("get of a deleted node succeeded")
    except NoNodeError:
        pass


def check_sequential_ephemeral(zk):
    zk.create("/k-seq")
    a = zk.create("/k-seq/n-", sequence=True)
    b = zk.create("/k-seq/n-", ephemeral=True, sequence=True)
    expect("first sequential name", a, "/k-seq/n-0000000000")
    expect("second sequential name", b, "/k-seq/n-0000000001")
    st = zk.exists(b)
    expect("ephemeralOwner", st.ephemeralOwner, zk.client_id[0])
    other = client()
    other.create("/k-seq/gone", ephemeral=True)
    other.stop()
    other.close()
    expect("ephemeral of a closed session", zk.exists("/k-seq/gone"), None)


def check_children_watch(zk):
    zk.create("/k-cw")
    q = queue.Queue()
    zk.ChildrenWatch("/k-cw")(lambda children: q.put(sorted(children)))
    expect("initial children", get_event(q, "initial ChildrenWatch call"), [])
    zk.create("/k-cw/x")
    expect("after create", get_event(q, "ChildrenWatch call after create"), ["x"])
    zk.create("/k-cw/y")
    expect("after second create", get_event(q, "ChildrenWatch call after second create"), ["x", "y"])
    zk.delete("/k-cw/x")
    expect("after delete", get_event(q, "ChildrenWatch call after delete"), ["y"])


def check_data_watch(zk):
    q = queue.Queue()

    def seen(data, stat):
        q.put((data, stat.version if stat else None))

    zk.DataWatch("/k-dw")(seen)
    expect("initial call for a missing node", get_event(q, "initial DataWatch call"), (None, None))
    zk.create("/k-dw", b"a")
    expect("after create", get_event(q, "DataWatch call after create"), (b"a", 0))
    zk.set("/k-dw", b"b")
    expect("after set", get_event(q, "DataWatch call after set"), (b"b", 1))
    zk.delete("/k-dw")
    expect("after delete", get_event(q, "DataWatch call after delete"), (None, None))


def check_transaction(zk):
    zk.create("/k-tx", b"0")
    t = zk.transaction()
    t.create("/k-tx/a", b"a")
    t.set_data("/k-tx", b"1", version=0)
    t.check("/k-tx", 1)
    t.delete("/k-tx/a")
    results = t.commit()
    expect("committed results", results, ["/k-tx/a", results[1], True, True])
    expect("set_data result version", results[1].version, 1)
    expect("data after commit", zk.get("/k-tx")[0], b"1")

    t = zk.transaction()
    t.create("/k-tx/b")
    t.check("/k-tx", 7)
    t.create("/k-tx/c")
    results = t.commit()
    # ZooKeeper answers the ops before the failing one with RolledBack (-2 is
    # RuntimeInconsistency, sent for the ops after it).
    kinds = [type(r) for r in results]
    expect("failed multi results", kinds, [RolledBackError, BadVersionError, RuntimeInconsistency])
    expect("nothing applied by a failed multi", zk.exists("/k-tx/b"), None)


def check_lock(zk):
    other = client()
    try:
        mine = zk.Lock("/k-lock", "first")
        theirs = other.Lock("/k-lock", "second")
        if not mine.acquire(timeout=WAIT):
            raise Mismatch("first contender did not get a free lock")
        order = []
        got = threading.Event()

        def contend():
            if theirs.acquire(timeout=WAIT * 2):
                order.append("second")
                got.set()

        th = threading.Thread(target=contend)
        th.start()
        deadline = time.time() + WAIT
        while len(mine.contenders()) < 2 and time.time() < deadline:
            time.sleep(0.05)
        expect("contenders while held", mine.contenders(), ["first", "second"])
        expect("second holds the lock while first does", got.is_set(), False)
        order.append("first")
        mine.release()
        th.join(WAIT * 2)
        expect("second acquired after release", got.is_set(), True)
        expect("order", order, ["first", "second"])
        theirs.release()
        expect("lock nodes left", zk.get_children("/k-lock"), [])
    finally:
        other.stop()
        other.close()


def check_election(zk):
    other = client()
    try:
        leaders = queue.Queue()
        release = {"a": threading.Event(), "b": threading.Event()}

        def lead(name):
            leaders.put(name)
            release[name].wait(WAIT * 2)

        ea = zk.Election("/k-elect", "a")
        eb = other.Election("/k-elect", "b")
        ta = threading.Thread(target=ea.run, args=(lead, "a"))
        ta.start()
        expect("first leader", get_event(leaders, "first leader"), "a")
        tb = threading.Thread(target=eb.run, args=(lead, "b"))
        tb.start()
        deadline = time.time() + WAIT
        while len(ea.contenders()) < 2 and time.time() < deadline:
            time.sleep(0.05)
        expect("contenders", ea.contenders(), ["a", "b"])
        expect("no second leader while a leads", leaders.empty(), True)
        release["a"].set()
        ta.join(WAIT)
        expect("leader after a steps down", get_event(leaders, "second leader"), "b")
        release["b"].set()
        tb.join(WAIT)
    finally:
        for ev in release.values():
            ev.set()
        other.stop()
        other.close()


CHECKS = [
    ("crud", check_crud),
    ("sequential-ephemeral", check_sequential_ephemeral),
    ("ChildrenWatch", check_children_watch),
    ("DataWatch", check_data_watch),
    ("transaction", check_transaction),
    ("Lock", check_lock),
    ("Election", check_election),
]


def main():
    zk = client()
    try:
        for name, fn in CHECKS:
            try:
                fn(zk)
                print("PASS %s" % name, flush=True)
            except Exception as e:  # one broken check must not hide the others
                detail = str(e) if isinstance(e, Mismatch) else "%s: %s" % (type(e).__name__, e)
                failures.append(name)
                print("FAIL %s: %s" % (name, detail), flush=True)
                if not isinstance(e, Mismatch):
                    traceback.print_exc(file=sys.stdout)
    finally:
        zk.stop()
        zk.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
