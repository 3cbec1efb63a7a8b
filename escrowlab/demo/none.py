"""``escrowlab demo --escrow none``: today's end-to-end encryption, no lawful access.

The conversation of :mod:`escrowlab.demo` with the hook of the registry's ``none``
deployment (:class:`messaging.hooks.NoEscrow`): no chain key leaves a device, so the
provider's archive holds ciphertext and metadata only, and nobody holding it
(provider, thief or court) can read a message.
"""

from __future__ import annotations

import argparse

from escrowlab.demo import Narrator, demo_chats
from escrowlab.demo.warrant import deploy


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    narrator.say("escrowlab demo, escrow mode 'none' (end-to-end encryption as deployed today)")
    with demo_chats(args, narrator, deploy("none", args).hook_for) as chats:
        narrator.section("Lawful access")
        narrator.say("Mode 'none' escrows nothing: no record rides with any chain, so there "
                     "is nothing a warrant could unlock. Forward secrecy holds: once the "
                     "devices delete their message keys, no one can decrypt the archive.")
        return {**chats.summary("none"), "recoverable_messages": 0}
