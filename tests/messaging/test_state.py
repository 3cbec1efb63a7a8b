"""Serialised session state: strict parsing; any corruption is a StateError
(docs/architecture.md)."""

import json

import pytest

from messaging.clock import ManualClock
from messaging.errors import StateError
from messaging.hooks import NoEscrow
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session
from tests.messaging.helpers import make_pair


def _state_bytes(obj) -> bytes:
    """Canonical like ``SessionState.serialize``: each field's own check must refuse."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _prekey_bytes(obj) -> bytes:
    """Canonical like ``DevicePrekeys.serialize``."""
    return json.dumps(obj, sort_keys=True).encode()


@pytest.fixture(scope="module")
def states():
    alice, bob, _, prekeys = make_pair()
    bob.decrypt(alice.encrypt(b"more"))
    skipped_source = alice.encrypt(b"skipped")  # noqa: F841 (leaves a skipped key at bob)
    bob.decrypt(alice.encrypt(b"after"))
    return json.loads(alice.serialize()), json.loads(bob.serialize()), prekeys


CORRUPTIONS = [
    ("conversation", "\ud800"), ("conversation", 5), ("conversation", ""),
    ("conversation", "x" * 256), ("local", "a\nb"), ("mode", "none\x00"),
    ("ns", -1), ("ns", True), ("ns", 1.5), ("ns", "3"), ("nr", 2**32), ("pn", None),
    ("send_chain", -2), ("recv_chains", False), ("send_time", -1), ("send_time", 2**64),
    ("rk", "00"), ("rk", "zz" * 32), ("dhs", "00" * 31), ("dhr", "00"), ("cks", "00" * 33),
    ("ckr", 7), ("send_record", "00" * 16385), ("recv_chain_digest", "00" * 5),
    ("skipped", "abcd"), ("skipped", [["00" * 32, 1, "00" * 32]]),
    ("skipped", [["00" * 32, -1, "00" * 32, "00" * 32]]),
    ("skipped", [["00" * 31, 1, "00" * 32, "00" * 32]]),
    ("skipped", {"a": 1}), ("prekey", [1, 2]), ("prekey", {"ek": "00"}),
    ("v", True), ("v", 1.0), ("extra", 1), ("rk", "AB" * 32), ("send_time", 10**400),
    ("local", "bob\udfff:1"),
]


@pytest.mark.parametrize(("key", "value"), CORRUPTIONS, ids=lambda v: repr(v)[:20])
def test_every_corrupted_field_is_a_state_error(states, key, value):
    for state in states[:2]:
        corrupt = dict(state, **{key: value})
        with pytest.raises(StateError):
            Session.deserialize(_state_bytes(corrupt), NoEscrow(), ManualClock())


@pytest.mark.parametrize(("key", "value"), [
    ("identity", "00" * 10), ("ek", "00" * 31), ("spk", -1), ("otk", 2**32), ("kem", True),
    ("ct", "00" * 1087), ("extra", None)])
def test_a_corrupted_pending_prekey_block_is_a_state_error(states, key, value):
    alice = states[0]
    assert alice["prekey"] is not None
    corrupt = dict(alice, prekey=dict(alice["prekey"], **{key: value}))
    with pytest.raises(StateError):
        Session.deserialize(_state_bytes(corrupt), NoEscrow(), ManualClock())


@pytest.mark.parametrize("data", [b"[" * 100_000, b"\xff", b"null", b"[]", b'"x"'])
def test_non_object_or_deeply_nested_input_is_a_state_error(data):
    with pytest.raises(StateError):
        Session.deserialize(data, NoEscrow(), ManualClock())
    with pytest.raises(StateError):
        DevicePrekeys.deserialize(data)


def test_the_parsed_state_round_trips_byte_for_byte(states):
    for state in states[:2]:
        data = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
        assert Session.deserialize(data, NoEscrow(), ManualClock()).serialize() == data


@pytest.mark.parametrize("changes", [
    {"send_record": None, "ns": 3},  # the hook would be handed CK_3 as the chain's CK_0
    {"cks": None, "ns": 2},
    {"cks": None, "send_record": ""},
])
def test_a_state_whose_sending_chain_fields_contradict_each_other_is_a_state_error(
        states, changes):
    corrupt = dict(states[0], **changes)
    with pytest.raises(StateError, match="sending chain"):
        Session.deserialize(_state_bytes(corrupt), NoEscrow(), ManualClock())


@pytest.fixture(scope="module")
def prekey_state():
    from messaging.identity import IdentityKeyPair

    return json.loads(DevicePrekeys.generate(IdentityKeyPair.generate(), "none", 2, 1).serialize())


@pytest.mark.parametrize("change", [
    lambda o: {"v": True}, lambda o: {"v": 1.0}, lambda o: {"extra": 1}, lambda o: {"mode": 5},
    lambda o: {"identity": o["identity"].upper()}, lambda o: {"next": 10**400},
    lambda o: {"otk": {"1" * 5000: next(iter(o["otk"].values()))}},
    lambda o: {"spk": [True, o["spk"][1]]}, lambda o: {"spk": ["1", o["spk"][1]]},
    lambda o: {"spk": [1, o["spk"][1], 3]}, lambda o: {"last": [2, "00"]},
    lambda o: {"next": -3}, lambda o: {"next": 1.5},
    lambda o: {"next": 1},  # would hand out ids already in use
    lambda o: {"otk": {"x": "00"}}, lambda o: {"otk": {"-1": next(iter(o["otk"].values()))}},
    lambda o: {"otk": {"01": next(iter(o["otk"].values()))}},
    lambda o: {"kem": {str(o["spk"][0]): next(iter(o["kem"].values()))}},  # id reused
], ids=lambda f: "")
def test_every_corrupted_prekey_state_field_is_a_state_error(prekey_state, change):
    corrupt = dict(prekey_state, **change(prekey_state))
    with pytest.raises(StateError):
        DevicePrekeys.deserialize(_prekey_bytes(corrupt))


def test_prekey_state_round_trips(prekey_state):
    data = json.dumps(prekey_state, sort_keys=True).encode()
    assert DevicePrekeys.deserialize(data).serialize() == data
