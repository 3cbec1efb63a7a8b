"""S07 judge-key (docs/scenarios.md): a judge's key is stolen, or a judge signs a warrant
with no basis (the two cannot be told apart by any check: the signature is genuine).

- ``one-of-m``: one judge signature is enough (the lab's default); the thief (or rogue
  judge) signs, an officer files, the warrant runs through the nodes;
- ``one-of-m-without-the-log``: the thief holds the key but cannot log an approval, and
  goes straight to the nodes with the approval receipt of another warrant;
- ``k-of-m-one-key``: the portal and every node require 2 of the 3 judges; one key;
- ``k-of-m-two-keys``: two keys (or two rogue judges).

Measured: messages opened (``exposed_total``), the fewest judge keys that opened anything
(``min_coalition``, from trying one key and then two),
and whether the log shows the warrant's approval and releases (``detectable``).
"""

from __future__ import annotations

from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from escrowlab.scenarios._warrant_world import WarrantWorld, sizes, warrant_world
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

BASELESS = "No grounds: signed with a stolen key."


def _logged(world: WarrantWorld, start: int, warrant_sha256: str) -> list[str]:
    """The types of the entries since ``start`` that name this warrant."""
    return [e.type for e in world.entries(start) if e.payload.get("warrant_sha256") ==
            warrant_sha256]


def _through_portal(world: WarrantWorld, name: str, signers: tuple[str, ...]) -> dict:
    start = world.log.size
    warrant = world.warrant(warrant_id=f"W-{name}", legal_basis=BASELESS)
    try:
        case = world.case(warrant, signers)
    except WarrantError as exc:
        return {"portal": str(exc), "opened": 0, "nodes": {},
                "logged": _logged(world, start, warrant.sha256.hex())}
    runs = world.execute(case)
    return {"portal": "approved", "opened": sum(r.report.messages_recovered for r in runs),
            "nodes": runs[0].decisions, "logged": _logged(world, start, warrant.sha256.hex())}


def _straight_to_nodes(world: WarrantWorld, signers: tuple[str, ...]) -> dict:
    warrant = world.warrant(warrant_id="W-stolen-direct", legal_basis=BASELESS)
    genuine = ("J1", "J2") if world.policy.judges_required == 2 else ("J1",)
    other = world.case(world.warrant(warrant_id="W-genuine-07"), genuine).receipt("approved")
    signatures = tuple(sign_warrant(world.judges[s], warrant) for s in signers)
    auth, attempt = world.open_attempt(warrant, signatures)
    answers = world.send_to_all(lambda n: world.request(n, auth, attempt.nonce, other))
    return {"opened": world.opened(attempt, answers),
            "nodes": {n: a for n, (a, _) in answers.items()}}


@scenario("S07", "judge-key", "a stolen or rogue judge key signs a baseless warrant; "
          "k-of-m judges; without the log", ("threshold",))
def run(params: Params, mode: str) -> list[Outcome]:
    out = []
    with warrant_world(**sizes(params)) as world:
        one = _through_portal(world, "one", ("J1",))
        out.append(Outcome(
            "S07", mode, "one-of-m",
            "one stolen key opens the warrant's window; the approval and every release are "
            "in the log under the judge's name",
            holds=one["opened"] > 0 and "warrant.approved" in one["logged"],
            metrics={"exposed_total": one["opened"],
                     "min_coalition": 1 if one["opened"] > 0 else None,
                     "detectable": "log" if "warrant.approved" in one["logged"] else "none"},
            details=one))
        direct = _straight_to_nodes(world, ("J1",))
        out.append(Outcome(
            "S07", mode, "one-of-m-without-the-log",
            "without a logged approval, the stolen key opens nothing",
            holds=direct["opened"] == 0 and all(a != "released"
                                                for a in direct["nodes"].values()),
            metrics={"exposed_total": direct["opened"], "detectable": "log"},
            details=direct))
    two = ParticularityPolicy(judges_required=2)
    with warrant_world(**sizes(params), policies={f"K{i}": two for i in range(1, 6)}) as world:
        world.policy = two
        single = _through_portal(world, "k-one", ("J1",))
        direct = _straight_to_nodes(world, ("J1",))
        pair = _through_portal(world, "k-two", ("J1", "J2"))
        fewest = next((k for k, run_ in ((1, single), (2, pair)) if run_["opened"] > 0), None)
        out.append(Outcome(
            "S07", mode, "k-of-m-one-key",
            "with 2 of 3 judges required, one key is refused by the portal and every node",
            holds=single["opened"] == 0 and direct["opened"] == 0 and
            all("2 are required" in a for a in direct["nodes"].values()),
            metrics={"exposed_total": single["opened"] + direct["opened"],
                     "min_coalition": fewest, "detectable": "log"},
            details={"portal": single["portal"], "nodes": direct["nodes"]}))
        out.append(Outcome(
            "S07", mode, "k-of-m-two-keys",
            "two keys open the window; both judges are named in the log",
            holds=pair["opened"] > 0 and "warrant.approved" in pair["logged"],
            metrics={"exposed_total": pair["opened"], "min_coalition": fewest,
                     "detectable": "log" if "warrant.approved" in pair["logged"] else "none"},
            details=pair))
    return out
