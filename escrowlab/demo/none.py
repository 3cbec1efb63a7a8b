"""``escrowlab demo --escrow none``: today's end-to-end encryption, no lawful access.

The conversation of :mod:`escrowlab.demo` with the default hook
(:class:`messaging.hooks.NoEscrow`): no chain key leaves a device, so the
provider's archive holds ciphertext and metadata only, and nobody holding it
(provider, thief or court) can read a message.
"""

from __future__ import annotations

import argparse

from escrowlab.demo import (
    Narrator,
    build_world,
    chat_plaintexts,
    close_world,
    narrate_archive,
    run_direct_chat,
    run_group_chat,
)

DESCRIPTION = "no escrow: the archive holds ciphertext and metadata only"


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    narrator.say("escrowlab demo, escrow mode 'none' (end-to-end encryption as deployed today)")
    world = build_world(args, narrator)
    try:
        direct = run_direct_chat(world, narrator, args.messages)
        group = run_group_chat(world, narrator, args.messages)
        archive = narrate_archive(world, narrator, chat_plaintexts(direct, group))
        narrator.section("Lawful access")
        narrator.say("Mode 'none' escrows nothing: no record rides with any chain, so there "
                     "is nothing a warrant could unlock. Forward secrecy holds: once the "
                     "devices delete their message keys, no one can decrypt the archive.")
        return {"mode": "none", "transport": "http" if world.url else "in-process",
                "direct": direct, "group": group, "archive": archive,
                "recoverable_messages": 0}
    finally:
        close_world(world)
