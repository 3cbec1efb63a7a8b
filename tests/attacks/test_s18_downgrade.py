"""S18 downgrade (docs/scenarios.md): a relay strips or flips the escrow mode or the protocol
version in bundles and headers; a rogue client marks its chains "no escrow".

Expected, under a policy that requires ``threshold``: fail closed, 0 messages
accepted below the policy, and the honest side's state unchanged.
"""

import dataclasses
import os

import pytest

from escrow.threshold.hook import ThresholdEscrow
from messaging.clock import ManualClock
from messaging.errors import (
    DecryptionError,
    HandshakeError,
    HookRefusedError,
    ModeMismatchError,
    WireFormatError,
)
from messaging.hooks import NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_records import PrekeyBundle
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session
from messaging.wire import parse_envelope
from tests.escrow.helpers import conversation, make_custodians, make_set

CUSTODIANS = make_custodians(3)


def policy():
    return ThresholdEscrow(make_set(CUSTODIANS, 2))


def bob_device(mode="threshold"):
    bob = IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, mode, 1, 1)
    upload = prekeys.upload()
    return bob, prekeys, upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])


def initiate(bundle, hook):
    return Session.initiate(IdentityKeyPair.generate(), "alice:1", bundle, "bob:1", "C1", hook,
                            ManualClock())


# -- bundles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("edit", [
    lambda d: d.update(mode="none"),
    lambda d: d.update(mode="leaf16"),
    lambda d: d.pop("mode"),
])
def test_a_relay_that_edits_the_mode_of_a_bundle_is_caught(edit):
    _, _, bundle = bob_device()
    data = bundle.to_json()
    edit(data)
    with pytest.raises(HandshakeError):
        PrekeyBundle.from_json(data)


def test_a_flipped_bundle_object_is_refused_by_initiate():
    _, _, bundle = bob_device()
    flipped = dataclasses.replace(bundle, mode="none")
    with pytest.raises(HandshakeError):
        initiate(flipped, NoEscrow())


def test_a_genuine_no_escrow_peer_is_refused_under_the_policy():
    _, _, bundle = bob_device("none")
    with pytest.raises(ModeMismatchError):
        initiate(bundle, policy())


# -- headers ---------------------------------------------------------------------------------

def _edited(envelope: bytes, **header_changes) -> bytes:
    parsed = parse_envelope(envelope)
    return dataclasses.replace(parsed, header=dataclasses.replace(parsed.header,
                                                                  **header_changes)).encode()


@pytest.mark.parametrize("changes", [
    dict(mode="none"),
    dict(mode="none", record=b""),
    dict(mode="leaf16"),
    dict(record=b""),
])
def test_a_relay_that_flips_or_strips_a_header_is_refused_mid_conversation(changes):
    conv = conversation(policy())
    conv.send("bob", b"reply")
    envelope = conv.alice.encrypt(b"new chain")
    before = conv.bob.serialize()
    # A flipped mode is a mode mismatch; a stripped record no longer matches the hash the
    # sender bound into the associated data, so the tag fails before the hook is asked.
    with pytest.raises(DecryptionError):
        conv.bob.decrypt(_edited(envelope, **changes))
    assert conv.bob.serialize() == before
    assert conv.bob.decrypt(envelope) == b"new chain"  # the original still goes through


@pytest.mark.parametrize("changes", [dict(mode="none"), dict(mode="none", record=b"")])
def test_a_relay_that_flips_the_first_message_is_refused(changes):
    bob, prekeys, bundle = bob_device()
    alice = initiate(bundle, policy())
    envelope = alice.encrypt(b"hello")
    before = prekeys.serialize()
    with pytest.raises(ModeMismatchError):
        Session.respond(bob, prekeys, "bob:1", _edited(envelope, **changes), policy(),
                        ManualClock())
    assert prekeys.serialize() == before


def test_a_relay_that_flips_the_protocol_version_is_refused():
    conv = conversation(policy())
    envelope = conv.alice.encrypt(b"next")
    before = conv.bob.serialize()
    for version in (0, 2):
        with pytest.raises(WireFormatError, match="version"):
            conv.bob.decrypt(bytes([version]) + envelope[1:])
    assert conv.bob.serialize() == before


# -- rogue clients ---------------------------------------------------------------------------

class RogueNoEscrow:
    """A modified client that claims the escrow mode but never escrows anything."""

    mode = "threshold"

    def record_for_chain(self, context):
        return b""

    def check_chain(self, context, record):
        return None


class RogueGarbage(RogueNoEscrow):
    def record_for_chain(self, context):
        return os.urandom(452)


@pytest.mark.parametrize("rogue", [RogueNoEscrow, RogueGarbage])
def test_a_rogue_client_that_skips_escrow_gets_no_message_accepted(rogue):
    bob, prekeys, bundle = bob_device()
    alice = initiate(bundle, rogue())
    accepted = 0
    for text in (b"first", b"second", b"third"):
        try:
            Session.respond(bob, prekeys, "bob:1", alice.encrypt(text), policy(),
                            ManualClock())
        except HookRefusedError:
            continue
        accepted += 1
    assert accepted == 0


class TurnsRogue:
    """A modified client: honest escrow until ``rogue`` is set, then none."""

    mode = "threshold"

    def __init__(self) -> None:
        self.honest = policy()
        self.rogue = False

    def record_for_chain(self, context):
        return b"" if self.rogue else self.honest.record_for_chain(context)

    def check_chain(self, context, record):
        self.honest.check_chain(context, record)


def test_a_rogue_client_that_stops_escrowing_later_is_refused_from_that_chain_on():
    client = TurnsRogue()
    conv = conversation(client, bob_hook=policy())
    conv.send("alice", b"escrowed")
    conv.send("bob", b"reply")
    client.rogue = True
    envelope = conv.alice.encrypt(b"unescrowed chain")
    before = conv.bob.serialize()
    with pytest.raises(HookRefusedError):
        conv.bob.decrypt(envelope)
    assert conv.bob.serialize() == before
