"""Trust on first use, identity-change events and verification by safety number."""

from __future__ import annotations

import pytest

from messaging.clock import ManualClock
from messaging.errors import IdentityChangedError, StateError
from messaging.identity import IdentityKeyPair
from messaging.safety import safety_number_for
from messaging.store import InMemoryDeviceStore
from messaging.trust import IdentityChanged, TrustRecord, TrustStore, peer_fingerprint

ALICE, BOB = "alice:1", "bob:1"


@pytest.fixture
def world():
    clock = ManualClock(1_700_000_000.0)
    store = InMemoryDeviceStore()
    alice = IdentityKeyPair.generate().public
    trust = TrustStore(store, alice, ALICE, clock)
    return trust, store, clock, alice


@pytest.fixture
def bob():
    return IdentityKeyPair.generate().public


@pytest.fixture
def mallory():
    return IdentityKeyPair.generate().public


def test_first_identity_is_recorded_unverified(world, bob):
    trust, _, clock, _ = world
    assert trust.observe(BOB, bob) is None
    record = trust.record(BOB)
    assert record.identity == bob and record.verified is False
    assert record.first_seen == clock.now()


def test_the_same_identity_again_is_no_event(world, bob):
    trust, _, clock, _ = world
    trust.observe(BOB, bob)
    clock.advance(60)
    assert trust.observe(BOB, bob) is None
    assert trust.record(BOB).first_seen == clock.now() - 60


def test_a_changed_identity_yields_an_event_and_replaces_the_record(world, bob, mallory):
    trust, _, clock, _ = world
    trust.observe(BOB, bob)
    clock.advance(3600)
    change = trust.observe(BOB, mallory)
    assert change == IdentityChanged(
        BOB, peer_fingerprint(bob, BOB), peer_fingerprint(mallory, BOB), clock.now()
    )
    assert change.old_fingerprint != change.new_fingerprint
    assert len(change.new_fingerprint) == 30 and change.new_fingerprint.isdigit()
    assert trust.record(BOB).identity == mallory
    assert trust.observe(BOB, mallory) is None


def test_event_fingerprints_are_the_peer_half_of_the_safety_number(world, bob, mallory):
    trust, _, _, alice = world
    trust.observe(BOB, bob)
    change = trust.observe(BOB, mallory)
    assert safety_number_for(alice, ALICE, mallory, BOB).remote == change.new_fingerprint
    assert safety_number_for(alice, ALICE, bob, BOB).remote == change.old_fingerprint


def test_verification_needs_the_matching_safety_number(world, bob):
    trust, _, _, alice = world
    trust.observe(BOB, bob)
    number = trust.safety_number(BOB)
    assert number == safety_number_for(alice, ALICE, bob, BOB)
    wrong = number.digits[:-1] + str((int(number.digits[-1]) + 1) % 10)
    assert trust.mark_verified(BOB, wrong) is False
    assert trust.is_verified(BOB) is False
    assert trust.mark_verified(BOB, number.formatted()) is True
    assert trust.is_verified(BOB) is True
    trust.mark_unverified(BOB)
    assert trust.is_verified(BOB) is False


def test_a_changed_identity_of_a_verified_peer_is_refused_and_changes_nothing(
    world, bob, mallory
):
    trust, store, _, _ = world
    trust.observe(BOB, bob)
    assert trust.mark_verified(BOB, trust.safety_number(BOB).digits)
    before = store.load_peer_identity(BOB)
    with pytest.raises(IdentityChangedError, match="changed after you verified") as info:
        trust.observe(BOB, mallory)
    assert info.value.change.new_fingerprint == peer_fingerprint(mallory, BOB)
    assert store.load_peer_identity(BOB) == before
    assert trust.is_verified(BOB)


def test_accepting_a_new_identity_records_it_unverified(world, bob, mallory):
    trust, _, _, _ = world
    trust.observe(BOB, bob)
    trust.mark_verified(BOB, trust.safety_number(BOB).digits)
    change = trust.accept(BOB, mallory)
    assert change.old_fingerprint == peer_fingerprint(bob, BOB)
    assert trust.record(BOB).identity == mallory and not trust.is_verified(BOB)
    assert trust.observe(BOB, mallory) is None
    assert trust.accept(BOB, mallory) is None


def test_the_safety_number_changes_with_the_peer_identity(world, bob, mallory):
    trust, _, _, _ = world
    trust.observe(BOB, bob)
    first = trust.safety_number(BOB)
    trust.observe(BOB, mallory)
    assert trust.safety_number(BOB) != first
    assert trust.mark_verified(BOB, first.digits) is False


def test_peers_are_independent(world, bob, mallory):
    trust, _, _, _ = world
    trust.observe(BOB, bob)
    trust.observe("bob:2", mallory)
    assert trust.record(BOB).identity == bob
    assert trust.record("bob:2").identity == mallory


def test_unknown_peer_has_no_safety_number_or_verification(world):
    trust, _, _, _ = world
    assert trust.record(BOB) is None and not trust.is_verified(BOB)
    with pytest.raises(StateError, match="no identity has been recorded"):
        trust.safety_number(BOB)
    with pytest.raises(StateError):
        trust.mark_verified(BOB, "0" * 60)


def test_records_round_trip(bob):
    record = TrustRecord(bob, True, 1_700_000_123.5)
    assert TrustRecord.decode(record.encode()) == record


@pytest.mark.parametrize(
    "data",
    [
        b"", b"\xff", b"[]", b"{}",
        b'{"version": 2, "identity": "", "verified": false, "first_seen": 1}',
        b'{"version": 1, "identity": "00", "verified": false, "first_seen": 1}',
        b'{"version": 1, "identity": "zz", "verified": false, "first_seen": 1}',
        b'{"version": 1, "identity": "00", "verified": 0, "first_seen": 1, "x": 1}',
    ],
)
def test_a_corrupt_record_raises_state_error(world, data):
    trust, store, _, _ = world
    store.store_peer_identity(BOB, data)
    with pytest.raises(StateError, match="corrupt"):
        trust.record(BOB)


def test_a_record_with_a_forged_binding_is_corrupt(world, bob, mallory):
    trust, store, _, _ = world
    good = TrustRecord(bob, True, 1.0).encode()
    forged = good.replace(bob.dh_key.hex().encode(), mallory.dh_key.hex().encode())
    store.store_peer_identity(BOB, forged)
    with pytest.raises(StateError, match="corrupt"):
        trust.record(BOB)


def test_a_non_finite_time_is_corrupt(world, bob):
    trust, store, _, _ = world
    store.store_peer_identity(BOB, TrustRecord(bob, False, 1.0).encode().replace(
        b'"first_seen": 1.0', b'"first_seen": NaN'))
    with pytest.raises(StateError, match="corrupt"):
        trust.record(BOB)


def test_a_corrupt_record_is_not_overwritten_by_observe(world, bob):
    trust, store, _, _ = world
    store.store_peer_identity(BOB, b"garbage")
    with pytest.raises(StateError):
        trust.observe(BOB, bob)
    assert store.load_peer_identity(BOB) == b"garbage"


def test_bad_addresses_are_rejected(world, bob):
    trust, _, _, _ = world
    with pytest.raises(ValueError):
        trust.observe("", bob)


def test_a_deeply_nested_stored_record_is_a_state_error():
    with pytest.raises(StateError):
        TrustRecord.decode(b"[" * 100_000)
