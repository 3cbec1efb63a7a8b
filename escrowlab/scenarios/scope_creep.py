"""S10 scope-creep (docs/scenarios.md): the material released for the reference warrant used
outside its window, on another conversation, after its expiry; and the custodians asked
for C2 under it.

For each ratchet interval r the standard cast talks for some days (a DH step every r
messages, :mod:`escrowlab.scenarios._traffic`). A judge signs the reference warrant
(:meth:`escrow.authorisation.SignedAuthorisation.issue`): the chains of C1 with a message
received in [day 3, day 5), expiring on day 10. The custodians (for ``leaf16``, the two
escrow agents) check it and release; the lawful-access workflow (:mod:`escrow.workflow`)
recovers the window. Then whoever holds that material (the releases and the one-time
recovery key) misuses it, each time through the mode's own recovery entry point:

- *outside the window*: the whole of C1, every archived message; what opens outside
  [day 3, day 5) is ``exposed_out_of_scope``. Chain-key escrow releases whole chains, so a
  chain that overlaps the window opens entirely: the exposure grows with r. The archive's
  own grouping gives the messages of those overlapping chains, for comparison.
- *on other conversations*: C2 and C3, every archived message.
- *after expiry* (day 11): the custodians asked again refuse, and the material already
  released opens what it opened before (expiry binds the custodians, not the material).
- *custodians asked for C2 under the warrant*: each custodian's own check, before expiry.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import SignedAuthorisation, TrustedIssuers
from escrow.errors import EscrowError
from escrow.modes import Deployment, get_mode
from escrow.record import record_digest
from escrow.scope import Window
from escrow.workflow import LawfulAccess
from escrowlab.scenarios._traffic import DAY, FAR_FUTURE, START, World, build_world, run_days
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

ID = "S10"
MODES = ("threshold", "leaf16", "crumple")
JUDGE = "judge-1"
WINDOW_DAYS = (3, 5)
EXPIRY_DAY = 10
REFERENCE_R = 4


@dataclass(frozen=True)
class Sizes:
    days: int
    per_day: int
    ratchets: tuple[int, ...]
    trials: int  # worlds per r, each starting at another time of day 0
    puzzle_bits: int


def sizes(params: Params) -> Sizes:
    if params.full:
        return Sizes(8, 12, (1, 2, 4, 8, 16, 32), 4, 12)
    return Sizes(6, 5, (1, 2, 4, 8), 1, 6)


@dataclass
class Warrant:
    """The reference warrant, what the parties released under it, and its recovery key."""

    window: Window
    authorisation: SignedAuthorisation
    verifier: TrustedIssuers
    recovery_key: X25519PrivateKey
    releases: list


def reference_warrant(deployment: Deployment, world: World) -> tuple[Warrant, object]:
    """The judge's warrant over C1's [day 3, day 5), the parties' releases, the recovery."""
    window = Window(world.conversation("C1"), world.day(WINDOW_DAYS[0]),
                    world.day(WINDOW_DAYS[1]))
    access = LawfulAccess(deployment, world.archive)
    scoped = access.scope(window)
    judge = Ed25519PrivateKey.generate()
    recovery_key = X25519PrivateKey.generate()
    authorisation = SignedAuthorisation.issue(
        JUDGE, judge, "W-REF", tuple(s.ref for s in scoped),
        recovery_key.public_key().public_bytes_raw(), world.day(EXPIRY_DAY))
    verifier = TrustedIssuers({JUDGE: judge.public_key().public_bytes_raw()})
    attempt = access.open(window, authorisation, recovery_key)
    releases = []
    for party in range(deployment.threshold):
        made = deployment.release(party, authorisation, verifier, scoped, world.clock)
        attempt.submit(attempt.nonce, made)
        releases += made
    return Warrant(window, authorisation, verifier, recovery_key, releases), attempt.recover()


def reuse(deployment: Deployment, world: World, warrant: Warrant, conversation_id: str):
    """The released material run, by its holder, over every archived message of
    ``conversation_id`` (the mode's recovery entry point, :data:`escrow.modes.Recover`)."""
    return get_mode(deployment.mode).recover(
        deployment, world.archive, Window(conversation_id, START - DAY, FAR_FUTURE),
        warrant.authorisation, warrant.releases, warrant.recovery_key)


def overlapping_outside(world: World, window: Window) -> int:
    """Archived messages of C1 outside ``window`` whose chain has a message inside it."""
    chains: dict[bytes, list[float]] = {}
    for entry in world.archive.entries(window.conversation_id):
        chains.setdefault(record_digest(entry.record), []).append(entry.received_at)
    return sum(sum(1 for at in times if not window.start <= at < window.end)
               for times in chains.values()
               if any(window.start <= at < window.end for at in times))


def ask(deployment: Deployment, world: World, warrant: Warrant, window: Window) -> dict:
    """Each party asked, now, for the records of ``window`` under the warrant; what their
    releases, if any, open of ``window`` (the mode's recovery)."""
    scoped = LawfulAccess(deployment, world.archive).scope(window)
    granted, refusals = [], []
    for party in range(deployment.threshold):
        try:
            granted += deployment.release(party, warrant.authorisation, warrant.verifier,
                                          scoped, world.clock)
        except EscrowError as exc:
            refusals.append(f"{deployment.parties[party]}: {exc}")
    opened = get_mode(deployment.mode).recover(
        deployment, world.archive, window, warrant.authorisation, granted,
        warrant.recovery_key).messages_recovered if granted else 0
    return {"asked": deployment.threshold, "records": len(scoped), "granted": len(granted),
            "refusals": refusals, "opened": opened}


def logged_units(deployment: Deployment) -> set[int]:
    """The units the EES agents logged a key release of (nothing for other modes)."""
    return {r.unit_id for agent in getattr(deployment, "agents", ()) for r in agent.releases}


def measure(mode: str, size: Sizes, ratchet_every: int, starts: float) -> dict:
    """One world with DH steps every ``ratchet_every`` messages, its traffic starting
    ``starts`` seconds into day 0, and every misuse in it."""
    given = {"puzzle_bits": size.puzzle_bits} if mode == "crumple" else {}
    deployment = get_mode(mode).deployment(**given)
    world = build_world(deployment.hook_for)
    world.clock.advance(starts)
    run_days(world, size.days, size.per_day, ratchet_every)
    warrant, report = reference_warrant(deployment, world)
    warrant_units = logged_units(deployment)
    window = warrant.window
    inside = reuse(deployment, world, warrant, window.conversation_id).messages
    outside = sum(1 for m in inside if not window.start <= m.received_at < window.end)
    c1_units = logged_units(deployment)
    others = {name: reuse(deployment, world, warrant, world.conversation(name))
              .messages_recovered for name in ("C2", "C3")}
    other_units = logged_units(deployment)
    c2_window = Window(world.conversation("C2"), window.start, window.end)
    asked_c2 = ask(deployment, world, warrant, c2_window)
    world.clock.set(world.day(EXPIRY_DAY + 1))
    asked_again = ask(deployment, world, warrant, window)
    after_expiry = reuse(deployment, world, warrant, window.conversation_id).messages_recovered
    return {
        "r": ratchet_every,
        "starts_hours": starts / 3600,
        "chains_in_scope": len(warrant.authorisation.records),
        "in_window": report.messages_recovered,
        "messages_in_window": report.messages_in_scope,
        "exposed_out_of_scope": outside,
        "overlapping_chains_outside": overlapping_outside(world, window),
        "library_out_of_scope_recoverable": report.out_of_scope_recoverable,
        "other_conversations": others,
        "asked_for_c2": asked_c2,
        "asked_after_expiry": asked_again,
        "reused_after_expiry": after_expiry,
        "archived_c1": len(world.entries("C1")),
        "units_logged": {"warrant": len(warrant_units), "after_c1_reuse": len(c1_units),
                         "after_other_reuse": len(other_units)},
    }


@scenario(ID, "scope-creep", "released material used outside its window, on C2, after "
          "expiry; custodians asked for C2 under the warrant", MODES)
def run(params: Params, mode: str) -> list[Outcome]:
    size = sizes(params)
    rng = random.Random(params.seed)
    by_r = [measure(mode, size, r, rng.uniform(0, DAY))
            for r in size.ratchets for _ in range(size.trials)]
    ref = next(p for p in by_r if p["r"] == REFERENCE_R)  # its first trial
    common = {"days": size.days, "per_day": size.per_day, "trials_per_r": size.trials,
              "window_days": list(WINDOW_DAYS),
              "expiry_day": EXPIRY_DAY, "reference_r": REFERENCE_R, "seed": params.seed}
    if mode == "crumple":
        common["puzzle_bits"] = size.puzzle_bits
    per_record = mode != "leaf16"  # leaf16's agents consent per authorisation, not per record
    if per_record:
        window_ok = all(p["exposed_out_of_scope"] == p["overlapping_chains_outside"]
                        and p["in_window"] == p["messages_in_window"] for p in by_r)
        window_expected = ("whole chains open: the out-of-window messages of the chains "
                           "overlapping the window, growing with r")
        others_ok = all(sum(p["other_conversations"].values()) == 0 for p in by_r)
        others_expected = "nothing of C2 or C3 opens"
        c2_ok = all(p["asked_for_c2"]["granted"] == p["asked_for_c2"]["opened"] == 0
                    for p in by_r)
        c2_expected = "every custodian refuses: the warrant names no record of C2"
    else:
        window_ok = all(p["exposed_out_of_scope"] == p["archived_c1"] - p["in_window"]
                        for p in by_r)
        window_expected = ("the released unit keys open every chain of both devices: all of "
                           "C1 outside the window, whatever r")
        others_ok = all(all(n > 0 for n in p["other_conversations"].values()) for p in by_r)
        others_expected = ("the agents' consent is to the authorisation, not to records: C2 "
                           "and C3 open too")
        c2_ok = all(p["asked_for_c2"]["granted"] == p["asked_for_c2"]["asked"]
                    and p["asked_for_c2"]["opened"] > 0 for p in by_r)
        c2_expected = "both agents consent again: they cannot tell C2's LEAFs from C1's"
    expiry_ok = all(p["asked_after_expiry"]["granted"] == 0
                    and p["reused_after_expiry"] == p["in_window"] + p["exposed_out_of_scope"]
                    for p in by_r)
    def curve(value) -> list[list[float]]:
        return [[r, statistics.mean(value(p) for p in by_r if p["r"] == r)]
                for r in size.ratchets]

    others_total = sum(ref["other_conversations"].values())
    return [
        Outcome(ID, mode, "outside-window", window_expected, window_ok,
                {"exposed_out_of_scope": ref["exposed_out_of_scope"],
                 "exposed_total": ref["in_window"] + ref["exposed_out_of_scope"],
                 "detectable": _detected(ref, "after_c1_reuse")},
                {**common, "curve": curve(lambda p: p["exposed_out_of_scope"]), "by_r": by_r}),
        Outcome(ID, mode, "other-conversations", others_expected, others_ok,
                {"exposed_out_of_scope": others_total,
                 "detectable": _detected(ref, "after_other_reuse")},
                {**common, "curve": curve(lambda p: sum(p["other_conversations"].values())),
                 "by_r": [{"r": p["r"], **p["other_conversations"]} for p in by_r]}),
        Outcome(ID, mode, "after-expiry", "the custodians refuse after expiry; what they "
                "released before still opens exactly what it opened", expiry_ok,
                {"exposed_out_of_scope": ref["reused_after_expiry"] - ref["in_window"],
                 "detectable": "none"},
                {**common, "by_r": [{"r": p["r"], "asked": p["asked_after_expiry"],
                                     "reused_after_expiry": p["reused_after_expiry"]}
                                    for p in by_r]}),
        Outcome(ID, mode, "asked-for-c2", c2_expected, c2_ok,
                {"exposed_out_of_scope": ref["asked_for_c2"]["opened"], "detectable": "none"},
                {**common, "by_r": [{"r": p["r"], **p["asked_for_c2"]} for p in by_r]}),
    ]


def _detected(point: dict, after: str) -> str:
    """``log`` when the misuse made the EES agents log units the warrant did not reach (an
    auditor comparing their log with the warrant sees it); ``none`` otherwise: the holder
    of released material reads it offline."""
    units = point["units_logged"]
    return "log" if units[after] > units["warrant"] else "none"
