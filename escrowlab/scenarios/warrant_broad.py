"""S09 warrant-broad (docs/scenarios.md): over-broad warrants, with the particularity
limits on and off.

Variants: a wildcard target (``dm:alice:*``), every chat of a user as one prefix target
(``dm:alice:``), every chat of a user listed by name, a ten-year window, and 1,000 targets.
A rogue judge signs each. With the lab's limits (``ParticularityPolicy()``, enforced by the
portal and again by every node) the portal's filing is tried and each node is sent the
request for the first target that has records in the archive; without limits
(``ParticularityPolicy.unlimited()`` at the portal and every node) the warrant is executed
through the nodes, and the messages it opens are the exposure ceiling. A wildcard names no
conversation id, so no request can name a record under it: measured as such.
"""

from __future__ import annotations

from authority_portal.warrants.authorisation import warrant_window
from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.model import Warrant
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from escrowlab.scenarios._warrant_world import DAY, WarrantWorld, sizes, warrant_world
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

YEAR = 365 * DAY
NO_RECORD = "no request possible: no archived record matches the target"


def _variants(world: WarrantWorld) -> dict[str, dict]:
    alice = tuple(c for c in world.conversations if "alice" in c.split(":")[1:])
    end = int(world.clock.now()) + 1
    fake = tuple(f"dm:x{i}:y{i}" for i in range(1000 - len(world.conversations)))
    return {
        "wildcard": dict(targets=("dm:alice:*",)),
        "user-prefix": dict(targets=("dm:alice:",)),
        "every-chat-listed": dict(targets=alice),
        "ten-year-window": dict(window_start=end - 10 * YEAR, window_end=end),
        "thousand-targets": dict(targets=tuple(world.conversations) + fake),
    }


def _with_records(world: WarrantWorld, warrant: Warrant) -> list[str]:
    return [t for t in warrant.targets if world.access.scope(warrant_window(warrant, t))]


def _limited(world: WarrantWorld, name: str, terms: dict) -> dict:
    warrant = world.warrant(warrant_id=f"W-{name}", **terms)
    try:
        approval = world.case(warrant).receipt("approved")
        portal = "accepted"
    except WarrantError as exc:
        portal = str(exc)
        # the insider shows the nodes the approval of another (genuine) warrant
        approval = world.case(world.warrant(warrant_id=f"W-ref-{name}")).receipt("approved")
    targets = _with_records(world, warrant)
    if not targets:
        return {"portal": portal, "nodes": dict.fromkeys(world.nodes, NO_RECORD), "opened": 0}
    auth, attempt = world.open_attempt(warrant, (sign_warrant(world.judges["J1"], warrant),),
                                       targets[0])
    answers = world.send_to_all(lambda n: world.request(n, auth, attempt.nonce, approval))
    return {"portal": portal, "nodes": {n: a for n, (a, _) in answers.items()},
            "opened": world.opened(attempt, answers)}


def _unlimited(world: WarrantWorld, name: str, terms: dict) -> dict:
    warrant = world.warrant(warrant_id=f"W-{name}", **terms)
    case = world.case(warrant, policy=world.policy)
    runs = world.execute(case)
    return {"opened": sum(r.report.messages_recovered for r in runs if r.report),
            "targets_with_records": len(_with_records(world, warrant)),
            "state": case.state}


@scenario("S09", "warrant-broad", "wildcard, every chat of a user, ten-year and 1,000-target "
          "warrants, with and without particularity limits", ("threshold",))
def run(params: Params, mode: str) -> list[Outcome]:
    out = []
    with warrant_world(**sizes(params)) as limited:
        archived = {c: len(list(limited.relay.archive.entries(c)))
                    for c in limited.conversations}
        reference = limited.execute(limited.case(limited.warrant(warrant_id="W-reference")))
        reference_opened = reference[0].report.messages_recovered
        measured = {name: _limited(limited, name, terms)
                    for name, terms in _variants(limited).items()}
    free = ParticularityPolicy.unlimited()
    with warrant_world(**sizes(params), policies={f"K{i}": free for i in range(1, 6)}) as world:
        world.policy = free
        ceiling = {name: _unlimited(world, name, terms)
                   for name, terms in _variants(world).items()}
    for name, seen in measured.items():
        released = [n for n, a in seen["nodes"].items() if a == "released"]
        if name == "every-chat-listed":
            expected = ("within the limits (a user's few chats, each named): accepted and "
                        "released; particularity limits count targets, not people")
            holds = seen["portal"] == "accepted" and seen["opened"] > 0
        else:
            expected = ("refused by the portal's and every node's particularity limits (a "
                        "wildcard also matches no record at all)")
            holds = seen["portal"] != "accepted" and not released and seen["opened"] == 0
        out.append(Outcome(
            "S09", mode, f"{name}-limited", expected, holds=holds,
            metrics={"exposed_total": seen["opened"]},
            details={"portal": seen["portal"], "nodes": seen["nodes"],
                     "released_by": released}))
        out.append(Outcome(
            "S09", mode, f"{name}-unlimited",
            "without limits, the exposure ceiling: every message the warrant's targets and "
            "window reach in the archive",
            holds=True,
            metrics={"exposed_total": ceiling[name]["opened"]},
            details={**ceiling[name], "archived_messages": archived,
                     "reference_warrant_messages": reference_opened}))
    return out
