"""The portal's side of a release: one workflow attempt per target, each node asked in turn
(docs/custodian_node.md, "A release, end to end").

:func:`execute` takes an approved :class:`~authority_portal.warrants.states.WarrantCase`
and, for every target of its warrant: opens the workflow attempt of that target's
:class:`~authority_portal.warrants.authorisation.WarrantAuthorisation` with a fresh one-time
recovery key (:class:`escrow.workflow.LawfulAccess`, the one release path), logs the case's
move to ``releasing`` with the attempt's nonce, hands each node's operator the exact request
body for their node (:func:`~authority_portal.custodian_node.request.unsigned_request`) and
sends the node that body with the signature the operator returned, and submits what each
node releases to the attempt; then recovers. The case becomes ``recovered`` when every
target's report is complete. The coordinator holds no key at all: an operator is a
:data:`RequestSigner` (body in, signature out), such as
:meth:`~authority_portal.custodian_node.operator.Operator.sign` run by the operator, or a
call out to the operator's own tool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from authority_portal.custodian_node.client import NodeClient
from authority_portal.custodian_node.errors import NodeError
from authority_portal.custodian_node.request import attach_signature, unsigned_request
from authority_portal.warrants import states
from authority_portal.warrants.authorisation import authorise, warrant_window
from authority_portal.warrants.states import WarrantCase
from escrow.errors import WorkflowError
from escrow.recovery import WindowReport
from escrow.workflow import Attempt, LawfulAccess

RequestSigner = Callable[[bytes], bytes]
"""An operator: the 64-byte Ed25519 signature over a release request body, or an error
(:class:`~authority_portal.custodian_node.errors.NodeError`) if the operator declines."""


@dataclass
class TargetRun:
    """One target's attempt, each node's decision (``released`` or its reason), the report."""

    conversation_id: str
    attempt: Attempt
    decisions: dict[str, str] = field(default_factory=dict)
    report: WindowReport | None = None


def execute(case: WarrantCase, access: LawfulAccess, nodes: Mapping[str, NodeClient],
            operators: Mapping[str, RequestSigner], actor: str = "portal",
            observe: Callable[[TargetRun, str], object] | None = None) -> list[TargetRun]:
    """Run the release of every target of ``case`` through ``nodes`` (module docstring);
    ``observe(run, node)`` is called after each node's decision (a narrator's hook)."""
    approval = case.receipt(states.APPROVED)
    runs = []
    for conversation_id in case.warrant.targets:
        window = warrant_window(case.warrant, conversation_id)
        scoped = access.scope(window)
        if not scoped:
            continue
        key = X25519PrivateKey.generate()
        auth = authorise(case.warrant, case.signatures, conversation_id, scoped,
                         key.public_key().public_bytes_raw())
        attempt = access.open(window, auth, key)
        details = {"nonce": attempt.nonce, "conversation_id": conversation_id,
                   "authorisation_sha256": auth.digest.hex(), "records": len(scoped)}
        if case.state == states.APPROVED:
            case.transition(states.RELEASING, actor, details)
        run = TargetRun(conversation_id, attempt)
        for node, client in nodes.items():
            body = unsigned_request(node, auth, attempt.nonce, approval)
            try:
                request = attach_signature(body, operators[node](body))
                attempt.submit(attempt.nonce, client.release(request))
            except (NodeError, WorkflowError) as exc:  # declined, refused, unreachable, bad
                run.decisions[node] = str(exc)
                if observe is not None:
                    observe(run, node)
                continue
            run.decisions[node] = "released"
            if observe is not None:
                observe(run, node)
            if attempt.progress().complete:
                break
        run.report = attempt.recover()
        runs.append(run)
    if runs and all(r.report is not None and r.report.complete and r.attempt.progress().complete
                    for r in runs):
        case.transition(states.RECOVERED, actor, {
            "targets": [r.conversation_id for r in runs],
            "messages_recovered": sum(r.report.messages_recovered for r in runs
                                      if r.report is not None)})
    return runs
