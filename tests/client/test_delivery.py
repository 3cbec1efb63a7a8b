"""Delivery: acknowledged only after decryption; duplicates dropped; bad envelopes reported."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from messaging.client import Device
from messaging.events import ReceiveFailed
from messaging.relay import schema
from messaging.relay.inprocess import InProcessTransport
from messaging.relay_protocol import RelayResponse
from messaging.sqlite_store import Argon2Params, SqliteDeviceStore
from messaging.store import InMemoryDeviceStore
from messaging.transport import RelayUnavailableError


class FlakyTransport(InProcessTransport):
    """Fails the next ``n`` requests whose path starts with ``prefix`` (a relay outage)."""

    def __init__(self, service) -> None:
        super().__init__(service)
        self.fail: dict[str, int] = {}

    def request(self, request) -> RelayResponse:
        for prefix, count in list(self.fail.items()):
            if count and request.path.startswith(prefix) and request.method == "POST":
                self.fail[prefix] = count - 1
                raise RelayUnavailableError("relay unreachable (simulated)")
        return super().request(request)


def test_failed_ack_keeps_the_message_and_acknowledges_later(make, relay, clock):
    flaky = FlakyTransport(relay)
    alice = make("alice")
    bob = Device.create("bob", 1, flaky, clock=clock)
    alice.send_text("bob", "exactly once")
    flaky.fail["/v1/messages/ack"] = 1
    assert [m.body for m in bob.receive_all()] == ["exactly once"]
    alice.send_text("bob", "next")
    assert [m.body for m in bob.receive_all()] == ["next"]
    assert bob.duplicates == 0
    assert bob.relay.fetch()[0] == []


def test_redelivery_after_a_crash_is_dropped_as_a_duplicate(make, relay, clock):
    flaky = FlakyTransport(relay)
    alice = make("alice")
    store = InMemoryDeviceStore()
    bob = Device.create("bob", 1, flaky, clock=clock, store=store)
    alice.send_text("bob", "exactly once")
    flaky.fail["/v1/messages/ack"] = 1
    assert [m.body for m in bob.receive_all()] == ["exactly once"]
    rebooted = Device.restore("bob:1", InProcessTransport(relay), store, clock=clock)
    assert rebooted.receive_all() == []
    assert rebooted.duplicates == 1
    assert rebooted.relay.fetch()[0] == []


def test_failed_send_stays_in_the_outbox_until_flushed(make, relay, clock):
    flaky = FlakyTransport(relay)
    alice = Device.create("alice", 1, flaky, clock=clock)
    bob = make("bob")
    flaky.fail["/v1/messages"] = 1
    with pytest.raises(RelayUnavailableError):
        alice.send_text("bob", "queued while offline")
    assert alice.outbox_size == 1
    assert relay.archive.entries() == []
    alice.flush()
    assert alice.outbox_size == 0
    assert [m.body for m in bob.receive_all()] == ["queued while offline"]


def test_tampered_envelope_is_reported_acknowledged_and_changes_no_session(make, relay):
    alice = make("alice")
    bob = make("bob")
    alice.send_text("bob", "hello")
    bob.receive_all()
    [entry_id] = alice.send_text("bob", "second")
    entry = relay.archive.entry(entry_id)
    tampered = entry.envelope[:-1] + bytes([entry.envelope[-1] ^ 1])
    with relay.engine.begin() as conn:
        conn.execute(update(schema.archive).where(schema.archive.c.id == entry_id)
                     .values(envelope=tampered))
    session_before = bob.session_with("dm:alice:bob", "alice:1").serialize()
    assert bob.receive_all() == []
    [event] = [e for e in bob.drain_events() if isinstance(e, ReceiveFailed)]
    assert event.sender == "alice:1"
    assert bob.session_with("dm:alice:bob", "alice:1").serialize() == session_before
    assert bob.relay.fetch()[0] == []
    alice.send_text("bob", "third")
    assert [m.body for m in bob.receive_all()] == ["third"]


def test_prekeys_are_replenished_when_they_run_low(make):
    bob = make("bob", one_time_prekeys=6, kem_prekeys=4)
    senders = [make(f"user{i}") for i in range(5)]
    for sender in senders:
        sender.send_text("bob", "new session")
    assert bob.relay.prekey_counts()["one_time"] == 1
    assert len(bob.receive_all()) == 5
    counts = bob.relay.prekey_counts()
    assert counts["one_time"] == 6 and counts["kem_one_time"] == 3
    late = make("late")
    late.send_text("bob", "after the top-up")
    assert [m.body for m in bob.receive_all()] == ["after the top-up"]


def test_device_restarts_from_its_encrypted_store(make, transport, clock, tmp_path):
    params = Argon2Params(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1)
    store = SqliteDeviceStore.create(tmp_path / "bob.db", "correct horse", params)
    alice = make("alice")
    bob = make("bob", store=store)
    alice.send_text("bob", "before the restart")
    assert [m.body for m in bob.receive_all()] == ["before the restart"]
    store.close()
    reopened = SqliteDeviceStore.open(tmp_path / "bob.db", "correct horse")
    bob_again = Device.restore("bob:1", transport, reopened, clock=clock)
    alice.send_text("bob", "after the restart")
    assert [m.body for m in bob_again.receive_all()] == ["after the restart"]
    bob_again.send_text("alice", "still me")
    assert [m.body for m in alice.receive_all()] == ["still me"]
    assert alice.drain_events() == []
    reopened.close()


def test_long_poll_returns_as_soon_as_a_message_arrives(make):
    alice = make("alice")
    bob = make("bob")
    alice.send_text("bob", "warm up")
    bob.receive_all()
    got = []
    waiter = threading.Thread(target=lambda: got.extend(bob.receive(wait=20)))
    waiter.start()
    alice.send_text("bob", "wake up")
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert [m.body for m in got] == ["wake up"]


def test_deferred_acks_ride_on_the_next_fetch(make, relay):
    alice = make("alice")
    bob = make("bob")
    alice.send_text("bob", "one")
    assert [m.body for m in bob.receive(defer_ack=True)] == ["one"]
    assert len(relay.archive.entries()) == 1
    alice.send_text("bob", "two")
    assert [m.body for m in bob.receive(defer_ack=True)] == ["two"]
    bob.flush_acks()
    assert bob.relay.fetch()[0] == []
    assert bob.duplicates == 0


def test_mode_mismatch_fails_closed(make):
    from messaging.errors import ModeMismatchError

    class OtherMode:
        mode = "other"

        def record_for_chain(self, context):
            return b""

        def check_chain(self, context, record):
            return None

    alice = make("alice")
    make("bob", hook=OtherMode())
    with pytest.raises(ModeMismatchError):
        alice.send_text("bob", "mode?")


class CountingTransport(InProcessTransport):
    def __init__(self, service) -> None:
        super().__init__(service)
        self.paths: list[str] = []

    def request(self, request) -> RelayResponse:
        self.paths.append(request.path)
        return super().request(request)


def test_queued_messages_leave_in_one_request_and_keep_their_order(make, relay, clock):
    counting = CountingTransport(relay)
    alice = Device.create("alice", 1, counting, clock=clock)
    bob = make("bob")
    carol = make("carol")
    for text in ("one", "two"):
        alice.queue_text("bob", text)
    alice.queue_text("carol", "three")
    before = counting.paths.count("/v1/messages")
    results = alice.flush()
    assert counting.paths.count("/v1/messages") == before + 1
    assert [len(ids) for ids in results] == [1, 1, 1]
    assert [relay.archive.entry(ids[0]).recipient for ids in results] == \
        ["bob:1", "bob:1", "carol:1"]
    assert [m.body for m in bob.receive_all()] == ["one", "two"]
    assert [m.body for m in carol.receive_all()] == ["three"]
