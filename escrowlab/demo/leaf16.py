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

from escrow.leaf16.errors import LeafRecoveryError
from escrow.leaf16.forgery import expected_queries, search_forgery
from escrow.leaf16.hook import Leaf16Escrow
from escrow.leaf16.leaf import CHECKSUM_WIDTHS, DEFAULT_CHECKSUM_WIDTH, LEAF_LENGTH, FamilyKey
from escrow.leaf16.module import LeafModule
from escrow.leaf16.recovery import LeafDecryptor, recover, recover_chain_key
from escrow.leaf16.unit import EscrowAgent, program_unit
from escrowlab.demo import (
    Narrator,
    demo_chats,
)
from escrowlab.demo.threshold import comparable
from messaging.client import decode_content, direct_conversation_id
from messaging.hooks import PROTOCOL_VERSION, ChainContext

DESCRIPTION = "Clipper/EES LEAF: unit keys with two agents, a family-key chip, Blaze's forgery"
CASE = "demo warrant W-1 (Alice-Bob, second half of the chat)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leaf-width", type=int, choices=CHECKSUM_WIDTHS,
                        default=DEFAULT_CHECKSUM_WIDTH, metavar="BITS",
                        help="leaf16: LEAF checksum width in bits, one of "
                             f"{', '.join(map(str, CHECKSUM_WIDTHS))} (default 16, as in EES; "
                             "the forgery step is skipped above 16)")


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    width = getattr(args, "leaf_width", DEFAULT_CHECKSUM_WIDTH)
    narrator.say("escrowlab demo, escrow mode 'leaf16' (the 1994 Escrowed Encryption Standard)")
    narrator.section("The EES programming facility")
    family_key = FamilyKey.generate()
    agents = (EscrowAgent("agent-1 (NIST)"), EscrowAgent("agent-2 (Treasury)"))
    units: dict[str, int] = {}

    def hook_for(address: str) -> Leaf16Escrow:
        unit = program_unit(agents)
        units[address] = unit.unit_id
        narrator.say(f"{address}: unit id {unit.unit_id:#010x}; unit key split in two XOR "
                     "components, one per escrow agent; module holds the family key "
                     f"({width}-bit checksum)")
        return Leaf16Escrow(LeafModule(family_key, unit, width))

    with demo_chats(args, narrator, hook_for) as chats:
        narrator.say(f"Every chain's record is a {LEAF_LENGTH}-byte LEAF: random-looking to "
                     "the provider, but anyone with the family key reads its unit id.")
        recovery = _recover(chats.world, narrator, family_key, agents, units)
        forgery = _forge(narrator, family_key, agents, width)
        return {**chats.summary("leaf16"), "checksum_bits": width,
                "units": {a: f"{u:#010x}" for a, u in sorted(units.items())},
                "recovery": recovery, "forgery": forgery, **comparable(recovery)}


def _recover(world, narrator: Narrator, family_key, agents, units: dict[str, int]) -> dict:
    conversation = direct_conversation_id("alice", "bob")
    entries = world.relay.archive.entries(conversation)
    start = entries[len(entries) // 2].received_at
    end = entries[-1].received_at + 1
    narrator.section("Lawful access: the EES recovery path")
    narrator.say(f"Warrant: conversation {conversation}, receipt times [{start:.0f}, {end:.0f}).")
    decryptor = LeafDecryptor(family_key)
    report = recover(decryptor, agents, world.relay.archive, conversation, start, end, CASE)
    by_unit = {u: a for a, u in units.items()}
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
    released = sorted({f"{r.unit_id:#010x}" for agent in agents for r in agent.releases})
    narrator.say(f"The agents released unit keys {', '.join(released)}: a unit key opens "
                 "every chain that device ever escrowed, in every conversation, for ever.")
    return {**report.to_json(), "agents_released_units": released}


def _forge(narrator: Narrator, family_key, agents, width: int) -> dict:
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
