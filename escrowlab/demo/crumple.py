"""``escrowlab demo --escrow crumple``: crypto crumple zones (Wright and Varia, IEEE S&P 2018).

The conversation of :mod:`escrowlab.demo` under :class:`escrow.crumple.hook.CrumpleEscrow`:
t-of-n custodians share each chain key *locked under a k-bit puzzle*. A lawful
recovery of the Alice-Bob window runs as under ``threshold`` (signed
authorisation naming the in-scope records, t custodians release, shares
combine), then brute-forces one puzzle per chain and reports the work, and
what the whole archive would cost at the same rate.
"""

from __future__ import annotations

import argparse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import SignedAuthorisation, TrustedIssuers
from escrow.crumple.hook import CrumpleEscrow
from escrow.crumple.puzzle import MAX_PUZZLE_BITS, MIN_PUZZLE_BITS
from escrow.crumple.recovery import recover
from escrow.crumple.solver import SolverPool
from escrow.record import record_digest
from escrow.release import release_share
from escrow.scope import records_in_scope
from escrowlab.demo import (
    Narrator,
    demo_chats,
)
from escrowlab.demo.threshold import comparable, make_custodians
from messaging.client import decode_content, direct_conversation_id

DESCRIPTION = "crypto crumple zones: threshold escrow of chain keys locked by a k-bit puzzle"
DEMO_PUZZLE_BITS = 16
MAX_DEMO_PUZZLE_BITS = min(28, MAX_PUZZLE_BITS)  # the proposal's top; k=28 is minutes a chain
DEFAULT_CUSTODIANS = 5
DEFAULT_THRESHOLD = 3
ISSUER = "judge-1"
DAY = 86_400.0


def _bits(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer number of bits") from None
    if not MIN_PUZZLE_BITS <= value <= MAX_DEMO_PUZZLE_BITS:
        raise argparse.ArgumentTypeError(f"expected {MIN_PUZZLE_BITS}..{MAX_DEMO_PUZZLE_BITS} "
                                         f"bits, got {value}")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of worker processes") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("expected 1..64 worker processes")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--puzzle-bits", type=_bits, default=DEMO_PUZZLE_BITS, metavar="K",
                        help=f"crumple: puzzle size k in bits, {MIN_PUZZLE_BITS}.."
                             f"{MAX_DEMO_PUZZLE_BITS} (default {DEMO_PUZZLE_BITS}; the "
                             "proposal's range is 16..28, each bit doubles the work)")
    parser.add_argument("--puzzle-workers", type=_workers, default=1, metavar="N",
                        help="crumple: worker processes for the puzzle search (default 1)")


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    bits = getattr(args, "puzzle_bits", DEMO_PUZZLE_BITS)
    workers = getattr(args, "puzzle_workers", 1)
    args.custodians = getattr(args, "custodians", DEFAULT_CUSTODIANS)
    args.threshold = getattr(args, "threshold", DEFAULT_THRESHOLD)
    n, t = args.custodians, args.threshold
    narrator.say(f"escrowlab demo, escrow mode 'crumple' ({t}-of-{n} custodians, {bits}-bit "
                 "puzzle per chain)")
    custodians, custodian_set = make_custodians(args, narrator)
    hook = CrumpleEscrow(custodian_set, bits)
    with demo_chats(args, narrator, lambda address: hook) as chats:
        narrator.say("Each record is a threshold record of mode 'crumple': the custodians' "
                     f"shares are of the chain key locked under a {bits}-bit puzzle, and the "
                     "puzzle's answer is escrowed nowhere.")
        recovery = _recover(chats.world, narrator, hook, custodians, workers)
        return {**chats.summary("crumple"), "puzzle_bits": bits, "custodians": n,
                "threshold": t, "recovery": recovery, **comparable(recovery)}


def _recover(world, narrator: Narrator, hook: CrumpleEscrow, custodians, workers: int) -> dict:
    conversation = direct_conversation_id("alice", "bob")
    archive = world.relay.archive
    entries = archive.entries()
    direct = [e for e in entries if e.conversation_id == conversation]
    start, end = direct[len(direct) // 2].received_at, direct[-1].received_at + 1
    narrator.section("Lawful access: t releases, then one puzzle per chain")
    scoped = records_in_scope(hook.check_record, archive, conversation, start, end)
    issuer_key = Ed25519PrivateKey.generate()
    verifier = TrustedIssuers({ISSUER: issuer_key.public_key().public_bytes_raw()})
    recovery_key = X25519PrivateKey.generate()
    authorisation = SignedAuthorisation.issue(
        ISSUER, issuer_key, "W-1", tuple(s.ref for s in scoped),
        recovery_key.public_key().public_bytes_raw(), world.clock.now() + 10 * DAY)
    narrator.say(f"{ISSUER} signs authorisation W-1 naming the {len(scoped)} records with a "
                 f"message of {conversation} received in [{start:.0f}, {end:.0f}).")
    t = hook.custodian_set.threshold
    releases = [release_share(c, hook.custodian_set, authorisation, verifier, s.envelope,
                              world.clock) for c in custodians[:t] for s in scoped]
    narrator.say(f"{', '.join(c.custodian_id for c in custodians[:t])} each verify W-1 and "
                 f"release their {len(scoped)} shares, re-encrypted to the recovery key.")
    with SolverPool(workers) as pool:
        report = recover(hook, archive, conversation, start, end, releases, recovery_key,
                         pool, authorisation=authorisation)
    for cost in report.chain_work:
        narrator.detail(f"{cost.chain}: {cost.work:,} candidates in {cost.seconds:.2f}s")
    for message in report.messages:
        narrator.detail(f"{message.sender} -> {message.recipient}: "
                        f"{decode_content(message.plaintext)['body']!r}")
    all_chains = len({record_digest(e.record) for e in entries if e.record})
    per_chain = report.total_seconds / max(1, len(report.chain_work))
    narrator.say(f"{report.messages_recovered} of {report.messages_in_scope} in-window messages "
                 f"read; {report.total_work:,} candidates over {len(report.chain_work)} chains "
                 f"(expected {2 ** (hook.puzzle_bits - 1):,} per chain), "
                 f"{report.total_seconds:.2f}s with {workers} worker(s).")
    narrator.say(f"The whole archive holds {all_chains} chains: at this rate about "
                 f"{per_chain * all_chains:.1f}s, {all_chains / max(1, len(report.chain_work)):.1f}"
                 " times this warrant. Mass access costs in proportion to what it reads.")
    return {**report.to_json(), "custodians_released": [c.custodian_id for c in custodians[:t]],
            "archive_chains": all_chains,
            "whole_archive_seconds_estimate": round(per_chain * all_chains, 3)}
