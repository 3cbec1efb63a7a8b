"""Several relays on one PostgreSQL database (docs/relay.md, "Several relay processes"): each
one-time prekey handed out once across them, a long poll in one woken by an envelope sent
through another, and no acknowledged message lost or duplicated when one process is killed.
Each test gets a new database on the real server of ``tests/postgres.py``."""

from __future__ import annotations

import random
import threading
import time

from messaging.clock import ManualClock
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.relay import RelayLimits, RelayService
from messaging.relay.inprocess import InProcessTransport
from messaging.transport import RelayClient
from tests.relay.helpers import session_to

LONG_WAIT = 20  # seconds a fetch may wait; a wake-up ends it long before


def _relays(url, count, clock, limits=None):
    RelayService(url, init=True).close()
    relays = [RelayService(url, clock=clock, limits=limits) for _ in range(count)]
    for relay in relays:
        assert relay._wakeups.listening.wait(10), "the wake-up listener never started"
    return relays


class _Party:
    def __init__(self, relay, address, clock, one_time=3, kem=2):
        self.address = address
        self.identity = IdentityKeyPair.generate()
        self.client = RelayClient(InProcessTransport(relay), address, self.identity, clock)
        self.client.register()
        self.prekeys = DevicePrekeys.generate(self.identity, "none", one_time, kem)
        self.client.upload_prekeys(self.prekeys.upload())


def test_one_time_prekeys_are_handed_out_once_across_relays(postgres_url):
    clock = ManualClock()
    relays = _relays(postgres_url, 3, clock, RelayLimits(bundle_fetches_per_window=1000))
    try:
        _Party(relays[0], "bob:1", clock, one_time=30, kem=15)
        handed, kem, lock = [], [], threading.Lock()

        def fetch(index):
            client = RelayClient(InProcessTransport(relays[index % 3]), f"f{index}:1",
                                 IdentityKeyPair.generate(), clock)
            client.register()
            for _ in range(12):
                bundle = client.fetch_bundle("bob:1")
                with lock:
                    if bundle.one_time_prekey:
                        handed.append(bundle.one_time_prekey.key_id)
                    if not bundle.kem_last_resort:
                        kem.append(bundle.kem_prekey.key_id)

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(handed) == 30 and len(set(handed)) == 30
        assert len(kem) == 15 and len(set(kem)) == 15
    finally:
        for relay in relays:
            relay.close()


def test_a_long_poll_is_woken_by_an_envelope_sent_through_another_relay(postgres_url):
    clock = ManualClock()
    sender_relay, receiver_relay = _relays(postgres_url, 2, clock)
    try:
        alice = _Party(sender_relay, "alice:1", clock)
        bob = _Party(receiver_relay, "bob:1", clock)
        session = session_to(alice, bob)
        answer = {}

        def poll():
            started = time.monotonic()
            answer["items"] = bob.client.fetch(wait=LONG_WAIT)
            answer["seconds"] = time.monotonic() - started

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.3)  # the fetch found the queue empty and waits
        alice.client.send([session.encrypt(b"across processes")])
        poller.join(LONG_WAIT + 10)
        items, more = answer["items"]
        assert len(items) == 1 and more is False
        # woken, not timed out: it returned well before its wait would have ended
        assert answer["seconds"] < LONG_WAIT / 2
    finally:
        sender_relay.close()
        receiver_relay.close()


def test_a_long_poll_is_not_woken_by_a_rolled_back_send(postgres_url):
    clock = ManualClock()
    sender_relay, receiver_relay = _relays(postgres_url, 2, clock)
    try:
        bob = _Party(receiver_relay, "bob:1", clock)
        version = receiver_relay.queue_version("bob:1")

        class Refused(Exception):
            pass

        try:
            with sender_relay.transaction() as conn:
                sender_relay._wakeups.notify(conn, ["bob:1"])
                raise Refused
        except Refused:
            pass
        assert receiver_relay.wait_for_queue("bob:1", version, 1.0) is None
        assert bob.client.fetch() == ([], False)
    finally:
        sender_relay.close()
        receiver_relay.close()


def test_killing_one_of_two_relay_processes_loses_and_duplicates_nothing(postgres_url, tmp_path):
    from escrowlab.crash.relay_trials import relay_trial

    RelayService(postgres_url, init=True).close()
    outcome = relay_trial(random.Random(20261203), tmp_path, db_url=postgres_url, processes=2)
    assert outcome.acknowledged > 0
    assert outcome.ok, outcome.problems
