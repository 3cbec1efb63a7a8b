"""``escrowlab demo --escrow leaf16``: the Clipper / EES LEAF (FIPS 185) on a modern messenger.

Every device is an EES unit: the programming facility gives it a 32-bit unit
id and a unit key whose two XOR components go to two escrow agents, and a
module holding the family key. Each sending chain carries a LEAF; each
recipient's module checks only its checksum. After the chats of
:mod:`escrowlab.demo`, a lawful recovery of the Alice-Bob window follows the EES
path (family key -> unit id -> both agents -> unit key -> chain key), then
Blaze's 1994 search forges a LEAF that an honest recipient accepts and that no
recovery can open.
"""

from __future__ import annotations

import argparse
import os

from escrow.leaf16.deployment import EesDeployment
from escrow.leaf16.errors import LeafRecoveryError
from escrow.leaf16.forgery import expected_queries, search_forgery
from escrow.leaf16.leaf import LEAF_LENGTH
from escrow.leaf16.module import LeafModule
from escrow.leaf16.recovery import LeafDecryptor, recover_chain_key
from escrow.leaf16.unit import program_unit
from escrow.scope import Window
from escrowlab.demo import Narrator, demo_chats
from escrowlab.demo.threshold import comparable
from escrowlab.demo.warrant import deploy, issue, release
from messaging.addresses import direct_conversation_id
from messaging.content import decode_content
from messaging.hooks import PROTOCOL_VERSION, ChainContext

CASE = "W-1"


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    width = args.leaf_width
    narrator.say("escrowlab demo, escrow mode 'leaf16' (the 1994 Escrowed Encryption Standard)")
    narrator.section("The EES programming facility")
    deployment = deploy("leaf16", args)

    def hook_for(address: str):
        hook = deployment.hook_for(address)
        narrator.say(f"{address}: unit id {deployment.units[address]:#010x}; unit key split in "
                     "two XOR components, one per escrow agent; module holds the family key "
                     f"({width}-bit checksum)")
        return hook

    with demo_chats(args, narrator, hook_for) as chats:
        narrator.say(f"Every chain's record is a {LEAF_LENGTH}-byte LEAF: random-looking to "
                     "the provider, but anyone with the family key reads its unit id.")
        recovery = _recover(chats.world, narrator, deployment)
        forgery = _forge(narrator, deployment)
        return {**chats.summary("leaf16"), "checksum_bits": width,
                "units": {a: f"{u:#010x}" for a, u in sorted(deployment.units.items())},
                "recovery": recovery, "forgery": forgery, **comparable(recovery)}


def _recover(world, narrator: Narrator, deployment: EesDeployment) -> dict:
    conversation = direct_conversation_id("alice", "bob")
    entries = world.relay.archive.entries(conversation)
    start = entries[len(entries) // 2].received_at
    end = entries[-1].received_at + 1
    narrator.section("Lawful access: the EES recovery path")
    narrator.say(f"Warrant: conversation {conversation}, receipt times [{start:.0f}, {end:.0f}).")
    warrant = issue(deployment, world.relay.archive, Window(conversation, start, end), CASE,
                    world.clock)
    progress = release(warrant, range(len(deployment.agents)), world.clock)
    narrator.say(f"Both escrow agents check warrant {CASE} and submit their releases to attempt "
                 f"{warrant.attempt.nonce[:8]} ({progress} agents).")
    report = warrant.attempt.recover()
    by_unit = {u: a for a, u in deployment.units.items()}
    for unit_id in report.unit_ids:
        narrator.say(f"family key -> LEAF names unit {unit_id:#010x} ({by_unit.get(unit_id)}); "
                     "both agents release their components -> unit key -> chain keys")
    for message in report.messages:
        body = decode_content(message.plaintext)["body"]
        narrator.detail(f"{message.sender} -> {message.recipient}: {body!r}")
    narrator.say(f"{report.messages_recovered} of {report.messages_in_scope} in-window "
                 f"messages read from {report.chains_recovered} chains; the released unit "
                 f"keys open {report.out_of_scope_recoverable} more of the "
                 f"{report.over_collection_basis['archived_envelopes']} archived messages, in "
                 "every conversation those devices took part in.")
    released = sorted({f"{r.unit_id:#010x}" for agent in deployment.agents
                       for r in agent.releases})
    narrator.say(f"The agents released unit keys {', '.join(released)}: a unit key opens "
                 "every chain that device ever escrowed, in every conversation, for ever.")
    return {**report.to_json(), "agents_released_units": released}


def _forge(narrator: Narrator, deployment: EesDeployment) -> dict:
    family_key, agents, width = deployment.family_key, deployment.agents, deployment.width
    narrator.section("Blaze (1994): a rogue sender forges a LEAF")
    if width > 16:
        narrator.say(f"Skipped at {width} bits: expected {expected_queries(width):,} oracle "
                     "queries (escrowlab bench escrow-modes --widths measures it).")
        return {"skipped": True, "expected_queries": expected_queries(width)}
    rogue = LeafModule(family_key, program_unit(agents), width)
    honest = LeafModule(family_key, program_unit(agents), width)
    context = ChainContext(PROTOCOL_VERSION, "leaf16", "dm:dave:erin", "dave:1", "erin:1", 0,
                           os.urandom(32), os.urandom(32), 1_767_261_600)
    result = search_forgery(rogue, context)
    accepted = honest.validate_leaf(result.record, context)
    try:
        recover_chain_key(LeafDecryptor(family_key), result.record, agents, "demo forgery")
        recovered = True
    except LeafRecoveryError as exc:
        recovered = False
        reason = str(exc)
    narrator.say(f"dave:1's modified client feeds random LEAFs to its own module: one passes "
                 f"the {width}-bit checksum after {result.queries:,} queries (Blaze's "
                 f"expectation: {expected_queries(width):,} on average).")
    narrator.say(f"erin:1's honest module accepts it: {accepted}. Lawful recovery of that "
                 f"chain: {'succeeded' if recovered else 'fails: ' + reason}")
    return {"skipped": False, "queries": result.queries,
            "expected_queries": expected_queries(width), "recipient_accepts": accepted,
            "lawful_recovery_succeeds": recovered}
