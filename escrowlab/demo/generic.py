"""``escrowlab demo --escrow MODE`` for a registered mode without a story of its own
(:data:`escrow.modes.MODES`; docs/architecture.md, "The mode registry and the lawful-access
workflow").

The conversation of :mod:`escrowlab.demo` runs with the hooks of the mode's registry
deployment (:meth:`~escrow.modes.Deployment.hook_for`). Then a judge authorises the second
half of the Alice-Bob chat, t of the deployment's parties check it and submit their releases
to the attempt (:mod:`escrow.workflow`), and the mode's recovery reports every chain of the
window. So a new chain-hook mode is in the demo as soon as it is in the registry.
"""

from __future__ import annotations

import argparse

from escrow.modes import get_mode
from escrow.scope import Window
from escrowlab.demo import Narrator, demo_chats
from escrowlab.demo.threshold import comparable
from escrowlab.demo.warrant import JUDGE, deploy, issue, release
from messaging.addresses import direct_conversation_id


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    mode = get_mode(args.escrow)
    narrator.say(f"escrowlab demo, escrow mode {mode.name!r}: {mode.description}")
    deployment = deploy(mode.name, args)
    with demo_chats(args, narrator, deployment.hook_for) as chats:
        summary = chats.summary(mode.name)
        narrator.section("Lawful access")
        if deployment.threshold == 0:
            narrator.say(f"Mode {mode.name!r} has nobody to release anything: no warrant can "
                         "unlock its archive.")
            return {**summary, "recoverable_messages": 0}
        return {**summary, **_recover(chats.world, narrator, deployment)}


def _recover(world, narrator: Narrator, deployment) -> dict:
    conversation = direct_conversation_id("alice", "bob")
    entries = world.relay.archive.entries(conversation)
    start, end = entries[len(entries) // 2].received_at, entries[-1].received_at + 1
    warrant = issue(deployment, world.relay.archive, Window(conversation, start, end), "W-1",
                    world.clock)
    narrator.say(f"{JUDGE} signs authorisation W-1 naming the {len(warrant.scoped)} records of "
                 f"{conversation} received in [{start:.0f}, {end:.0f}).")
    progress = release(warrant, range(deployment.threshold), world.clock)
    narrator.say(f"{', '.join(progress.parties)} check W-1 and submit their releases to attempt "
                 f"{warrant.attempt.nonce[:8]}: {progress}.")
    report = warrant.attempt.recover()
    counts = ", ".join(f"{n} {outcome.replace('_', ' ')}"
                       for outcome, n in report.outcome_counts().items() if n)
    narrator.say(f"{report.messages_recovered} of {report.messages_in_scope} in-window messages "
                 f"read; chains: {counts}; the same keys open "
                 f"{report.out_of_scope_recoverable} more archived messages.")
    recovery = report.to_json()
    return {"attempt": warrant.attempt.progress().to_json(), "recovery": recovery,
            **comparable(recovery)}
