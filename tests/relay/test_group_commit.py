"""The relay's group commit (messaging/relay/group_commit.py): requests that arrive while one
runs share its transaction, each is answered only after that commit, a refused request
keeps nothing, a failed commit fails every request it carried."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import insert

from messaging.relay import schema
from messaging.relay.group_commit import GroupCommit
from messaging.relay_protocol import RelayError


class Writer:
    """A relay database file, its one writer connection and a group commit over it."""

    def __init__(self, path, **options) -> None:
        self.path = path
        self.engine = schema.open_engine(f"sqlite:///{path}")
        self.connection = self.engine.connect()
        self.fail_commits = 0
        self.group = GroupCommit(self._connection, **options)

    def _connection(self):
        if self.fail_commits:
            self.fail_commits -= 1
            return _FailingCommit(self.connection)
        return self.connection

    def nonces(self) -> set[str]:
        """The nonces committed, read through another connection."""
        reader = sqlite3.connect(self.path)
        try:
            return {row[0] for row in reader.execute("SELECT nonce FROM nonces")}
        finally:
            reader.close()

    def write(self, conn, nonce: str) -> None:
        conn.execute(insert(schema.nonces).values(address="a:1", nonce=nonce, seen_at=1.0))

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


class _FailingCommit:
    """The writer connection, but its next commit fails as a full disk would."""

    def __init__(self, conn) -> None:
        self._conn = conn

    def commit(self):
        raise sqlite3.OperationalError("database or disk is full")

    def __getattr__(self, name):
        return getattr(self._conn, name)


# Long enough that the threads' hand-offs below never reach it.
PATIENT = {"max_delay": 10.0}


@pytest.fixture
def writer(tmp_path):
    w = Writer(tmp_path / "relay.db", **PATIENT)
    yield w
    w.close()


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.001)


def _first_unit_holds_the_writer(w, body, outcome):
    """Start a unit running ``body`` in a thread; return the thread and an event it waits on
    inside the unit."""
    inside, go_on = threading.Event(), threading.Event()

    def run():
        try:
            with w.group.unit() as conn:
                body(conn)
                inside.set()
                assert go_on.wait(10)
            outcome["first"] = "committed"
        except RelayError as exc:
            outcome["first"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    assert inside.wait(10)
    return thread, go_on


def _second_unit(w, body, outcome):
    def run():
        try:
            with w.group.unit() as conn:
                body(conn)
            outcome["second"] = "committed"
        except RelayError as exc:
            outcome["second"] = exc
        except ValueError as exc:
            outcome["second"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    _until(lambda: w.group._arriving == 1, "the second request never asked for the writer")
    return thread


def test_a_request_arriving_meanwhile_shares_the_commit_and_both_wait_for_it(writer):
    outcome = {}
    first, go_on = _first_unit_holds_the_writer(writer, lambda c: writer.write(c, "n1"),
                                                outcome)
    second = _second_unit(writer, lambda c: writer.write(c, "n2"), outcome)
    go_on.set()
    first.join(10)
    second.join(10)
    assert outcome == {"first": "committed", "second": "committed"}
    assert writer.group.commits == 1
    assert writer.nonces() == {"n1", "n2"}


def test_the_first_request_is_not_answered_before_the_shared_commit(writer):
    outcome = {}
    first, go_on = _first_unit_holds_the_writer(writer, lambda c: writer.write(c, "n1"),
                                                outcome)
    release_second = threading.Event()

    def slow_second(conn):
        writer.write(conn, "n2")
        assert release_second.wait(10)

    second = _second_unit(writer, slow_second, outcome)
    go_on.set()
    _until(lambda: writer.group._pending == 1 and writer.group._arriving == 0,
           "the first unit never finished")
    time.sleep(0.05)
    assert "first" not in outcome  # done, but waiting for the commit its writes are in
    assert writer.nonces() == set()
    release_second.set()
    first.join(10)
    second.join(10)
    assert outcome == {"first": "committed", "second": "committed"}
    assert writer.nonces() == {"n1", "n2"}


def test_a_refused_request_keeps_nothing_and_the_other_commits(writer):
    outcome = {}
    first, go_on = _first_unit_holds_the_writer(writer, lambda c: writer.write(c, "kept"),
                                                outcome)

    def refused(conn):
        writer.write(conn, "refused")
        raise ValueError("a refusal after writing")

    second = _second_unit(writer, refused, outcome)
    go_on.set()
    first.join(10)
    second.join(10)
    assert outcome["first"] == "committed"
    assert isinstance(outcome["second"], ValueError)
    assert writer.nonces() == {"kept"}


def test_a_failed_commit_fails_every_request_it_carried(writer):
    outcome = {}
    first, go_on = _first_unit_holds_the_writer(writer, lambda c: writer.write(c, "n1"),
                                                outcome)
    second = _second_unit(writer, lambda c: writer.write(c, "n2"), outcome)
    writer.fail_commits = 1  # the connection the committing request gets fails to commit
    go_on.set()
    first.join(10)
    second.join(10)
    for name in ("first", "second"):
        assert isinstance(outcome[name], RelayError), outcome
        assert outcome[name].status == 503 and outcome[name].code == "storage-unavailable"
    assert writer.nonces() == set()
    with writer.group.unit() as conn:  # the writer works again afterwards
        writer.write(conn, "n3")
    assert writer.nonces() == {"n3"}
    assert writer.group._failures == {}


def test_a_lone_request_commits_at_once(writer):
    for i in range(3):
        with writer.group.unit() as conn:
            writer.write(conn, f"n{i}")
        assert writer.nonces() == {f"n{j}" for j in range(i + 1)}
    assert writer.group.commits == 3


def test_max_batch_one_commits_every_request_before_the_next_runs(tmp_path):
    w = Writer(tmp_path / "relay.db", max_batch=1, **PATIENT)
    outcome = {}
    first, go_on = _first_unit_holds_the_writer(w, lambda c: w.write(c, "n1"), outcome)
    second = _second_unit(w, lambda c: w.write(c, "n2"), outcome)
    go_on.set()
    first.join(10)
    second.join(10)
    assert outcome == {"first": "committed", "second": "committed"}
    assert w.group.commits == 2
    w.close()


def test_a_wait_outlasting_max_delay_commits_by_itself(tmp_path):
    w = Writer(tmp_path / "relay.db", max_delay=0.01)
    w.group._arriving += 1  # a request counted as arriving that never takes the writer
    try:
        with w.group.unit() as conn:
            w.write(conn, "n1")
    finally:
        w.group._arriving -= 1
    assert w.nonces() == {"n1"} and w.group.commits == 1
    w.close()


def test_a_transaction_open_longer_than_max_delay_commits_though_others_arrive(tmp_path):
    w = Writer(tmp_path / "relay.db", max_delay=0.01)
    outcome = {}
    first, go_on = _first_unit_holds_the_writer(w, lambda c: w.write(c, "n1"), outcome)
    second = _second_unit(w, lambda c: w.write(c, "n2"), outcome)
    time.sleep(0.05)
    go_on.set()
    first.join(10)
    second.join(10)
    assert outcome == {"first": "committed", "second": "committed"}
    assert w.group.commits == 2  # the first did not wait for the second
    w.close()


def test_max_batch_must_be_positive(writer):
    with pytest.raises(ValueError):
        GroupCommit(writer._connection, max_batch=0)
