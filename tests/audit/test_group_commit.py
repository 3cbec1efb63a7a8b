"""Group commit (audit/group_commit.py): concurrent appends share transactions, each returns
only once its transaction committed, a failed batch acknowledges none of its appends."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from audit.errors import StorageError
from audit.group_commit import GroupCommit
from audit.rfc9162 import hash_leaf, root_from_leaf_hashes
from audit.storage import LogStore

THREADS = 16
EACH = 40


def _run_threads(count, target):
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)


class GatedCommits:
    """A commit_batch that records its batches and holds the first one until released."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[bytes]] = []
        self.inside = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on
        self.size = 0

    def __call__(self, items):
        number = len(self.batches)
        self.batches.append(list(items))
        if number == 0:
            self.inside.set()
            assert self.release.wait(10)
        if number == self.fail_on:
            raise StorageError("disk full (simulated)")
        first = self.size
        self.size += len(items)
        return first


def _wait_for_queue(group, length):
    deadline = time.monotonic() + 10
    while len(group._queue) < length:
        assert time.monotonic() < deadline, "appenders never queued"
        time.sleep(0.001)


def test_appends_queued_behind_a_commit_share_the_next_one():
    commits = GatedCommits()
    group = GroupCommit(commits)
    results: dict[int, int] = {}
    leader = threading.Thread(target=lambda: results.__setitem__(-1, group.append(b"first")))
    leader.start()
    assert commits.inside.wait(10)
    followers = [threading.Thread(target=lambda i=i: results.__setitem__(
        i, group.append(b"leaf %d" % i))) for i in range(10)]
    for t in followers:
        t.start()
    _wait_for_queue(group, 10)
    commits.release.set()
    for t in [leader, *followers]:
        t.join(10)
    assert len(commits.batches) == 2 and group.commits == 2
    assert commits.batches[0] == [b"first"]
    assert sorted(commits.batches[1]) == sorted(b"leaf %d" % i for i in range(10))
    assert results[-1] == 0
    assert sorted(results[i] for i in range(10)) == list(range(1, 11))
    for i in range(10):  # each append got the index its leaf was committed at
        assert commits.batches[1][results[i] - 1] == b"leaf %d" % i


def test_a_failed_batch_acknowledges_none_of_its_appends_and_the_next_commits():
    commits = GatedCommits(fail_on=1)
    group = GroupCommit(commits)
    outcomes: dict[int, object] = {}

    def append(i):
        try:
            outcomes[i] = group.append(b"leaf %d" % i)
        except StorageError as exc:
            outcomes[i] = exc

    leader = threading.Thread(target=append, args=(-1,))
    leader.start()
    assert commits.inside.wait(10)
    followers = [threading.Thread(target=append, args=(i,)) for i in range(6)]
    for t in followers:
        t.start()
    _wait_for_queue(group, 6)
    commits.release.set()
    for t in [leader, *followers]:
        t.join(10)
    assert outcomes[-1] == 0
    failed = [outcomes[i] for i in range(6)]
    assert all(isinstance(e, StorageError) for e in failed)
    assert any("disk full" in str(e) for e in failed)
    assert commits.size == 1  # nothing of the failed batch counted
    assert group.append(b"after") == 1


def test_a_batch_beyond_max_batch_is_split():
    commits = GatedCommits()
    group = GroupCommit(commits, max_batch=3)
    leader = threading.Thread(target=group.append, args=(b"first",))
    leader.start()
    assert commits.inside.wait(10)
    followers = [threading.Thread(target=group.append, args=(b"%d" % i,)) for i in range(7)]
    for t in followers:
        t.start()
    _wait_for_queue(group, 7)
    commits.release.set()
    for t in [leader, *followers]:
        t.join(10)
    assert [len(b) for b in commits.batches] == [1, 3, 3, 1]


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError):
        GroupCommit(lambda items: 0, max_batch=0)


def test_concurrent_appends_to_a_store_are_durable_when_acknowledged(tmp_path):
    path = tmp_path / "log.db"
    store = LogStore(path, create=True)
    acknowledged: dict[bytes, int] = {}
    lock = threading.Lock()
    reader = sqlite3.connect(path, check_same_thread=False)
    unreadable = []

    def appender(t):
        for j in range(EACH):
            data = b"thread %d entry %d" % (t, j)
            index = store.append(data)
            with lock:  # another connection sees the leaf as soon as append returned
                row = reader.execute("SELECT data FROM leaves WHERE idx=?", (index,)).fetchone()
                if row is None or row[0] != data:
                    unreadable.append(index)
                acknowledged[data] = index

    _run_threads(THREADS, appender)
    reader.close()
    assert unreadable == []
    assert sorted(acknowledged.values()) == list(range(THREADS * EACH))
    order = sorted(acknowledged, key=acknowledged.get)
    assert store.root() == root_from_leaf_hashes([hash_leaf(d) for d in order])
    store.close()
    reopened = LogStore(path)
    assert reopened.size == THREADS * EACH
    assert [reopened.leaf(acknowledged[d]) for d in order] == order
    reopened.close()


def test_a_bad_leaf_is_refused_before_it_joins_a_batch(tmp_path):
    store = LogStore(tmp_path / "log.db", create=True)
    with pytest.raises(StorageError):
        store.append("text, not bytes")
    with pytest.raises(StorageError):
        store.append(b"x" * (1 << 20 + 1))
    assert store.size == 0 and store.group_commits == 0
    assert store.append(b"good") == 0
    store.close()
