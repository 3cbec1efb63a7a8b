"""S13 cross-jurisdiction (docs/scenarios.md): custodians in two jurisdictions, every user
in JA (the home), each node trusting only its own jurisdiction's judges.

Two layouts of five custodians (t = 3): ``JB-holds-t`` (K1, K2 in JA; K3..K5 in JB) and
``JB-below-t`` (K1..K3 in JA; K4, K5 in JB). In each, three warrants on C1 are run through
every node: a foreign one (judge JF of JB), a home one (judge J1 of JA), and a foreign one
over a 60-day window where JB's nodes apply no particularity limits (conflicting
policies). Measured: who released, the messages opened, and so which jurisdiction's
coalition reads a JA user's messages without JA.
"""

from __future__ import annotations

from authority_portal.warrants.judges import JudgeRegistry
from authority_portal.warrants.policy import ParticularityPolicy
from escrowlab.scenarios._warrant_world import DAY, WarrantWorld, sizes, warrant_world
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

PLACES = ("JA", "JB")
LAYOUTS = {"JB-holds-t": ("JA", "JA", "JB", "JB", "JB"),
           "JB-below-t": ("JA", "JA", "JA", "JB", "JB")}


def _run(world: WarrantWorld, name: str, judge: str, jurisdiction: str, **terms) -> dict:
    case = world.case(world.warrant(warrant_id=f"W-{name}", jurisdiction=jurisdiction,
                                    **terms), (judge,))
    [run_] = world.execute(case)
    return {"released_by": [n for n, d in run_.decisions.items() if d == "released"],
            "opened": run_.report.messages_recovered, "complete": run_.report.complete,
            "reasons": {n: d for n, d in run_.decisions.items() if d != "released"}}


@scenario("S13", "cross-jurisdiction", "custodians in two jurisdictions; a foreign judge's "
          "warrant; conflicting policies", ("threshold",))
def run(params: Params, mode: str) -> list[Outcome]:
    out = []
    for layout, places in LAYOUTS.items():
        with warrant_world(**sizes(params), jurisdictions=places) as world:
            judges = world.home_registry.judges
            own = {p: JudgeRegistry(j for j in judges if j.jurisdiction == p) for p in PLACES}
            t = world.deployment.threshold
            free = ParticularityPolicy.unlimited()
            for i, place in enumerate(places):
                node = world.nodes[f"K{i + 1}"]
                node.registry = own[place]
                if place == "JB":
                    node.policy = free
            foreign = _run(world, f"{layout}-foreign", "JF", "JB")
            home = _run(world, f"{layout}-home", "J1", "JA")
            world.policy = free
            wide = _run(world, f"{layout}-wide", "JF", "JB",
                        window_start=world.day0, window_end=world.day0 + 60 * DAY)
        counts = {p: places.count(p) for p in PLACES}
        for variant, seen, place in (("foreign-warrant", foreign, "JB"),
                                     ("home-warrant", home, "JA"),
                                     ("foreign-wide-window", wide, "JB")):
            expected = (f"{place}'s nodes alone release; they open C1 only if {place} holds "
                        f"t={t} custodians ({counts[place]} here)")
            outside = {n for n in seen["released_by"]
                       if places[int(n[1:]) - 1] != place}
            holds = not outside and (seen["opened"] > 0) == (counts[place] >= t)
            out.append(Outcome(
                "S13", mode, f"{layout}:{variant}", expected, holds=holds,
                metrics={"exposed_total": seen["opened"],
                         "min_coalition": counts[place] if seen["opened"] > 0 else None,
                         "detectable": "log"},
                details={**seen, "custodian_jurisdictions": list(places),
                         "reads_ja_users_without_ja": place != "JA" and seen["opened"] > 0}))
    return out
