"""``escrowlab demo --escrow threshold``: t-of-n custodian escrow, then a lawful recovery
(issue 5, "Demo"; DESIGN.md, "Data flow" 2-5).

The conversation of :mod:`escrowlab.demo` runs with every device's hook set to
:class:`escrow.threshold.ThresholdEscrow` for a freshly generated custodian
set. Then an authorisation for a window of the 1:1 chat (judged by the relay's
receipt times) is issued, t-1 custodians are shown to be not enough, t
custodians release their shares of exactly the records in scope, and
:func:`escrow.recovery.recover` reads the window's messages and reports how
many more the recovered chain keys could open.
"""

from __future__ import annotations

import argparse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import SignedAuthorisation, TrustedIssuers
from escrow.custodian import Custodian
from escrow.custodian_set import CustodianSet
from escrow.errors import EscrowError
from escrow.recovery import recover
from escrow.release import release_share
from escrow.scope import records_in_scope
from escrow.threshold import ThresholdEscrow
from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError
from escrowlab.demo import (
    Narrator,
    demo_chats,
)
from messaging.client import decode_content
from messaging.errors import WireFormatError

DESCRIPTION = "t-of-n custodians hold shares of every chain key; a warrant reads a window"
DEFAULT_CUSTODIANS = 5
DEFAULT_THRESHOLD = 3
WARRANT_LIFETIME = 10 * 86_400.0
JUDGE = "judge-1"
# The figures every escrow demo reports at the top level of its JSON, to compare modes.
COMPARABLE_FIGURES = ("messages_in_scope", "messages_recovered", "out_of_scope_recoverable")


def comparable(recovery: dict) -> dict:
    """The :data:`COMPARABLE_FIGURES` of a mode's recovery summary."""
    return {key: recovery[key] for key in COMPARABLE_FIGURES}


# The crumple demo reuses the custodian options this module declares.
OPTIONS_ALSO_FOR = ("crumple",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("threshold and crumple modes")
    group.add_argument("--custodians", type=int_in_range(2, 16), default=DEFAULT_CUSTODIANS,
                       metavar="N", help=f"custodians n (2..16, default {DEFAULT_CUSTODIANS})")
    group.add_argument("--threshold", type=int_in_range(1, 16), default=DEFAULT_THRESHOLD,
                       metavar="T",
                       help=f"custodians needed to recover, t (2..n, default "
                            f"{DEFAULT_THRESHOLD})")


def make_custodians(args: argparse.Namespace, narrator: Narrator
                    ) -> tuple[list[Custodian], CustodianSet]:
    """The key ceremony, in memory (``escrowlab escrow ceremony`` writes it to disk)."""
    n, t = args.custodians, args.threshold
    if not 2 <= n <= 16:
        raise CommandError("--custodians must be in 2..16")
    custodians = [Custodian.generate(f"K{i + 1}", f"Custodian {i + 1}", "JA") for i in range(n)]
    try:
        cset = CustodianSet(1, t, tuple(c.public for c in custodians))
    except EscrowError as exc:
        raise CommandError(str(exc)) from None
    narrator.section("Key ceremony")
    narrator.say(f"{n} custodians K1..K{n} each generate an X25519 key (receives shares) and an "
                 f"Ed25519 key (signs releases). Any {t} of them can reopen a chain.")
    narrator.detail(f"custodian set {cset.describe()}; every device pins this fingerprint")
    return custodians, cset


def _window(entries: list, conversation_id: str) -> tuple[float, float]:
    """The middle third of the conversation, by the relay's receipt times (all of it when
    the chat is shorter than three messages)."""
    times = sorted({e.received_at for e in entries if e.conversation_id == conversation_id})
    if len(times) < 3:
        return times[0], times[-1] + 1
    return times[len(times) // 3], times[2 * len(times) // 3]


def _text(plaintext: bytes) -> str:
    try:
        return decode_content(plaintext)["body"]
    except WireFormatError:
        return plaintext.decode("utf-8", "replace")


def lawful_recovery(world, narrator: Narrator, hook: ThresholdEscrow,
                    custodians: list[Custodian], conversation_id: str) -> dict:
    """Warrant, releases and recovery of a window of ``conversation_id``; the JSON summary."""
    cset = hook.custodian_set
    archive = world.relay.archive
    start, end = _window(archive.entries(), conversation_id)
    scoped = records_in_scope(hook.check_record, archive, conversation_id, start, end)
    judge = Ed25519PrivateKey.generate()
    recovery_key = X25519PrivateKey.generate()
    authorisation = SignedAuthorisation.issue(
        JUDGE, judge, "demo-warrant-1", tuple(s.ref for s in scoped),
        recovery_key.public_key().public_bytes_raw(), world.clock.now() + WARRANT_LIFETIME)
    verifier = TrustedIssuers({JUDGE: judge.public_key().public_bytes_raw()})
    narrator.section("Lawful access")
    narrator.say(f"{JUDGE} signs an authorisation for {conversation_id}, messages the relay "
                 f"received in [{start:.0f}, {end:.0f}) (receipt times, not the senders' "
                 f"claims): {len(scoped)} escrow records (one per sending chain), a one-time "
                 "recovery key, expiry in 10 days.")

    released = []
    names = []
    for custodian in custodians[:cset.threshold]:
        shares = [release_share(custodian, cset, authorisation, verifier, s.envelope,
                                world.clock) for s in scoped]
        released += shares
        names.append(custodian.custodian_id)
        narrator.say(f"{custodian.custodian_id} checks the judge's signature and that each "
                     f"record is named, opens its share of {len(shares)} records, re-encrypts "
                     "each to the recovery key and signs the release.")
    refused = [c.custodian_id for c in custodians[cset.threshold:]]
    if refused:
        narrator.say(f"{', '.join(refused)} do not take part (offline or declining): "
                     f"{cset.threshold} are enough.")

    short = [r for r in released if r.custodian_id in names[:-1]]
    below = recover(hook, archive, conversation_id, start, end, short, recovery_key,
                    authorisation=authorisation)
    if below.chains_recovered:
        below_threshold = "recovered"
    else:
        below_threshold = below.chains[0].reason if below.chains else "nothing in scope"
        narrator.say(f"With only {len(names) - 1} custodians' releases no chain is recovered: "
                     f"{below_threshold}")

    report = recover(hook, archive, conversation_id, start, end, released, recovery_key,
                     authorisation=authorisation)
    narrator.say(f"With {len(names)} custodians' releases the recovery combines the SLIP-39 "
                 f"shares, checks each chain key by recomputing its record, and decrypts "
                 f"{report.messages_recovered} of {report.messages_in_scope} envelopes in "
                 "the window:")
    for message in report.messages:
        narrator.detail(f"{message.received_at:.0f} {message.sender} -> {message.recipient}: "
                        f"{_text(message.plaintext)!r}")
    counts = ", ".join(f"{n} {outcome.replace('_', ' ')}"
                       for outcome, n in report.outcome_counts().items() if n)
    narrator.say(f"Chains in the window: {counts}.")
    narrator.say(f"Over-collection: the recovered chain keys also open "
                 f"{report.out_of_scope_recoverable} envelopes outside the window, of the "
                 f"{report.over_collection_basis['archived_envelopes']} the relay archived "
                 "for this conversation (a chain key unlocks its whole chain, not one "
                 "message).")
    narrator.say("Nothing in the protocol told Alice or Bob: t custodians acting together "
                 "could do the same without any warrant (scenario S02).")
    return {
        "window": [start, end],
        "records_in_scope": len(scoped),
        "messages_in_scope": report.messages_in_scope,
        "messages_recovered": report.messages_recovered,
        "out_of_scope_recoverable": report.out_of_scope_recoverable,
        "out_of_scope_computed_against": report.over_collection_basis,
        "chain_outcomes": report.outcome_counts(),
        "chains": [c.to_json() for c in report.chains],
        "authorisation_sha256": authorisation.digest.hex(),
        "custodians_released": names,
        "custodians_not_released": refused,
        "culprits": list(report.culprits),
        "below_threshold": below_threshold,
        "texts_recovered": sorted({_text(m.plaintext) for m in report.messages}),
    }


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    narrator.say(f"escrowlab demo, escrow mode 'threshold' ({args.threshold}-of-"
                 f"{args.custodians} custodians)")
    custodians, cset = make_custodians(args, narrator)
    hook = ThresholdEscrow(cset)
    with demo_chats(args, narrator, hook_for=lambda address: hook) as chats:
        recovery = lawful_recovery(chats.world, narrator, hook, custodians,
                                   chats.direct["conversation_id"])
        return {**chats.summary("threshold"), "custodians": cset.n,
                "threshold": cset.threshold, "set_fingerprint": cset.fingerprint.hex(),
                **recovery}
