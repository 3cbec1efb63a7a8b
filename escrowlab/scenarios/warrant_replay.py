"""S08 warrant-replay (docs/scenarios.md): an expired warrant, a replayed release request, a
resubmission of an executed warrant to another subset of custodians, and skewed clocks.

Measured per variant: the messages the workflow's recovery opens from what the nodes
released (``exposed_total``), whether the nodes' databases stayed as they were, and
whether the log shows it.

- ``expired-skewed-portal-clock``: the warrant is approved and time passes its expiry; a
  portal whose clock is behind still asks every node, and each judges expiry by its own
  clock;
- ``replayed-request``: a node that released is sent the same signed request again;
- ``other-subset``: after K1..Kt released for one attempt, the portal opens a second
  attempt (a new recovery key) and asks every node again;
- ``one-skewed-node``: one node's own clock is half a day slow (the
  warrant expired a second ago).
"""

from __future__ import annotations

from authority_portal.custodian_node.errors import NodeError
from escrowlab.scenarios._warrant_world import DAY, WarrantWorld, sizes, warrant_world
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario


def _ask_all(world: WarrantWorld, case) -> tuple[dict, int]:
    """Every node's answer to a new attempt of ``case``'s first target, and the messages
    the workflow opens from what they released."""
    auth, attempt = world.open_attempt(case.warrant, case.signatures)
    approval = case.receipt("approved")
    answers = world.send_to_all(lambda n: world.request(n, auth, attempt.nonce, approval))
    return answers, world.opened(attempt, answers)


def _released(answers: dict) -> list[str]:
    return [n for n, (a, _) in answers.items() if a == "released"]


@scenario("S08", "warrant-replay", "expired warrants, replayed requests, resubmission to "
          "another custodian subset, skewed clocks", ("threshold",))
def run(params: Params, mode: str) -> list[Outcome]:
    out = []
    with warrant_world(**sizes(params)) as world:
        t = world.deployment.threshold
        # expired: approved now, asked after expiry by a portal whose clock says it is not
        case = world.case(world.warrant(warrant_id="W-exp", expires_at=int(
            world.clock.now()) + DAY))
        world.clock.advance(DAY + 1)
        before, start = world.node_state(), world.log.size
        answers, opened = _ask_all(world, case)
        out.append(Outcome(
            "S08", mode, "expired-skewed-portal-clock",
            "0 releases after expiry, whatever the portal's clock says; refusals logged",
            holds=not _released(answers) and world.refusals_logged(start) == len(world.nodes),
            metrics={"exposed_total": opened,
                     "state_unchanged": world.node_state() == before, "detectable": "log"},
            details={"reasons": {n: a for n, (a, _) in answers.items()}}))

        # one node's own clock is slow: it alone releases
        world.node_clocks["K1"].offset = -DAY / 2
        start = world.log.size
        answers, opened = _ask_all(world, case)
        released = _released(answers)
        out.append(Outcome(
            "S08", mode, "one-skewed-node",
            "a portal clock cannot extend a warrant; one node with a slow clock releases "
            "alone, below t",
            holds=released == ["K1"] and opened == 0,
            metrics={"exposed_total": opened, "detectable": "log"},
            details={"released_by": released, "threshold": t,
                     "shares_released": sum(len(r) for _, r in answers.values()),
                     "reasons": {n: a for n, (a, _) in answers.items()}}))
        world.node_clocks["K1"].offset = 0

        # replayed request and resubmission to another subset
        case = world.case(world.warrant(warrant_id="W-run"))
        [first] = world.execute(case)
        auth = first.attempt.authorisation
        first_nodes = [n for n, d in first.decisions.items() if d == "released"]
        request = world.request(first_nodes[0], auth, first.attempt.nonce,
                                case.receipt("approved"))
        before, start = world.node_state(), world.log.size
        answer, releases = world.ask(first_nodes[0], request)
        out.append(Outcome(
            "S08", mode, "replayed-request", "the duplicate is refused and logged",
            holds=answer != "released" and not releases and world.refusals_logged(start) == 1,
            metrics={"state_unchanged": world.node_state() == before, "detectable": "log"},
            details={"reason": answer, "shares_released": len(releases)}))

        again, attempt = world.open_attempt(case.warrant, case.signatures)
        approval = case.receipt("approved")
        start = world.log.size
        submitted: list[str] = []
        refused: list[str] = []
        for node in world.nodes:
            request = world.request(node, again, attempt.nonce, approval)
            try:
                releases = world.nodes[node].handle(request).releases
            except NodeError:
                refused.append(node)
            else:
                attempt.submit(attempt.nonce, releases)
                submitted.append(node)
        report = attempt.recover()
        out.append(Outcome(
            "S08", mode, "other-subset",
            "a node releases one target of one warrant once: a second attempt gets the "
            "n - t nodes that had not released, below t, and opens nothing; logged",
            holds=len(submitted) == len(world.nodes) - t and report.messages_recovered == 0,
            metrics={"exposed_total": report.messages_recovered,
                     "detectable": "log", "recovery_success": report.complete},
            details={"first_attempt": first_nodes,
                     "first_attempt_messages": first.report.messages_recovered,
                     "second_attempt": submitted,
                     "refused_second": refused,
                     "second_attempt_progress": str(attempt.progress()),
                     "refusals_logged": world.refusals_logged(start),
                     "releases_logged": world.log_types(start).count("custodian.released")}))
    return out
