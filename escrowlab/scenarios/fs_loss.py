"""S04 fs-loss (docs/scenarios.md): what a snapshot taken at time T exposes, of a device's
state, of t custodians' keys, or of both; and with the custodian set rotated every R days.

The world is the standard cast (:mod:`escrowlab.scenarios._traffic`): C1, C2 and C3 over
simulated days, a DH ratchet step every r messages, every device running the deployment's
hook. During that one run the attacker takes snapshots at several times T:

- *device*: a copy of Alice's session store (every Double Ratchet state she holds). The
  passive attacker then reads the relay's archive with it: a clone of each session
  decrypts the archived messages addressed to Alice, in receipt order, with the real
  ``Session.decrypt`` (which steps the DH ratchet with the copied private key), and Alice's
  own outgoing messages open under the copied sending chain key where they are on it. The
  device *heals* at its next DH step: the first message it sends under a ratchet key
  generated after T.
- *custodians*: t custodians' keystore files and passphrases, copied at T and opened with
  :mod:`escrow.keystore` (for ``leaf16``: both escrow agents' databases, and the family
  key). Later the thief releases every archived record to itself, under an authorisation
  it signs, and runs the mode's real recovery over the whole archive
  (:func:`escrowlab.scenarios._traffic.read_conversation`).
- *both*: the union of what the two expose.
- *rotation* (``threshold``, ``crumple``): the deployment makes a new custodian set (a new
  ceremony, :meth:`escrow.custodian_set.CustodianSet.rotated`) every R days and destroys the
  old keys; the thief's copy at T is of the set current at T.

Every figure is counted from messages that opened; the curves (exposure vs T, vs R) are
those counts, point by point, in ``details``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from escrow import keystore
from escrow.crumple.hook import CrumpleEscrow
from escrow.leaf16.deployment import EesDeployment
from escrow.modes import Deployment, get_mode
from escrow.release import release_share
from escrow.scope import Window
from escrow.threshold.deployment import CustodianDeployment, ceremony
from escrow.threshold.hook import ThresholdEscrow
from escrowlab.scenarios._traffic import (
    DAY,
    FAR_FUTURE,
    START,
    MessageKey,
    World,
    build_world,
    entry_key,
    message_key,
    read_conversation,
    run_days,
)
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.errors import MessagingError
from messaging.hooks import ChainContext
from messaging.ratchet import (
    associated_data_prefix,
    message_associated_data,
    message_key_for,
    open_sealed,
)
from messaging.session import Session
from messaging.state import SessionState

ID = "S04"
TARGET = "alice"
PASSPHRASE = "the custodian's own passphrase"  # noqa: S105 (stolen with the keystore)
MODES = ("none", "threshold", "leaf16", "crumple")
ROTATING = ("threshold", "crumple")


@dataclass(frozen=True)
class Sizes:
    days: int
    per_day: int
    ratchet_every: int
    snapshots: tuple[float, ...]  # days after the start
    rotations: tuple[int, ...]  # R in days
    rotation_snapshots: tuple[float, ...]  # the T of the rotation runs
    puzzle_bits: int


def sizes(params: Params) -> Sizes:
    if params.full:
        snapshots = (2.5, 7.5, 12.5, 17.5, 22.5, 27.5)
        return Sizes(30, 12, 3, snapshots, (1, 2, 5, 10, 15), snapshots, 12)
    return Sizes(6, 4, 2, (1.5, 3.5, 5.5), (1, 3), (3.5,), 6)


def _deploy(mode: str, size: Sizes) -> Deployment:
    given = {"puzzle_bits": size.puzzle_bits} if mode == "crumple" else {}
    return get_mode(mode).deployment(**given)


# -- what the attacker copies ---------------------------------------------------------------

@dataclass
class Theft:
    """What the key thief holds: a deployment to scope the archive with and a releaser."""

    deployment: Deployment
    release: Callable


def steal_keys(deployment: Deployment, clock) -> Theft:
    """The thief's copy, now, of t custodians' keys (or both EES agents' databases)."""
    if isinstance(deployment, CustodianDeployment):
        t = deployment.threshold
        files = [keystore.seal(c, PASSPHRASE, keystore.FAST_KDF)
                 for c in deployment.custodians[:t]]
        cset = deployment.custodian_set

        def release(authorisation, verifier, scoped):
            stolen = [keystore.open_keystore(data, PASSPHRASE) for data in files]
            return [release_share(c, cset, authorisation, verifier, item.envelope, clock)
                    for c in stolen for item in scoped]

        return Theft(type(deployment)(deployment.hook), release)
    if isinstance(deployment, EesDeployment):
        copied = EesDeployment(deployment.family_key,
                               tuple(copy.deepcopy(a) for a in deployment.agents),
                               deployment.width)

        def release(authorisation, verifier, scoped):
            return [r for party in range(copied.threshold)
                    for r in copied.release(party, authorisation, verifier, scoped, clock)]

        return Theft(copied, release)
    return Theft(deployment, lambda authorisation, verifier, scoped: [])


def copy_device(world: World, user: str) -> dict[tuple[str, str], bytes]:
    """Every session state the device holds now (its store, byte for byte)."""
    store = world.devices[user].store
    return {key: store.load_session(*key) for key in store.list_sessions()}


# -- what each copy exposes -----------------------------------------------------------------

@dataclass
class DeviceExposure:
    exposed: dict[MessageKey, float]
    healed_at: dict[str, float | None]  # per conversation: the device's first new DH key


def _opens_own(world: World, state: SessionState, entry) -> bool:
    """Does the copied sending chain open this message the device sent?"""
    envelope = entry.parsed()
    header = envelope.header
    if state.sending_chain_key is None or header.ratchet_key != state.dh_public \
            or header.message_number < state.send_count:
        return False
    key = message_key_for(state.sending_chain_key, header.message_number - state.send_count)
    prefix = associated_data_prefix(header.mode, envelope.conversation_id, envelope.sender,
                                    envelope.recipient, world.archive.identity(envelope.sender),
                                    world.archive.identity(envelope.recipient))
    ad = message_associated_data(prefix, header.authenticated_bytes(),
                                 None if envelope.prekey is None else envelope.prekey.encode())
    try:
        open_sealed(key, envelope.ciphertext, ad)
    except MessagingError:
        return False
    return True


def device_exposure(world: World, user: str, sessions: dict[tuple[str, str], bytes],
                    taken_at: float) -> DeviceExposure:
    """Read the whole archive with the copied sessions (module docstring)."""
    device = world.devices[user]
    exposed: dict[MessageKey, float] = {}
    healed: dict[str, float | None] = {}
    for (conversation_id, peer), data in sorted(sessions.items()):
        state = SessionState.deserialize(data)
        clone = Session.deserialize(data, device.hook, world.clock)
        healed[conversation_id] = None
        for entry in world.archive.entries(conversation_id):
            if entry.sender == device.address and entry.recipient == peer:
                fresh = entry.parsed().header.ratchet_key != state.dh_public
                if fresh and entry.received_at >= taken_at and healed[conversation_id] is None:
                    healed[conversation_id] = entry.received_at
                if _opens_own(world, state, entry):
                    exposed[entry_key(entry)] = entry.received_at
            elif entry.sender == peer and entry.recipient == device.address:
                try:
                    clone.decrypt(entry.envelope)
                except MessagingError:
                    continue
                exposed[entry_key(entry)] = entry.received_at
    return DeviceExposure(exposed, healed)


def keys_exposure(world: World, theft: Theft) -> dict[MessageKey, float]:
    """Every archived message the stolen keys open, through the mode's recovery."""
    exposed: dict[MessageKey, float] = {}
    for conversation_id in world.archive.conversations():
        report = read_conversation(theft.deployment, world.archive,
                                   Window(conversation_id, START - DAY, FAR_FUTURE),
                                   theft.release, holder="thief")
        if report is not None:
            for message in report.messages:
                exposed[message_key(conversation_id, message)] = message.received_at
    return exposed


def _split(exposed: dict[MessageKey, float], taken_at: float) -> dict[str, int]:
    past = sum(1 for at in exposed.values() if at < taken_at)
    return {"past": past, "future": len(exposed) - past, "total": len(exposed)}


# -- the runs -------------------------------------------------------------------------------

class RotatingSet:
    """The hook every device runs while the deployment rotates its custodian set: records
    for, and chains checked against, the set current when the chain starts. :meth:`rotate`
    holds a new ceremony and forgets the old custodians (their keys destroyed)."""

    def __init__(self, deployment: CustodianDeployment) -> None:
        self.mode = deployment.mode
        self.deployment = deployment
        self.rotations = 0

    def hook_for(self, address: str) -> RotatingSet:
        return self

    def rotate(self) -> None:
        old = self.deployment
        people, _ = ceremony(old.custodian_set.n, old.threshold)
        cset = old.custodian_set.rotated(tuple(p.public for p in people))
        hook = CrumpleEscrow(cset, old.hook.puzzle_bits) if isinstance(old.hook, CrumpleEscrow) \
            else ThresholdEscrow(cset)
        self.deployment = type(old)(hook, people)
        self.rotations += 1

    def record_for_chain(self, context: ChainContext) -> bytes:
        return self.deployment.hook.record_for_chain(context)

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        self.deployment.hook.check_chain(context, record)


def _snapshots(world: World, size: Sizes, days: tuple[float, ...],
               take: Callable[[float], None], rotation: RotatingSet | None = None,
               every_days: int = 0) -> None:
    pending = sorted(world.day(d) for d in days)
    next_rotation = world.day(every_days) if rotation else None

    def at(now: float) -> None:
        nonlocal next_rotation
        if next_rotation is not None and now >= next_rotation:
            rotation.rotate()
            next_rotation += every_days * DAY
        while pending and pending[0] <= now:
            pending.pop(0)
            take(now)

    run_days(world, size.days, size.per_day, size.ratchet_every, at=at)


def no_rotation(mode: str, size: Sizes) -> tuple[World, list[dict]]:
    """One run; at each T a device copy and a key copy; each measured against the archive."""
    deployment = _deploy(mode, size)
    world = build_world(deployment.hook_for)
    taken: list[tuple[float, dict, Theft]] = []
    _snapshots(world, size, size.snapshots, lambda at: taken.append(
        (at, copy_device(world, TARGET), steal_keys(deployment, world.clock))))
    entries = world.entries()
    points = []
    for at, sessions, theft in taken:
        device = device_exposure(world, TARGET, sessions, at)
        keys = keys_exposure(world, theft)
        after_heal = sum(1 for key, received in device.exposed.items()
                         if (heal := device.healed_at.get(key[0])) is not None
                         and received >= heal)
        before = sum(1 for e in entries if e.received_at < at)
        points.append({
            "T_day": (at - world.start) / DAY,
            "archived": {"past": before, "future": len(entries) - before},
            "device": {**_split(device.exposed, at), "after_heal": after_heal,
                       "heal_hours": {c: None if h is None else (h - at) / 3600
                                      for c, h in device.healed_at.items()}},
            "custodians": _split(keys, at),
            "both": _split({**keys, **device.exposed}, at),
        })
    return world, points


def with_rotation(mode: str, size: Sizes, every_days: int) -> list[dict]:
    """One run rotating every ``every_days``; at each T the thief copies the current set."""
    rotation = RotatingSet(_deploy(mode, size))
    world = build_world(rotation.hook_for)
    taken: list[tuple[float, Theft]] = []
    _snapshots(world, size, size.rotation_snapshots, lambda at: taken.append(
        (at, steal_keys(rotation.deployment, world.clock))), rotation, every_days)
    points = []
    for at, theft in taken:
        keys = keys_exposure(world, theft)
        epoch_start = world.start + ((at - world.start) // (every_days * DAY)) * every_days * DAY
        times = sorted(keys.values())
        points.append({
            "T_day": (at - world.start) / DAY, **_split(keys, at),
            "epoch_days": [(epoch_start - world.start) / DAY,
                           (epoch_start - world.start) / DAY + every_days],
            "exposed_span_days": [(times[0] - world.start) / DAY,
                                  (times[-1] - world.start) / DAY] if times else None,
        })
    return points


@scenario(ID, "fs-loss", "a device, t custodian keys, or both, captured at time T; with "
          "custodian key rotation every R days", MODES)
def run(params: Params, mode: str) -> list[Outcome]:
    size = sizes(params)
    world, points = no_rotation(mode, size)
    total = len(world.entries())
    reference = points[len(points) // 2]
    common = {"days": size.days, "per_day": size.per_day, "ratchet_every": size.ratchet_every,
              "conversations": 3, "archived": total, "device": f"{TARGET}:1",
              "seed": params.seed, "points": points}
    if mode == "crumple":
        common["puzzle_bits"] = size.puzzle_bits
    escrowed = mode != "none"
    device_ok = all(p["device"]["past"] == 0 and p["device"]["after_heal"] == 0
                    for p in points)
    if escrowed:
        keys_ok = all(p["custodians"]["total"] == total for p in points)
        both_ok = all(p["both"]["total"] == total for p in points)
        keys_expected = ("the whole archive (every message before and after T) opens: no "
                         "forward secrecy, no healing")
    else:
        keys_ok = all(p["custodians"]["total"] == 0 for p in points)
        both_ok = all(p["both"]["total"] == p["device"]["total"] for p in points)
        keys_expected = "nothing: no custodian holds anything of the archive"
    outcomes = [
        Outcome(ID, mode, "device", "no message received before T opens, and nothing after "
                "the device's next DH step (it heals)", device_ok,
                {"exposed_total": reference["device"]["total"], "detectable": "none"},
                {**common, "T_day": reference["T_day"],
                 "curve": [[p["T_day"], p["device"]["past"], p["device"]["future"]]
                           for p in points]}),
        Outcome(ID, mode, "custodians", keys_expected, keys_ok,
                {"exposed_total": reference["custodians"]["total"], "detectable": "none"},
                {**common, "T_day": reference["T_day"],
                 "curve": [[p["T_day"], p["custodians"]["past"], p["custodians"]["future"]]
                           for p in points]}),
        Outcome(ID, mode, "both", "the union: the whole archive under escrow, the device's "
                "few messages without", both_ok,
                {"exposed_total": reference["both"]["total"], "detectable": "none"},
                {**common, "T_day": reference["T_day"],
                 "curve": [[p["T_day"], p["both"]["past"], p["both"]["future"]]
                           for p in points]}),
    ]
    if mode in ROTATING:
        outcomes.append(_rotation_outcome(mode, size, total, reference["T_day"], common))
    return outcomes


def _rotation_outcome(mode: str, size: Sizes, total: int, reference_day: float,
                      common: dict) -> Outcome:
    slack = size.ratchet_every / size.per_day  # a chain begun before a rotation runs on
    by_period = {}
    holds = True
    for every in size.rotations:
        points = with_rotation(mode, size, every)
        for p in points:
            span = p["exposed_span_days"]
            low, high = p["epoch_days"]
            holds &= span is not None and low <= span[0] and span[1] < high + slack
        by_period[str(every)] = points
    reference = {every: min(points, key=lambda p: abs(p["T_day"] - reference_day))["total"]
                 for every, points in by_period.items()}
    holds &= all(reference[str(e)] < total for e in size.rotations if e < size.days)
    shortest = str(min(size.rotations))
    return Outcome(
        ID, mode, "rotation", "the stolen keys open only the epoch holding T: at most R days "
        "(and the chain running over its end); rotation bounds, never heals, the exposure",
        holds, {"exposed_total": reference[shortest], "detectable": "none"},
        {**{k: v for k, v in common.items() if k != "points"}, "T_day": reference_day,
         "R_days": shortest, "points_by_R": by_period,
         "curve": [[int(every), exposed] for every, exposed in reference.items()],
         "without_rotation": total})
