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

from escrow.crumple.deployment import CrumpleDeployment
from escrow.record import record_digest
from escrow.scope import Window
from escrowlab.demo import Narrator, demo_chats
from escrowlab.demo.threshold import comparable, make_custodians
from escrowlab.demo.warrant import JUDGE, issue, release
from messaging.addresses import direct_conversation_id
from messaging.content import decode_content


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    bits, workers = args.puzzle_bits, args.puzzle_workers
    n, t = args.custodians, args.threshold
    narrator.say(f"escrowlab demo, escrow mode 'crumple' ({t}-of-{n} custodians, {bits}-bit "
                 "puzzle per chain)")
    deployment = make_custodians("crumple", args, narrator)
    with demo_chats(args, narrator, deployment.hook_for) as chats:
        narrator.say("Each record is a threshold record of mode 'crumple': the custodians' "
                     f"shares are of the chain key locked under a {bits}-bit puzzle, and the "
                     "puzzle's answer is escrowed nowhere.")
        recovery = _recover(chats.world, narrator, deployment, workers)
        return {**chats.summary("crumple"), "puzzle_bits": bits, "custodians": n,
                "threshold": t, "recovery": recovery, **comparable(recovery)}


def _recover(world, narrator: Narrator, deployment: CrumpleDeployment, workers: int) -> dict:
    hook = deployment.hook
    conversation = direct_conversation_id("alice", "bob")
    archive = world.relay.archive
    entries = archive.entries()
    direct = [e for e in entries if e.conversation_id == conversation]
    start, end = direct[len(direct) // 2].received_at, direct[-1].received_at + 1
    narrator.section("Lawful access: t releases, then one puzzle per chain")
    warrant = issue(deployment, archive, Window(conversation, start, end), "W-1", world.clock)
    scoped = warrant.scoped
    narrator.say(f"{JUDGE} signs authorisation W-1 naming the {len(scoped)} records with a "
                 f"message of {conversation} received in [{start:.0f}, {end:.0f}).")
    t = hook.custodian_set.threshold
    custodians = deployment.custodians[:t]
    progress = release(warrant, range(t), world.clock)
    narrator.say(f"{', '.join(c.custodian_id for c in custodians)} each verify W-1 and "
                 f"release their {len(scoped)} shares, re-encrypted to the recovery key "
                 f"(attempt {warrant.attempt.nonce[:8]}: {progress} custodians).")
    report = warrant.attempt.recover()
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
    return {**report.to_json(), "custodians_released": [c.custodian_id for c in custodians],
            "archive_chains": all_chains,
            "whole_archive_seconds_estimate": round(per_chain * all_chains, 3)}
