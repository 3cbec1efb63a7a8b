"""``escrowlab demo --escrow ghost [--suppress-ui]``: the provider adds a device (docs/ghost.md).

The chats of :mod:`escrowlab.demo` run first, with nothing escrowed. Then the provider
puts its relay under key transparency (every current device list as one epoch of a
directory whose log three witnesses cosign, quorum two) and every device verifies every
list it is served. A compulsion order arrives: the relay adds a device it controls to
Bob's list (:func:`escrowlab.keytrans.ghost.inject`) and the conversation goes on. The
story tells what the ghost reads (only what is sent after it was added: access is
prospective) and which detection channel raises the alarm when: Alice's client seeing a
new device of Bob (a new safety number), Bob's devices seeing a device they did not link,
and Bob's key-transparency self-monitor. ``--suppress-ui`` models the client software
the open letter warned about, modified to accept provider-added devices silently: the two
notices are never shown, and only the self-monitor (a check the provider's client does
not control, docs/ghost.md) remains.
"""

from __future__ import annotations

import argparse

from escrow.scope import Window, scan_window
from escrow.workflow import LawfulAccess
from escrowlab.demo import SECONDS_PER_MESSAGE, Narrator, demo_chats
from escrowlab.demo.warrant import deploy
from escrowlab.keytrans.ghost import inject
from escrowlab.keytrans.owner import OwnerWatch
from escrowlab.keytrans.wiring import KTVerifier
from escrowlab.keytrans.world import bootstrap, witnessed_directory
from messaging.addresses import direct_conversation_id
from messaging.events import DeviceListChanged

USERS = ["alice", "bob", "carol"]
LINES = [("alice", "Did you get the documents?"), ("bob", "Yes, meeting the source at 9."),
         ("alice", "Be careful."), ("bob", "Always.")]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suppress-ui", action="store_true",
                        help="ghost: clients modified to accept provider-added devices and "
                             "hide the notices (the open letter's 'suppressed UI')")


def run(args: argparse.Namespace, narrator: Narrator) -> dict:
    suppress = getattr(args, "suppress_ui", False)
    narrator.say("escrowlab demo, escrow mode 'ghost': nothing is escrowed; the compelled "
                 "provider adds a device of its own to the target's list"
                 + (" (clients with the notices suppressed)" if suppress else ""))
    deployment = deploy("ghost", args)
    with demo_chats(args, narrator, deployment.hook_for) as chats:
        world = chats.world
        summary = chats.summary("ghost")
        kt = witnessed_directory(world.clock)
        try:
            return {**summary, **_ghost(world, narrator, deployment, kt, args.messages,
                                        suppress)}
        finally:
            kt.log.close()
            for witness in kt.witnesses:
                witness.close()


def _ghost(world, narrator: Narrator, deployment, kt, messages: int, suppress: bool) -> dict:
    narrator.section("Key transparency")
    epoch = bootstrap(world.relay, kt.directory, USERS)
    for device in world.devices.values():
        device.directory = KTVerifier(kt.directory, kt.trust)
    alice, bob = world.primary("alice"), world.primary("bob")
    watch = OwnerWatch(bob, kt.directory, kt.trust)
    watch.kt_alarm()
    narrator.say(f"The provider publishes every device list as epoch {epoch} of its "
                 f"directory; the epoch's root is entry {epoch} of a log "
                 f"{len(kt.witnesses)} witnesses cosign (quorum {kt.trust.threshold}). "
                 "Every device now verifies every list it is served; bob:1 monitors "
                 "Bob's own entry at every epoch.")
    conversation = direct_conversation_id("alice", "bob")

    narrator.section("The compulsion order")
    world.clock.advance(SECONDS_PER_MESSAGE)
    injected_at = world.clock.now()
    ghost = inject(world.relay, world.transport, "bob", deployment.hook_for("bob:99"),
                   world.clock)
    narrator.say(f"The relay adds {ghost.address}, a device the provider controls, to Bob's "
                 f"list with no link signature from Bob's devices; the directory publishes "
                 f"it as epoch {kt.directory.epoch}, as it publishes every list the relay "
                 "serves.")
    alice.drain_events()
    detections: dict[str, dict] = {}
    sent = read = 0
    for i in range(messages):
        user, text = LINES[i % len(LINES)]
        world.clock.advance(SECONDS_PER_MESSAGE)
        sender = alice if user == "alice" else bob
        sender.send_text("bob" if user == "alice" else "alice", text)
        sent += 1
        for device in world.devices.values():
            device.receive_all()
        got = ghost.receive_all()
        read += len(got)
        for m in got:
            narrator.detail(f"{ghost.address} (the ghost) decrypts from {m.sender}: "
                            f"{m.body!r}")
        now = world.clock.now()
        peer = [e for e in alice.drain_events()
                if isinstance(e, DeviceListChanged) and ghost.address in e.added]
        checks = {"safety-number change shown to Alice": bool(peer) and not suppress,
                  "device-list notice on Bob's devices":
                      bool(watch.device_list_alarm()) and not suppress,
                  "key-transparency self-monitor of bob:1": bool(watch.kt_alarm())}
        for channel, fired in checks.items():
            if fired and channel not in detections:
                detections[channel] = {"after_messages": sent, "read_before": read,
                                       "latency_seconds": now - injected_at}
                narrator.say(f"ALARM after {sent} message(s), {now - injected_at:.0f} s "
                             f"after the injection: {channel}.")
    for channel in ("safety-number change shown to Alice",
                    "device-list notice on Bob's devices"):
        if channel not in detections:
            narrator.say(f"No alarm from the {channel}: the modified client hides it.")

    narrator.section("Lawful access under ghost")
    entries = world.relay.archive.entries(conversation)
    earlier = Window(conversation, entries[0].received_at, injected_at)
    scan = scan_window(world.relay.archive, conversation, earlier.start, earlier.end,
                       deployment.screen)
    records = LawfulAccess(deployment, world.relay.archive).scope(earlier)
    narrator.say(f"The ghost read {read} of the {sent} messages sent after it was added. "
                 f"The {scan.messages_in_scope} messages archived before the order carry "
                 f"{len(records)} escrow records: there is nothing an authorisation could "
                 "name, and nothing to release (access is prospective only).")
    return {"injected_device": ghost.address, "kt_epoch": kt.directory.epoch,
            "suppress_ui": suppress, "detections": detections,
            "messages_in_scope": sent, "messages_recovered": read,
            "out_of_scope_recoverable": len(records),
            "archived_before_order": scan.messages_in_scope}
