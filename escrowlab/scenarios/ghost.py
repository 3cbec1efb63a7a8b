"""S20 ghost-inject (docs/scenarios.md; docs/ghost.md, "Detection channels").

A compelled provider adds a device it controls to Bob's list; Alice keeps writing to Bob,
one message every ``MESSAGE_INTERVAL`` seconds. Bob's devices check their own account, and
the directory publishes a periodic epoch, every ``CHECK_INTERVAL`` seconds. For each
variant of the open letter and each detection channel, enabled alone, the run measures
how many messages the ghost read before the channel raised the alarm, and after how many
seconds and directory epochs:

- variants: ``honest`` clients (a provider-added device is shown as a new device of Bob);
  ``suppressed-ui`` (clients modified to accept provider-added devices silently: the two
  notices are never shown); ``split-view`` (Bob's devices are served a list without the
  ghost, Alice a list with it; under key transparency the provider keeps the ghost out of
  the directory Bob monitors and shows Alice a fork of it that contains the ghost);
- channels: ``none``; ``safety-numbers`` (Alice's client shows a new device of Bob);
  ``device-list`` (Bob's devices show a device Bob did not link); ``kt-monitor`` (every
  client verifies every list against the directory, without a witness quorum, and Bob's
  device monitors its own entry every check); ``witness`` (every client verifies under a
  2-of-3 witness quorum; nobody self-monitors; the alarm is a witness refusing a
  checkpoint inconsistent with one it cosigned).

A second run, ``churn``, has no ghost: over ``CHURN_DAYS`` simulated days (half in a
quick run) Bob links a new
device and retires an old one every ``CHURN_EVERY_DAYS`` days while Alice writes daily,
and counts the alarms each channel raises for these legitimate changes (false positives).

Everything is measured by running the real relay, clients, directory, log and witnesses.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.errors import QuorumError
from audit.kt.errors import KTEpochError
from audit.kt.lookup import KTTrust
from audit.log import AuditLog
from audit.quorum import WitnessQuorum
from escrow.ghost import GhostHook
from escrowlab.keytrans.attacks import RewritingTransport, hide_devices
from escrowlab.keytrans.ghost import GHOST_DEVICE_ID, inject
from escrowlab.keytrans.wiring import KTPublisher
from escrowlab.keytrans.world import build
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.events import DeviceListChanged

VARIANTS = ("honest", "suppressed-ui", "split-view")
CHANNELS = ("none", "safety-numbers", "device-list", "kt-monitor", "witness")
DETECTOR = {"none": "none", "safety-numbers": "user-ui", "device-list": "user-ui",
            "kt-monitor": "kt-monitor", "witness": "witness"}
MESSAGE_INTERVAL = 600.0
CHECK_INTERVAL = 1800.0
GHOST = f"bob:{GHOST_DEVICE_ID}"
CHURN_DAYS = 30
CHURN_EVERY_DAYS = 7
CHURN_CHECK_INTERVAL = 6 * 3600.0
DAY = 86_400.0


@dataclass
class Timeline:
    """What one run saw: messages read by the ghost, and the first alarm."""

    read: int = 0
    read_at_alarm: int | None = None
    alarm_after: float | None = None
    alarm_epochs: int | None = None


def run_variant(variant: str, channel: str, messages: int) -> Timeline:
    """Inject the ghost and run the conversation under one variant and one channel."""
    kt_clients = channel in ("kt-monitor", "witness")
    world = build(hook=GhostHook(), quorum=2 if channel == "witness" else 0)
    try:
        return _run(world, variant, channel, messages, kt_clients)
    finally:
        world.close()


def _run(world, variant: str, channel: str, messages: int, kt_clients: bool) -> Timeline:
    split = variant == "split-view"
    suppressed = variant == "suppressed-ui"
    bob_transport = RewritingTransport(world.transport, hide_devices({GHOST})) if split \
        else world.transport
    alice = world.device("alice", 1, verify=kt_clients)
    bob = world.device("bob", 1, verify=kt_clients, transport=bob_transport)
    watch = world.watch(bob, kt=channel == "kt-monitor")
    alice.send_text("bob", "before the order")
    bob.receive_all()
    watch.kt_alarm()
    contacts_directory = world.directory
    if split and kt_clients:
        contacts_directory = _fork(world, channel)
        alice.directory.server = contacts_directory
        alice.directory.trust = KTTrust(world.signer.verifier, world.trust.witness_keys,
                                        world.trust.threshold)
    start_epoch = world.directory.epoch
    injected = world.clock.now()
    ghost = inject(world.relay, world.transport, "bob", GhostHook(), world.clock)
    alice.drain_events()
    line = Timeline()
    next_check = injected + CHECK_INTERVAL

    def alarm(now: float) -> None:
        if line.alarm_after is None:
            line.alarm_after = now - injected
            line.read_at_alarm = line.read
            line.alarm_epochs = world.directory.epoch - start_epoch

    for i in range(messages):
        world.clock.advance(MESSAGE_INTERVAL)
        now = world.clock.now()
        alice.send_text("bob", f"message {i}")
        bob.receive_all()
        line.read += len(ghost.receive_all())
        peer = [e for e in alice.drain_events()
                if isinstance(e, DeviceListChanged) and GHOST in e.added]
        if channel == "safety-numbers" and peer and not suppressed:
            alarm(now)
        if now >= next_check:
            next_check += CHECK_INTERVAL
            if _periodic_epochs(world, contacts_directory) and channel == "witness":
                alarm(now)
            if channel == "device-list" and watch.device_list_alarm() and not suppressed:
                alarm(now)
            if channel == "kt-monitor" and watch.kt_alarm():
                alarm(now)
    return line


def _fork(world, channel: str):
    """The contacts' view: a copy of the directory on a log of the same key (cosigned by the
    same witnesses when the clients require them), to which the relay now publishes."""
    quorum = WitnessQuorum(world.witnesses, 2) if channel == "witness" else None
    fork_log = AuditLog.open(":memory:", world.signer, clock=world.clock, quorum=quorum)
    fork = world.directory.replicate(fork_log)
    world.relay.devices.publisher = KTPublisher(fork)
    return fork


def _periodic_epochs(world, contacts_directory) -> bool:
    """Publish the periodic epoch of Bob's view (and of the contacts' view if it is a
    fork); True if the witnesses refused one (an inconsistent epoch)."""
    refused = False
    for directory in {id(world.directory): world.directory,
                      id(contacts_directory): contacts_directory}.values():
        try:
            directory.publish_epoch()
        except (QuorumError, KTEpochError):  # refused now, or stuck since a refusal
            refused = True
    return refused


def run_churn(days: int) -> dict[str, int]:
    """Legitimate device churn, every channel on at once; the alarms each raised."""
    world = build(hook=GhostHook(), quorum=2)
    try:
        alice = world.device("alice", 1)
        bob = world.device("bob", 1)
        watch = world.watch(bob, kt=True)
        alarms = {channel: 0 for channel in CHANNELS}
        changes = 0
        next_id, oldest = 2, 1
        for step in range(int(days * DAY / CHURN_CHECK_INTERVAL)):
            world.clock.advance(CHURN_CHECK_INTERVAL)
            day = step * CHURN_CHECK_INTERVAL / DAY
            if step % int(DAY / CHURN_CHECK_INTERVAL) == 0:
                if day and day % CHURN_EVERY_DAYS == 0:
                    world.device("bob", next_id, linked_by=bob)
                    if oldest > 1:
                        bob.remove_device(f"bob:{oldest}")  # stays approved: it was Bob's
                    oldest, next_id, changes = next_id, next_id + 1, changes + 1
                alice.send_text("bob", f"day {day:.0f}")
                bob.receive_all()
            alarms["safety-numbers"] += sum(
                1 for e in alice.drain_events() if isinstance(e, DeviceListChanged) and e.added)
            alarms["device-list"] += bool(watch.device_list_alarm())
            alarms["kt-monitor"] += len(watch.kt_alarm())
            alarms["witness"] += _periodic_epochs(world, world.directory)
        return {"legitimate_changes": changes, **alarms}
    finally:
        world.close()


@scenario("S20", "ghost-inject",
          "compelled provider adds a device to Bob's list; notices, KT and witnesses",
          ("ghost",))
def run(params: Params, mode: str) -> list[Outcome]:
    messages = 48 if params.full else 8
    outcomes = []
    for variant in VARIANTS:
        for channel in CHANNELS:
            line = run_variant(variant, channel, messages)
            detected = line.alarm_after is not None
            exposed = line.read_at_alarm if detected else line.read
            expected = _expected(variant, channel)
            outcomes.append(Outcome(
                "S20", mode, f"{variant}/{channel}", expected,
                holds=detected == _should_detect(variant, channel),
                metrics={"exposed_total": exposed,
                         "detectable": DETECTOR[channel] if detected else "none",
                         "detection_latency": line.alarm_after},
                details={"messages_sent": messages, "read_total": line.read,
                         "detection_epochs": line.alarm_epochs,
                         "message_interval_s": MESSAGE_INTERVAL,
                         "check_interval_s": CHECK_INTERVAL}))
    days = CHURN_DAYS if params.full else CHURN_DAYS // 2
    churn = run_churn(days)
    for channel in CHANNELS[1:]:
        expected = churn["legitimate_changes"] if channel == "safety-numbers" else 0
        outcomes.append(Outcome(
            "S20", mode, f"churn/{channel}",
            f"legitimate new devices raise {'one notice each' if expected else 'no alarm'}",
            holds=churn[channel] == expected,
            metrics={"exposed_total": 0},
            details={"false_alarms": churn[channel],
                     "legitimate_changes": churn["legitimate_changes"],
                     "days": days, "check_interval_s": CHURN_CHECK_INTERVAL}))
    return outcomes


def _should_detect(variant: str, channel: str) -> bool:
    if channel == "none":
        return False
    if variant == "suppressed-ui":
        return channel in ("kt-monitor",)
    if variant == "split-view":
        return channel in ("safety-numbers", "witness")
    return channel in ("safety-numbers", "device-list", "kt-monitor")


def _expected(variant: str, channel: str) -> str:
    return ("detected" if _should_detect(variant, channel) else "not detected") + \
        f" by {channel} under {variant}"
