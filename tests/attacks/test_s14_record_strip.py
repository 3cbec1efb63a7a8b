"""S14 record-strip under ``threshold`` and ``none`` (docs/scenarios.md): a modified sender sends
chains whose record is missing, zeroed, truncated, random, or valid but made for another
context.

Expected: ``threshold``: every variant refused by the honest recipient with its
session (or, for a first message, its prekeys) unchanged; ``none``: a chain
without a record is accepted, by design.
"""

import dataclasses
import os
from dataclasses import dataclass

import pytest

from escrow.threshold.hook import ThresholdEscrow
from messaging.clock import ManualClock
from messaging.errors import HookRefusedError
from messaging.hooks import NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session
from messaging.wire import parse_envelope
from tests.escrow.helpers import conversation, make_custodians, make_set

CUSTODIANS = make_custodians(5)
OTHER_CUSTODIANS = make_custodians(5, "X")


@dataclass
class ModifiedSender:
    """The real hook, with a tampering step on every record once ``tamper`` is set."""

    inner: ThresholdEscrow
    tamper: object = None
    mode: str = "threshold"
    last_honest: bytes = b""

    def record_for_chain(self, context):
        record = self.inner.record_for_chain(context)
        previous, self.last_honest = self.last_honest, record
        if self.tamper is None:
            return record
        return self.tamper(self, record, context, previous)

    def check_chain(self, context, record):
        self.inner.check_chain(context, record)


def _other(**changes):
    def tamper(sender, record, context, previous):
        return sender.inner.record_for_chain(dataclasses.replace(context, **changes))
    return tamper


VARIANTS = {
    "missing": lambda s, r, c, p: b"",
    "zeroed": lambda s, r, c, p: bytes(len(r)),
    "truncated": lambda s, r, c, p: r[:-5],
    "extended": lambda s, r, c, p: r + b"\0",
    "random": lambda s, r, c, p: os.urandom(len(r)),
    "one bit": lambda s, r, c, p: r[:-1] + bytes([r[-1] ^ 1]),
    "other chain key": _other(chain_key=bytes(32)),
    "other time": _other(time=1),
    "other conversation": _other(conversation_id="C2"),
    "other recipient": _other(recipient="carol:1"),
    "other chain number": _other(chain_number=9),
    "previous chain's record": lambda s, r, c, p: p,
    "other custodian set": lambda s, r, c, p: ThresholdEscrow(
        make_set(OTHER_CUSTODIANS, 3)).record_for_chain(c),
}


def honest():
    return ThresholdEscrow(make_set(CUSTODIANS, 3))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_threshold_refuses_every_modified_record_and_changes_nothing(variant):
    sender = ModifiedSender(honest())
    conv = conversation(sender, bob_hook=honest())
    conv.send("bob", b"reply")  # Alice's next chain is a new one
    sender.tamper = VARIANTS[variant]
    envelope = conv.alice.encrypt(b"next chain")
    before = conv.bob.serialize()
    with pytest.raises(HookRefusedError):
        conv.bob.decrypt(envelope)
    assert conv.bob.serialize() == before


@pytest.mark.parametrize("variant", ["missing", "random", "other time"])
def test_threshold_refuses_a_modified_first_message_and_keeps_the_prekeys(variant):
    sender = ModifiedSender(honest(), tamper=VARIANTS[variant])
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, "threshold", 1, 1)
    upload = prekeys.upload()
    clock = ManualClock()
    session = Session.initiate(alice, "alice:1", upload.bundle(upload.one_time_prekeys[0],
                                                               upload.kem_prekeys[0]),
                               "bob:1", "C1", sender, clock)
    envelope = session.encrypt(b"hello")
    before = prekeys.serialize()
    with pytest.raises(HookRefusedError):
        Session.respond(bob, prekeys, "bob:1", envelope, honest(), clock)
    assert prekeys.serialize() == before


def test_threshold_refuses_a_record_swapped_in_the_middle_of_an_accepted_chain():
    conv = conversation(honest())
    conv.send("bob", b"reply")
    conv.send("alice", b"first of a chain")
    envelope = parse_envelope(conv.alice.encrypt(b"second of the chain"))
    swapped = dataclasses.replace(envelope, header=dataclasses.replace(
        envelope.header, record=os.urandom(len(envelope.header.record)))).encode()
    before = conv.bob.serialize()
    with pytest.raises(HookRefusedError, match="differs from the one accepted"):
        conv.bob.decrypt(swapped)
    assert conv.bob.serialize() == before
    assert conv.bob.decrypt(envelope.encode()) == b"second of the chain"


def test_none_accepts_chains_without_a_record_by_design():
    conv = conversation(NoEscrow())
    for i in range(4):
        envelope = conv.send("alice" if i % 2 else "bob", b"no escrow %d" % i)
        assert parse_envelope(envelope).header.record == b""
