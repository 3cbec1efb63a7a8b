"""Record scenarios S14 and S18 (docs/scenarios.md, "Catalogue"): what a modified sender or a
relay achieves by editing escrow records, modes and versions, against an honest recipient's
real session.

- S14 record-strip: a modified sender's next chain carries a record missing, zeroed,
  truncated, extended, random, one bit off, or valid for another context (chain key, time,
  conversation, recipient, chain number, the previous chain, another custodian set); for
  ``leaf16`` also a valid LEAF of another chain, a valid LEAF swapped in after encryption,
  random fields (which pass a w-bit checksum once in 2^w) and a searched field; ``none``
  accepts chains without a record by design.
- S18 downgrade: under a policy that requires escrow, a relay edits the mode in a bundle,
  flips or strips a header's mode or record, flips the protocol version; rogue clients
  never escrow, send garbage, or stop escrowing later.

Each variant is one :class:`Outcome`: ``forged_accepted`` (messages the recipient accepted
that it should not have), ``state_unchanged`` (its session or prekeys byte for byte), the
error it raised in ``details``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from escrow.crumple.hook import CrumpleEscrow
from escrow.leaf16.forgery import random_leaf, search_forgery
from escrow.threshold.hook import ThresholdEscrow
from escrowlab.scenarios.fixture import (
    QUICK_PUZZLE_BITS,
    Ees,
    make_custodians,
    make_set,
    rng,
    session_pair,
)
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.clock import ManualClock
from messaging.errors import (
    DecryptionError,
    HandshakeError,
    HookRefusedError,
    MessagingError,
    ModeMismatchError,
    WireFormatError,
)
from messaging.hooks import NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_records import PrekeyBundle
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session
from messaging.wire import Envelope, Header, parse_envelope


@dataclass
class ModifiedSender:
    """The real hook, with a tampering step on every record once ``tamper`` is set:
    ``tamper(sender, record, context, previous)``."""

    inner: object
    tamper: object = None
    last_honest: bytes = b""

    @property
    def mode(self) -> str:
        return self.inner.mode

    def record_for_chain(self, context):
        record = self.inner.record_for_chain(context)
        previous, self.last_honest = self.last_honest, record
        if self.tamper is None:
            return record
        return self.tamper(self, record, context, previous)

    def check_chain(self, context, record):
        self.inner.check_chain(context, record)


def _refusal(receive, serialize, expected=(HookRefusedError,)) -> dict:
    """Run ``receive`` against the honest side: what it raised, whether it accepted, and
    whether ``serialize()`` is byte for byte what it was."""
    before = serialize()
    try:
        receive()
    except MessagingError as exc:
        kinds = [k.__name__ for k in type(exc).__mro__ if issubclass(k, MessagingError)]
        return {"accepted": 0, "error": type(exc).__name__, "kinds": kinds, "message": str(exc),
                "expected_error": isinstance(exc, expected), "unchanged": serialize() == before}
    return {"accepted": 1, "error": None, "kinds": [], "message": "", "expected_error": False,
            "unchanged": serialize() == before}


def _refused(scenario_id, mode, variant, expected, seen, **details) -> Outcome:
    refused = seen["accepted"] == 0 and seen["expected_error"] and seen["unchanged"]
    return Outcome(scenario_id, mode, variant, expected, refused,
                   {"forged_accepted": seen["accepted"], "state_unchanged": seen["unchanged"],
                    "detectable": "recipient" if not seen["accepted"] else "none"},
                   {"error": seen["error"], "error_types": seen["kinds"],
                    "message": seen["message"], **details})


# -- S14, threshold and crumple ------------------------------------------------------------

def _hooks(mode: str):
    """(honest hook factory, the same mode's hook over another custodian set)."""
    ours, other = make_set(make_custodians(5), 3), make_set(make_custodians(5, "X"), 3)
    if mode == "crumple":
        return (lambda: CrumpleEscrow(ours, QUICK_PUZZLE_BITS),
                lambda: CrumpleEscrow(other, QUICK_PUZZLE_BITS))
    return lambda: ThresholdEscrow(ours), lambda: ThresholdEscrow(other)


def _other(**changes):
    def tamper(sender, record, context, previous):
        return sender.inner.record_for_chain(dataclasses.replace(context, **changes))
    return tamper


def threshold_variants(other_set):
    return {
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
        "other custodian set": lambda s, r, c, p: other_set().record_for_chain(c),
    }


FIRST_MESSAGE_VARIANTS = ("missing", "random", "other time")


def _threshold_strip(mode: str) -> list[Outcome]:
    honest, other_set = _hooks(mode)
    variants = threshold_variants(other_set)
    out = []
    expected = "refused by the recipient, session unchanged"
    for name, tamper in variants.items():
        sender = ModifiedSender(honest())
        pair = session_pair(sender, honest())
        pair.send("bob", b"reply")  # Alice's next chain is a new one
        sender.tamper = tamper
        envelope = pair.alice.encrypt(b"next chain")
        seen = _refusal(lambda e=envelope, p=pair: p.bob.decrypt(e), pair.bob.serialize)
        out.append(_refused("S14", mode, name, expected, seen))
    for name in FIRST_MESSAGE_VARIANTS:
        sender = ModifiedSender(honest(), tamper=variants[name])
        alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
        prekeys = DevicePrekeys.generate(bob, mode, 1, 1)
        upload = prekeys.upload()
        clock = ManualClock()
        session = Session.initiate(alice, "alice:1", upload.bundle(
            upload.one_time_prekeys[0], upload.kem_prekeys[0]), "bob:1", "C1", sender, clock)
        envelope = session.encrypt(b"hello")
        seen = _refusal(lambda e=envelope, k=prekeys, b=bob, c=clock: Session.respond(
            b, k, "bob:1", e, honest(), c), prekeys.serialize)
        out.append(_refused("S14", mode, f"first message: {name}",
                            "refused by the recipient, prekeys unchanged", seen))
    pair = session_pair(honest())
    pair.send("bob", b"reply")
    pair.send("alice", b"first of a chain")
    envelope = parse_envelope(pair.alice.encrypt(b"second of the chain"))
    swapped = dataclasses.replace(envelope, header=dataclasses.replace(
        envelope.header, record=os.urandom(len(envelope.header.record)))).encode()
    seen = _refusal(lambda: pair.bob.decrypt(swapped), pair.bob.serialize)
    original_read = pair.bob.decrypt(envelope.encode()) == b"second of the chain"
    out.append(_refused("S14", mode, "swapped mid-chain", "refused; the original still reads",
                        seen, original_read=original_read))
    return out


# -- S14, leaf16 ---------------------------------------------------------------------------

def _leaf_chain(tamper, width: int = 16):
    """An honest session, then Alice's next chain carries ``tamper(record, context)``."""
    ees = Ees(width)
    sender = ModifiedSender(ees.hook())
    pair = session_pair(sender, ees.hook())
    pair.send("bob", b"reply")
    sender.tamper = lambda s, r, c, p: tamper(r, c)
    return ees, pair, pair.alice.encrypt(b"next chain")


LEAF_MALFORMED = {
    "missing": lambda record, context: b"",
    "zeroed": lambda record, context: bytes(len(record)),
    "truncated": lambda record, context: record[:-5],
    "extended": lambda record, context: record + b"\0",
}


def _leaf_strip(params: Params) -> list[Outcome]:
    out = []
    expected = "refused by the recipient, session unchanged"
    for name, tamper in LEAF_MALFORMED.items():
        _, pair, envelope = _leaf_chain(tamper)
        seen = _refusal(lambda p=pair, e=envelope: p.bob.decrypt(e), pair.bob.serialize)
        out.append(_refused("S14", "leaf16", name, expected, seen))

    holder = {}

    def from_another_chain(record, context):
        return holder["ees"].module().make_leaf(dataclasses.replace(context,
                                                                    chain_key=bytes(32)))

    holder["ees"] = ees = Ees(32)
    sender = ModifiedSender(ees.hook())
    pair = session_pair(sender, ees.hook())
    pair.send("bob", b"reply")
    sender.tamper = lambda s, r, c, p: from_another_chain(r, c)
    envelope = pair.alice.encrypt(b"next chain")
    seen = _refusal(lambda: pair.bob.decrypt(envelope), pair.bob.serialize)
    out.append(_refused("S14", "leaf16", "valid LEAF of another chain (32-bit check)",
                        expected, seen))

    captured = {}

    def keep(record, context):
        captured["context"] = context
        return record

    ees, pair, envelope = _leaf_chain(keep)
    parsed, context = parse_envelope(envelope), captured["context"]
    other = ees.module().make_leaf(context)  # valid for this very chain (fresh IV)
    ees.hook().check_chain(context, other)
    h = parsed.header
    swapped = Envelope(parsed.version, parsed.conversation_id, parsed.sender, parsed.recipient,
                       parsed.prekey, Header(h.mode, h.chain_number, h.chain_time, h.ratchet_key,
                                             h.previous_chain_length, h.message_number, other),
                       parsed.ciphertext).encode()
    seen = _refusal(lambda: pair.bob.decrypt(swapped), pair.bob.serialize, (DecryptionError,))
    original_read = pair.bob.decrypt(envelope) == b"next chain"
    out.append(_refused("S14", "leaf16", "valid LEAF not matching the associated data",
                        "refused (the AEAD binds the record); the original still reads",
                        seen, original_read=original_read))

    random_source = rng(params.seed, "S14 random LEAF fields")
    trials = 16 if not params.full else 256
    passed = accepted = refused_unchanged = 0
    for _ in range(trials):
        seen_field = {}

        def random_field(record, context, box=seen_field):
            box["record"] = random_leaf(16, random_source)
            box["passes"] = box["oracle"].validate_leaf(box["record"], context)
            return box["record"]

        ees = Ees(16)
        seen_field["oracle"] = ees.module()
        sender = ModifiedSender(ees.hook())
        pair = session_pair(sender, ees.hook())
        pair.send("bob", b"reply")
        sender.tamper = lambda s, r, c, p, f=random_field: f(r, c)
        envelope = pair.alice.encrypt(b"next chain")
        seen = _refusal(lambda p=pair, e=envelope: p.bob.decrypt(e), pair.bob.serialize)
        passed += seen_field["passes"]
        accepted += seen["accepted"]
        refused_unchanged += (not seen["accepted"]) and seen["unchanged"] and \
            "checksum" in seen["message"]
    consistent = accepted == passed and refused_unchanged == trials - passed
    out.append(Outcome("S14", "leaf16", "random fields",
                       "refused unless the 16-bit checksum passes (once in 2^16)", consistent,
                       {"forged_accepted": accepted, "state_unchanged": consistent,
                        "detectable": "recipient"},
                       {"trials": trials, "passed_checksum": passed,
                        "refused_unchanged": refused_unchanged, "width": 16}))

    ees = Ees(8)
    oracle = ees.module()
    sender = ModifiedSender(ees.hook())
    pair = session_pair(sender, ees.hook())
    pair.send("bob", b"reply")
    sender.tamper = lambda s, r, c, p: search_forgery(oracle, c).record
    seen = _refusal(lambda: pair.bob.decrypt(pair.alice.encrypt(b"accepted")), lambda: b"")
    out.append(Outcome("S14", "leaf16", "searched field (8-bit check)",
                       "a field that passes the checksum is accepted", seen["accepted"] == 1,
                       {"forged_accepted": seen["accepted"], "detectable": "none"},
                       {"width": 8}))
    return out


@scenario("S14", "record-strip", "a modified sender strips or alters its escrow records",
          ("none", "threshold", "leaf16", "crumple"))
def record_strip(params: Params, mode: str) -> list[Outcome]:
    if mode == "leaf16":
        return _leaf_strip(params)
    if mode != "none":
        return _threshold_strip(mode)
    pair = session_pair(NoEscrow())
    records = [parse_envelope(pair.send("alice" if i % 2 else "bob", b"no escrow %d" % i))
               .header.record for i in range(4)]
    accepted = sum(record == b"" for record in records)
    return [Outcome("S14", mode, "no record", "accepted by design: nothing to check",
                    accepted == len(records),
                    {"forged_accepted": accepted, "detectable": "none"},
                    {"chains": len(records)})]


# -- S18 -----------------------------------------------------------------------------------

class RogueNoEscrow:
    """A modified client that claims the policy's mode but never escrows anything."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def record_for_chain(self, context):
        return b""

    def check_chain(self, context, record):
        return None


class RogueGarbage(RogueNoEscrow):
    def record_for_chain(self, context):
        return os.urandom(452)


class TurnsRogue:
    """A modified client: honest escrow until ``rogue`` is set, then none."""

    def __init__(self, honest) -> None:
        self.honest = honest
        self.mode = honest.mode
        self.rogue = False

    def record_for_chain(self, context):
        return b"" if self.rogue else self.honest.record_for_chain(context)

    def check_chain(self, context, record):
        self.honest.check_chain(context, record)


def _policy(mode: str):
    cset = make_set(make_custodians(3), 2)
    if mode == "crumple":
        return lambda: CrumpleEscrow(cset, QUICK_PUZZLE_BITS)
    return lambda: ThresholdEscrow(cset)


def _bob(mode: str):
    bob = IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, mode, 1, 1)
    upload = prekeys.upload()
    return bob, prekeys, upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])


def _initiate(bundle, hook):
    return Session.initiate(IdentityKeyPair.generate(), "alice:1", bundle, "bob:1", "C1", hook,
                            ManualClock())


def _edited(envelope: bytes, **changes) -> bytes:
    parsed = parse_envelope(envelope)
    return dataclasses.replace(parsed, header=dataclasses.replace(parsed.header,
                                                                  **changes)).encode()


def _outcome18(mode, variant, seen, **details) -> Outcome:
    return _refused("S18", mode, variant, "fail closed: 0 messages accepted below policy",
                    seen, **details)


@scenario("S18", "downgrade", "the relay or a rogue client downgrades escrow",
          ("threshold", "crumple"))
def downgrade(params: Params, mode: str) -> list[Outcome]:
    policy = _policy(mode)
    out = []
    for name, edit in (("bundle mode -> none", lambda d: d.update(mode="none")),
                       ("bundle mode -> leaf16", lambda d: d.update(mode="leaf16")),
                       ("bundle mode stripped", lambda d: d.pop("mode"))):
        _, _, bundle = _bob(mode)
        data = bundle.to_json()
        edit(data)
        seen = _refusal(lambda d=data: PrekeyBundle.from_json(d), lambda: b"",
                        (HandshakeError,))
        out.append(_outcome18(mode, name, seen))
    _, _, bundle = _bob(mode)
    flipped = dataclasses.replace(bundle, mode="none")
    out.append(_outcome18(mode, "flipped bundle object", _refusal(
        lambda: _initiate(flipped, NoEscrow()), lambda: b"", (HandshakeError,))))
    _, _, genuine_none = _bob("none")
    out.append(_outcome18(mode, "genuine no-escrow peer", _refusal(
        lambda: _initiate(genuine_none, policy()), lambda: b"", (ModeMismatchError,))))
    header_edits = {"header mode -> none": dict(mode="none"),
                    "header mode -> none, record stripped": dict(mode="none", record=b""),
                    "header mode -> leaf16": dict(mode="leaf16"),
                    "header record stripped": dict(record=b"")}
    for name, changes in header_edits.items():
        pair = session_pair(policy())
        pair.send("bob", b"reply")
        envelope = pair.alice.encrypt(b"new chain")
        seen = _refusal(lambda p=pair, e=envelope, c=changes: p.bob.decrypt(_edited(e, **c)),
                        pair.bob.serialize, (DecryptionError,))
        original_read = pair.bob.decrypt(envelope) == b"new chain"
        out.append(_outcome18(mode, name, seen, original_read=original_read))
    for name, changes in (("first message mode -> none", dict(mode="none")),
                          ("first message mode -> none, record stripped",
                           dict(mode="none", record=b""))):
        bob, prekeys, bundle = _bob(mode)
        envelope = _initiate(bundle, policy()).encrypt(b"hello")
        seen = _refusal(lambda b=bob, k=prekeys, e=envelope, c=changes: Session.respond(
            b, k, "bob:1", _edited(e, **c), policy(), ManualClock()), prekeys.serialize,
            (ModeMismatchError,))
        out.append(_outcome18(mode, name, seen))
    pair = session_pair(policy())
    envelope = pair.alice.encrypt(b"next")
    before = pair.bob.serialize()
    versions = {}
    for version in (0, 2, 3):  # 2 is the voucher layout (messaging.wire): known, misframed
        versions[version] = _refusal(lambda v=version: pair.bob.decrypt(
            bytes([v]) + envelope[1:]), pair.bob.serialize, (WireFormatError,))
    seen = dict(versions[0])
    seen["accepted"] = sum(v["accepted"] for v in versions.values())
    seen["expected_error"] = all(v["expected_error"] and (k == 2 or "version" in v["message"])
                                 for k, v in versions.items())
    seen["unchanged"] = pair.bob.serialize() == before
    out.append(_outcome18(mode, "protocol version flipped", seen, versions=sorted(versions)))
    for rogue in (RogueNoEscrow(mode), RogueGarbage(mode)):
        bob, prekeys, bundle = _bob(mode)
        alice = _initiate(bundle, rogue)
        accepted, errors = 0, set()
        for text in (b"first", b"second", b"third"):
            try:
                Session.respond(bob, prekeys, "bob:1", alice.encrypt(text), policy(),
                                ManualClock())
            except HookRefusedError as exc:
                errors.add(type(exc).__name__)
                continue
            accepted += 1
        out.append(Outcome("S18", mode, f"rogue client: {type(rogue).__name__}",
                           "fail closed: 0 messages accepted below policy", accepted == 0,
                           {"forged_accepted": accepted, "detectable": "recipient"},
                           {"attempts": 3, "errors": sorted(errors)}))
    client = TurnsRogue(policy())
    pair = session_pair(client, policy())
    pair.send("alice", b"escrowed")
    pair.send("bob", b"reply")
    client.rogue = True
    envelope = pair.alice.encrypt(b"unescrowed chain")
    out.append(_outcome18(mode, "rogue client stops escrowing later", _refusal(
        lambda: pair.bob.decrypt(envelope), pair.bob.serialize)))
    return out

