"""Answers lost after the relay committed: every write endpoint is safe to send again.

A client whose request committed but whose answer never came (relay killed
between commit and answer, connection dropped) sends the request again with a
fresh signature. Each case below loses exactly one answer, sometimes restarts
the relay on the same database, lets the client repeat, and checks that
nothing was lost or stored twice (docs/relay.md, "Retries").
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from messaging.client import Device
from messaging.clock import ManualClock
from messaging.errors import MessagingError
from messaging.hooks import NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.relay import RelayService, schema
from messaging.session import Session
from messaging.store import InMemoryDeviceStore
from messaging.transport import HttpTransport, RelayClient, RelayUnavailableError
from tests.relay.helpers import LoseAnswers, session_to, table_counts
from tests.relay.server import start_relay, stop_relay

ACK = ("POST", "/v1/messages/ack")
SYNC = ("POST", "/v1/messages/sync")
SEND = ("POST", "/v1/messages")
KEYS = ("PUT", "/v1/keys")
REGISTER = ("POST", "/v1/devices")


@pytest.fixture
def lossy(tmp_path, clock) -> LoseAnswers:
    return LoseAnswers(RelayService(f"sqlite:///{tmp_path / 'relay.sqlite'}", clock=clock))


def _device(lossy, user, clock, **kwargs) -> Device:
    return Device.create(user, 1, lossy, clock=clock, **kwargs)


def test_a_replayed_acknowledgement_after_a_restart_deletes_nothing_it_did_not_name(
        lossy, clock):
    alice = _device(lossy, "alice", clock)
    bob = _device(lossy, "bob", clock)
    for i in range(3):
        alice.send_text("bob", f"m{i}")
    lossy.lose[ACK] = 1
    assert [m.body for m in bob.receive()] == ["m0", "m1", "m2"]  # its ack committed, unheard
    assert lossy.lost == [ACK]
    lossy.restart()
    for i in range(3, 5):
        alice.send_text("bob", f"m{i}")  # SQLite rowids would reuse the acknowledged ids here
    assert [m.body for m in bob.receive_all()] == ["m3", "m4"]  # the replayed ack rides along
    assert bob.duplicates == 0
    assert table_counts(lossy.service)["queue"] == 0
    assert len(lossy.service.archive.entries()) == 5


def test_a_replayed_ack_request_acknowledges_nothing_new(lossy, clock, register):
    alice = _device(lossy, "alice", clock)
    bob = _device(lossy, "bob", clock)
    alice.send_text("bob", "first")
    items, _ = bob.relay.fetch()
    lossy.lose[ACK] = 1
    with pytest.raises(RelayUnavailableError):
        bob.relay.ack([i.id for i in items])
    lossy.restart()
    alice.send_text("bob", "second")
    assert bob.relay.ack([i.id for i in items]) == 0
    [waiting], _ = bob.relay.fetch()
    assert waiting.id not in {i.id for i in items}
    assert [m.body for m in bob.receive_all()] == ["second"]


def test_queue_and_archive_ids_are_never_reused_on_sqlite_or_postgresql():
    for table in (schema.queue, schema.archive):
        assert "AUTOINCREMENT" in str(CreateTable(table).compile(dialect=sqlite.dialect()))
        # PostgreSQL: SERIAL draws from a sequence, which never hands a value out twice.
        assert "SERIAL" in str(CreateTable(table).compile(dialect=postgresql.dialect()))


def test_a_lost_sync_answer_keeps_the_batch_queued_and_delivers_it_once(lossy, clock):
    alice = _device(lossy, "alice", clock)
    bob = _device(lossy, "bob", clock)
    alice.send_text("bob", "one")
    lossy.lose[ACK] = 1
    assert [m.body for m in bob.receive()] == ["one"]
    alice.send_text("bob", "two")
    lossy.lose[SYNC] = 1
    with pytest.raises(RelayUnavailableError):
        bob.receive()  # acknowledges "one" and fetches "two": the answer is lost
    lossy.restart()
    alice.send_text("bob", "three")
    assert [m.body for m in bob.receive_all()] == ["two", "three"]
    assert bob.duplicates == 0 and table_counts(lossy.service)["queue"] == 0


def test_a_resent_envelope_is_stored_and_delivered_once(lossy, clock):
    alice = _device(lossy, "alice", clock, retry_for=5)
    bob = _device(lossy, "bob", clock)
    lossy.lose[SEND] = 1
    [first] = alice.send_text("bob", "once")  # committed, answer lost, sent again
    assert lossy.lost == [SEND]
    assert [e.id for e in lossy.service.archive.entries()] == [first]
    assert table_counts(lossy.service)["queue"] == 1
    assert [m.body for m in bob.receive_all()] == ["once"]
    assert bob.duplicates == 0


def test_a_resent_batch_with_new_envelopes_stores_only_the_new_ones(lossy, clock):
    alice = _device(lossy, "alice", clock)
    bob = _device(lossy, "bob", clock)
    lossy.lose[SEND] = 1
    with pytest.raises(RelayUnavailableError):
        alice.send_text("bob", "first")
    alice.queue_text("bob", "second")
    lossy.restart()
    [[first], [second]] = alice.flush()
    assert second > first
    assert [e.id for e in lossy.service.archive.entries()] == [first, second]
    assert [m.body for m in bob.receive_all()] == ["first", "second"]
    assert bob.duplicates == 0


def test_a_resent_prekey_upload_is_a_no_op_even_after_a_bundle_was_handed_out(
        lossy, clock):
    identity = IdentityKeyPair.generate()
    bob = RelayClient(lossy, "bob:1", identity, clock)
    bob.register()
    upload = DevicePrekeys.generate(identity, "none", 3, 2).upload()
    lossy.lose[KEYS] = 1
    with pytest.raises(RelayUnavailableError):
        bob.upload_prekeys(upload)
    lossy.restart()
    alice = RelayClient(lossy, "alice:1", IdentityKeyPair.generate(), clock)
    alice.register()
    handed = alice.fetch_bundle("bob:1")
    assert bob.upload_prekeys(upload) == {"one_time": 2, "kem_one_time": 1}
    later = [alice.fetch_bundle("bob:1") for _ in range(2)]
    ids = [b.one_time_prekey.key_id for b in [handed, *later]]
    assert sorted(ids) == sorted(k.key_id for k in upload.one_time_prekeys)  # none twice


def test_a_resent_registration_is_a_no_op(lossy, clock):
    bob1 = _device(lossy, "bob", clock)
    identity = IdentityKeyPair.generate()
    client = RelayClient(lossy, "bob:2", identity, clock)
    lossy.lose[REGISTER] = 2
    for _ in range(2):
        with pytest.raises(RelayUnavailableError):
            client.register((bob1.address, bob1.identity))
    assert client.register((bob1.address, bob1.identity)) == \
        {"address": "bob:2", "registered": False}
    assert table_counts(lossy.service)["devices"] == 2


def test_a_resent_device_removal_answers_as_the_first(lossy, clock):
    bob1 = _device(lossy, "bob", clock)
    bob1.link_device(2)
    lossy.lose[("DELETE", "/v1/devices/bob:2")] = 1
    with pytest.raises(RelayUnavailableError):
        bob1.remove_device("bob:2")
    lossy.restart()
    assert bob1.relay.remove_device("bob:2") == {"removed": "bob:2"}
    assert set(bob1.relay.devices("bob")) == {"bob:1"}


def test_a_resent_bundle_fetch_hands_out_another_key_never_the_same(lossy, clock):
    _device(lossy, "bob", clock, one_time_prekeys=3)
    alice = RelayClient(lossy, "alice:1", IdentityKeyPair.generate(), clock)
    alice.register()
    lossy.lose[("GET", "/v1/keys/bob:1")] = 1
    with pytest.raises(RelayUnavailableError):
        alice.fetch_bundle("bob:1")
    second = alice.fetch_bundle("bob:1")
    third = alice.fetch_bundle("bob:1")
    assert second.one_time_prekey.key_id != third.one_time_prekey.key_id
    assert alice.fetch_bundle("bob:1").one_time_prekey is None  # the lost one was spent


def test_device_create_survives_a_lost_upload_answer_by_retrying(lossy, clock):
    lossy.lose[KEYS] = 1
    bob = _device(lossy, "bob", clock, retry_for=5)  # the retry got 409 before
    assert lossy.lost == [KEYS]
    alice = _device(lossy, "alice", clock)
    alice.send_text("bob", "hello new device")
    assert [m.body for m in bob.receive_all()] == ["hello new device"]


@pytest.mark.parametrize("lost", [REGISTER, KEYS])
def test_device_create_resumes_from_its_store_after_a_lost_answer(lossy, clock, lost):
    store = InMemoryDeviceStore()
    lossy.lose[lost] = 1
    with pytest.raises(RelayUnavailableError):
        _device(lossy, "bob", clock, store=store)
    lossy.restart()
    bob = _device(lossy, "bob", clock, store=store)  # was 409: the address was taken
    assert bob.identity.public == lossy.service.archive.identity("bob:1")
    assert bob.relay.prekey_counts() == {"one_time": 20, "kem_one_time": 10}
    alice = _device(lossy, "alice", clock)
    alice.send_text("bob", "after the outage")
    assert [m.body for m in bob.receive_all()] == ["after the outage"]


def test_device_create_refuses_a_store_of_a_device_in_use(lossy, clock):
    store = InMemoryDeviceStore()
    bob = _device(lossy, "bob", clock, store=store)
    _device(lossy, "alice", clock).send_text("bob", "a session")
    bob.receive_all()
    with pytest.raises(MessagingError, match="Device.restore"):
        _device(lossy, "bob", clock, store=store)


class _LoseHttpAnswers(HttpTransport):
    """HTTP to a real relay process, losing the answers of chosen requests (see LoseAnswers)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.lose: dict[tuple[str, str], int] = {}

    def request(self, request):
        response = super().request(request)
        key = (request.method, request.path.split("?")[0])
        if self.lose.get(key):
            self.lose[key] -= 1
            self.close()
            raise RelayUnavailableError("the relay's answer was lost (simulated)")
        return response


def test_over_http_a_lost_ack_answer_then_a_killed_relay_loses_no_message(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'relay.sqlite'}"
    process, url = start_relay(db_url)
    port = int(url.rsplit(":", 1)[1])
    transport = _LoseHttpAnswers(url)
    alice = Device.create("alice", 1, HttpTransport(url), retry_for=20)
    bob = Device.create("bob", 1, transport)
    try:
        for i in range(3):
            alice.send_text("bob", f"m{i}")
        transport.lose[ACK] = 1
        assert [m.body for m in bob.receive()] == ["m0", "m1", "m2"]
        stop_relay(process)  # SIGKILL
        process, _ = start_relay(db_url, port)
        transport.close()  # bob's kept-alive connection died with the relay
        for i in range(3, 5):
            alice.send_text("bob", f"m{i}")
        assert [m.body for m in bob.receive_all()] == ["m3", "m4"]
        assert bob.duplicates == 0
    finally:
        stop_relay(process)


def test_the_same_envelope_twice_in_one_request_is_stored_once(relay, register):
    alice, bob = register("alice:1"), register("bob:1")
    envelope = session_to(alice, bob).encrypt(b"twice")
    first, second = alice.client.send([envelope, envelope])
    assert first == second and [e.id for e in relay.archive.entries()] == [first]
    assert alice.client.send([envelope]) == [first]
    assert table_counts(relay)["queue"] == 1


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(st.tuples(st.just("send"), st.integers(1, 3)),
                                st.tuples(st.just("fetch"), st.just(0)),
                                st.tuples(st.just("ack"), st.integers(0, 50)),
                                st.tuples(st.just("restart"), st.just(0))), max_size=14))
def test_any_mix_of_sends_acks_replayed_acks_and_restarts_deletes_only_what_was_named(
        tmp_path_factory, steps):
    clock = ManualClock()
    path = tmp_path_factory.mktemp("relay") / "relay.sqlite"
    lossy = LoseAnswers(RelayService(f"sqlite:///{path}", clock=clock,
                                     sqlite_synchronous="OFF"))
    parties = {}
    for address in ("alice:1", "bob:1"):
        identity = IdentityKeyPair.generate()
        client = RelayClient(lossy, address, identity, clock)
        client.register()
        client.upload_prekeys(DevicePrekeys.generate(identity, "none", 1, 1).upload())
        parties[address] = (identity, client)
    (alice_id, alice), (_, bob) = parties["alice:1"], parties["bob:1"]
    session = Session.initiate(alice_id, "alice:1", alice.fetch_bundle("bob:1"), "bob:1",
                               "dm:alice:bob", NoEscrow(), clock)
    queued: set[bytes] = set()           # what the relay must still hold for bob
    named: dict[int, bytes] = {}         # queue id -> the envelope it first named
    acks: list[list[int]] = []           # every acknowledgement sent, to replay
    for op, n in steps:
        if op == "send":
            batch = [session.encrypt(b"m") for _ in range(n)]
            alice.send(batch)
            queued |= set(batch)
        elif op == "fetch":
            items, _ = bob.fetch(limit=500)
            for item in items:
                assert named.setdefault(item.id, item.envelope) == item.envelope
        elif op == "ack":
            if acks and n % 2:           # replay an earlier acknowledgement
                ids = acks[n % len(acks)]
            else:
                ids = sorted(named)[: n % 4]
                acks.append(ids)
            bob.ack(ids)
            queued -= {named[i] for i in ids}
        else:
            lossy.restart(sqlite_synchronous="OFF")
        items, _ = bob.fetch(limit=500)
        assert {item.envelope for item in items} == queued
    lossy.service.engine.dispose()
