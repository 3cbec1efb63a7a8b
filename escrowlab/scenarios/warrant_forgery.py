"""S06 warrant-forged (docs/scenarios.md): forged, altered and mis-encoded warrants, sent to
the portal and straight to every custodian node.

Each variant is built as an insider would (the portal or an officer, with the genuine
warrant's approval receipt at hand, and the node's own operator deceived into signing the
request), then offered to the portal's case and to each of the n nodes. Measured per
variant: how many nodes released (``forged_accepted``), the shares that left them
(``exposed_total``), whether every node's database is as it was (``state_unchanged``), and
whether every refusal is in the audit log (``detectable`` = ``log``); the nodes' reasons
are in ``details``.
"""

from __future__ import annotations

import dataclasses
import json
import os

from audit.note import Signer
from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.model import Warrant
from authority_portal.warrants.signatures import sign_warrant
from authority_portal.warrants.states import WarrantCase
from escrowlab.scenarios._warrant_world import WarrantWorld, sizes, warrant_world
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario


def _variants(world: WarrantWorld):
    """The genuine request's builder, and each variant: (name, (warrant bytes, signatures)
    the portal is offered, request builder per node)."""
    genuine = world.case(world.warrant(warrant_id="W-genuine"))
    approval = genuine.receipt("approved")
    w = genuine.warrant
    auth, attempt = world.open_attempt(w, genuine.signatures)
    nonce = attempt.nonce
    body = json.loads(world.request("K1", auth, nonce, approval))

    def request_with(**changes):
        return lambda node: world.resign(node, {**body, "node": node, **changes})

    officer = Signer.generate("O1")
    other = world.warrant(warrant_id="W-genuine", targets=(world.conversations[1],))
    edited = world.warrant(warrant_id="W-genuine", window_start=w.window_start - 2 * 86_400)
    unknown = dataclasses.replace(genuine.signatures[0], key_id=os.urandom(4))
    pretty = json.dumps(w.to_json(), indent=2)
    edited_auth, _ = world.authorisation(edited, genuine.signatures)
    return attempt, request_with(), [
        ("unsigned", (w.encode(), ()), request_with(signatures=[])),
        ("officer-signed", (w.encode(), (sign_warrant(officer, w),)),
         request_with(signatures=[sign_warrant(officer, w).to_json()])),
        ("signature-over-other-bytes", (w.encode(), (sign_warrant(world.judges["J1"], other),)),
         request_with(signatures=[sign_warrant(world.judges["J1"], other).to_json()])),
        ("edited-after-signing", (edited.encode(), genuine.signatures),
         request_with(warrant=edited.encode().decode(),
                      records=[r.to_json() for r in edited_auth.records])),
        ("non-canonical-encoding", (pretty.encode(), genuine.signatures),
         request_with(warrant=pretty)),
        ("unknown-key-id", (w.encode(), (unknown,)), request_with(signatures=[unknown.to_json()])),
    ]


def _portal_refuses(world: WarrantWorld, data: bytes, signatures) -> str:
    """The portal's answer when the warrant ``data`` is filed and offered ``signatures``."""
    try:
        case = WarrantCase.draft(Warrant.decode(data), world.log, world.home_registry,
                                 world.policy, "officer:O1")
        case.file("officer:O1")
        case.approve("judge:J1", signatures)
    except WarrantError as exc:
        return str(exc)
    return "accepted"


@scenario("S06", "warrant-forged", "forged, altered, non-canonical and unknown-key warrants "
          "sent to the portal and straight to every custodian node", ("threshold",))
def run(params: Params, mode: str) -> list[Outcome]:
    outcomes = []
    with warrant_world(**sizes(params)) as world:
        attempt, control, variants = _variants(world)
        for name, (data, signatures), build in variants:
            before, start = world.node_state(), world.log.size
            answers = world.send_to_all(build)
            accepted = [n for n, (answer, _) in answers.items() if answer == "released"]
            shares = sum(len(r) for _, r in answers.values())
            logged = world.refusals_logged(start)
            portal = _portal_refuses(world, data, signatures)
            unchanged = world.node_state() == before
            outcomes.append(Outcome(
                "S06", mode, name,
                "every node refuses with a clear error, 0 shares, refusals logged, state "
                "unchanged; the portal refuses too",
                holds=not accepted and shares == 0 and unchanged and
                logged == len(world.nodes) and portal != "accepted",
                metrics={"forged_accepted": len(accepted),
                         "exposed_total": world.opened(attempt, answers),
                         "state_unchanged": unchanged,
                         "detectable": "log" if logged == len(world.nodes) else "none"},
                details={"nodes": len(world.nodes), "refusals_logged": logged,
                         "shares_released": shares,
                         "reasons": {n: a for n, (a, _) in answers.items()},
                         "portal": portal}))
        answers = world.send_to_all(control)
        released = [n for n, (answer, _) in answers.items() if answer == "released"]
        outcomes.append(Outcome(
            "S06", mode, "genuine-control", "the genuine request is released by every node",
            holds=len(released) == len(world.nodes),
            metrics={"forged_accepted": 0, "exposed_total": world.opened(attempt, answers)},
            details={"released_by": released,
                     "shares_released": sum(len(r) for _, r in answers.values())}))
    return outcomes
