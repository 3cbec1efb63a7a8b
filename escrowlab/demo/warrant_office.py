"""The demo's lawful access through the warrant path (docs/warrants.md, docs/custodian_node.md):
an officer files a warrant, a judge signs it, every step goes to a witnessed audit log, each
custodian runs as its own node that checks the warrant and the log itself before it releases,
and the log is verified offline at the end.

:class:`WarrantOffice` is the cast: an audit log with three witnesses (quorum two) in a
temporary folder, judge J1 of jurisdiction JA in every node's registry, the lab's
particularity policy, one :class:`~authority_portal.custodian_node.node.CustodianNode`
per custodian of the deployment with its own database, and that node's operator
(:class:`~authority_portal.custodian_node.operator.Operator`, their own key; the node holds
only its public half). The coordinator is handed each operator's signer, never a key: it
shows the operator the request body for their node and forwards what they signed.
:meth:`WarrantOffice.recover` runs one warrant through
:func:`authority_portal.custodian_node.coordinator.execute` (the one release path, over
:class:`escrow.workflow.LawfulAccess`) and narrates it.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.entries import Entry
from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.verifier import verify_log
from audit.witness import Witness
from authority_portal.custodian_node.client import InProcessClient
from authority_portal.custodian_node.coordinator import TargetRun, execute
from authority_portal.custodian_node.log_check import LocalLog, LogTrust
from authority_portal.custodian_node.node import CustodianNode
from authority_portal.custodian_node.operator import Operator
from authority_portal.custodian_node.store import NodeStore
from authority_portal.warrants.judges import Judge, JudgeRegistry
from authority_portal.warrants.model import Warrant
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from authority_portal.warrants.states import WarrantCase
from escrow.threshold.deployment import CustodianDeployment
from escrow.workflow import LawfulAccess
from escrowlab.demo import Narrator

JUDGE = "J1"
OFFICER = "officer:O1"
LOG_ORIGIN = "audit.escrowlab.demo/log"
WITNESSES = 3
QUORUM = 2
WARRANT_LIFETIME = 10 * 86_400


@dataclass
class Recovery:
    """What the warrant path produced for the demo's JSON and narration."""

    case: WarrantCase
    runs: list[TargetRun]
    below_threshold: str
    log_entries: list[dict]
    verification: dict


class WarrantOffice:
    """The warrant path's cast for one demo world (module docstring); a context manager."""

    def __init__(self, deployment: CustodianDeployment, archive, clock) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="escrowlab-demo-warrants-")
        directory = Path(self._tmp.name)
        self.clock = clock
        self.deployment = deployment
        self.judge = Signer.generate(JUDGE)
        self.registry = JudgeRegistry([Judge(JUDGE, "JA", self.judge.verifier)])
        self.policy = ParticularityPolicy()
        self.log_signer = Signer.generate(LOG_ORIGIN)
        self.witnesses = [Witness.generate(f"witness-{i + 1}.demo", [self.log_signer.verifier],
                                           directory / f"witness-{i + 1}.db", clock)
                          for i in range(WITNESSES)]
        quorum = WitnessQuorum(self.witnesses, QUORUM)
        self.log = AuditLog.open(directory / "audit.db", self.log_signer, clock=clock,
                                 quorum=quorum)
        self.trust = LogTrust(self.log_signer.verifier, tuple(quorum.verifiers), QUORUM)
        self.access = LawfulAccess(deployment, archive)
        self.operators = {p: Operator(p, Ed25519PrivateKey.generate())
                          for p in deployment.parties}
        self.nodes = {
            c.custodian_id: CustodianNode(
                c, deployment.custodian_set, self.registry, self.policy, archive,
                LocalLog(self.log), self.trust, self.operators[c.custodian_id].public_key,
                clock,
                NodeStore(directory / f"{c.custodian_id}.db", c.custodian_id))
            for c in deployment.custodians}

    def close(self) -> None:
        for node in self.nodes.values():
            node.store.close()
        for witness in self.witnesses:
            witness.close()
        self.log.close()
        self._tmp.cleanup()

    def __enter__(self) -> WarrantOffice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warrant(self, conversation_id: str, start: float, end: float) -> Warrant:
        """The demo's warrant: one conversation, the window ``[start, end)`` of relay
        receipt times (whole seconds, widened to cover it), valid ten days."""
        now = int(self.clock.now())
        return Warrant(warrant_id="W-demo-1", agency="Demo Agency", jurisdiction="JA",
                       officer="O1", targets=(conversation_id,),
                       window_start=math.floor(start), window_end=math.ceil(end),
                       legal_basis="Demonstration order: the grounds are the lab's.",
                       issued_at=now, expires_at=now + WARRANT_LIFETIME)

    def recover(self, warrant: Warrant, narrator: Narrator) -> Recovery:
        """File, approve, release through every node, recover, close; verify the log."""
        first_entry = self.log.size
        case = WarrantCase.draft(warrant, self.log, self.registry, self.policy, OFFICER)
        case.file(OFFICER)
        narrator.say(f"Officer O1 files warrant {warrant.warrant_id} for {warrant.targets[0]}, "
                     f"messages the relay received in [{warrant.window_start}, "
                     f"{warrant.window_end}) (receipt times, not the senders' claims); its "
                     f"hash {warrant.sha256.hex()[:16]}... is logged.")
        case.approve(f"judge:{JUDGE}", [sign_warrant(self.judge, warrant)])
        narrator.say(f"Judge {JUDGE} signs the warrant hash with an Ed25519 key only the judge "
                     f"holds; the approval is logged under a checkpoint {QUORUM} of "
                     f"{WITNESSES} witnesses cosign.")
        threshold = self.deployment.threshold
        below = {"reason": "nothing in scope"}

        def observe(run: TargetRun, node: str) -> None:
            decision = run.decisions[node]
            progress = run.attempt.progress()
            if decision == "released" and progress.progress > 1:
                narrator.say(f"{node}'s node makes the same checks on its own, logs, releases: "
                             f"{progress} custodians.")
            elif decision == "released":
                narrator.say(f"{node}'s operator signs the request for {node} with their "
                             "own key, outside the portal (which holds no operator's key); "
                             f"{node}'s own node checks the judge's signature against its "
                             "registry, the expiry by its own clock, the particularity "
                             "limits, that every record named is in the warrant's window, "
                             "that the approval is in the witnessed log, and that the "
                             f"attempt's nonce is fresh; logs its decision, then releases: "
                             f"{progress} custodians.")
            else:
                narrator.say(f"{node} refuses: {decision}")
            if progress.progress == threshold - 1:
                report = run.attempt.recover()
                below["reason"] = report.chains[0].reason if report.chains else \
                    "nothing in scope"
                narrator.say(f"With {progress} releases no chain opens: {below['reason']}")

        runs = execute(case, self.access, {n: InProcessClient(node)
                                           for n, node in self.nodes.items()},
                       {n: operator.sign for n, operator in self.operators.items()},
                       observe=observe)
        if case.state == "recovered":
            case.transition("closed", "portal", {"reason": "demo finished"})
        entries = [self._entry(i) for i in range(first_entry, self.log.size)]
        report = verify_log(self.log.store, self.log_signer.verifier,
                            [w.verifier for w in self.witnesses], QUORUM, check_entries=True)
        return Recovery(case, runs, below["reason"], entries,
                        {"verified": True, **report.to_json()})

    @staticmethod
    def narrate_log(done: Recovery, narrator: Narrator) -> None:
        """Say what the log holds for the warrant and that it verified."""
        types = sorted({e["type"] for e in done.log_entries})
        narrator.say(f"The audit log holds {len(done.log_entries)} entries for this warrant "
                     f"({', '.join(types)}); the offline verifier recomputes every node and "
                     f"checks {done.verification['checkpoints_checked']} checkpoints and their "
                     "witness quorum: verified.")

    def _entry(self, index: int) -> dict:
        entry = Entry.decode(self.log.store.leaf(index))
        return {"index": index, "type": entry.type, "actor": entry.actor}
