"""The world the warrant scenarios run in (docs/scenarios.md, "The standard cast", with the
portal's people): real devices on a real relay that keeps its archive, a threshold
deployment of custodians K1..Kn, each run as its own custodian node
(:mod:`authority_portal.custodian_node`) with its own database, clock, registry, policy and
operator (whose key signs that node's requests, outside the coordinator), judges J1..J3 of
jurisdiction JA and a foreign judge JF of JB, and a witnessed audit log (three witnesses,
quorum two) that everything is logged to.

Not a scenario family (the leading underscore keeps it out of the registry's import):
S06-S09, S13 and S26 build on it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from audit.entries import Entry
from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.witness import Witness
from authority_portal.custodian_node.client import InProcessClient, NodeClient
from authority_portal.custodian_node.coordinator import TargetRun, execute
from authority_portal.custodian_node.errors import NodeError
from authority_portal.custodian_node.log_check import LocalLog, LogTrust
from authority_portal.custodian_node.node import CustodianNode
from authority_portal.custodian_node.operator import Operator
from authority_portal.custodian_node.request import sign_request
from authority_portal.custodian_node.store import NodeStore
from authority_portal.warrants.authorisation import (
    WarrantAuthorisation,
    authorise,
    warrant_window,
)
from authority_portal.warrants.judges import Judge, JudgeRegistry
from authority_portal.warrants.model import Warrant
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import JudgeSignature, sign_warrant
from authority_portal.warrants.states import WarrantCase
from escrow.custodian import Custodian
from escrow.custodian_set import CustodianSet
from escrow.release import ShareRelease
from escrow.threshold.deployment import CustodianDeployment
from escrow.threshold.hook import ThresholdEscrow
from escrow.workflow import LawfulAccess
from escrowlab.scenarios.registry import Params
from messaging.addresses import direct_conversation_id
from messaging.client import Device
from messaging.clock import ManualClock
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport

DAY = 86_400
USERS = ("alice", "bob", "carol", "dave")
PAIRS = (("alice", "bob"), ("alice", "carol"), ("carol", "dave"))


class OffsetClock:
    """A node's own clock: the world's time plus ``offset`` seconds (a skewed clock)."""

    def __init__(self, base: ManualClock, offset: float = 0.0) -> None:
        self.base = base
        self.offset = offset

    def now(self) -> float:
        return self.base.now() + self.offset


class WarrantWorld:
    """Everything a warrant scenario needs (module docstring); use as a context manager."""

    def __init__(self, directory: Path, n: int = 5, t: int = 3, days: int = 6,
                 per_day: int = 3, ratchet_every: int = 2,
                 registries: Mapping[str, JudgeRegistry] | None = None,
                 policies: Mapping[str, ParticularityPolicy] | None = None,
                 jurisdictions: Sequence[str] | None = None) -> None:
        self.directory = Path(directory)
        self.clock = ManualClock()
        self.day0 = int(self.clock.now())
        self.relay = RelayService("sqlite://", clock=self.clock)
        transport = InProcessTransport(self.relay)
        places = list(jurisdictions or ["JA"] * n)
        people = [Custodian.generate(f"K{i + 1}", f"Custodian {i + 1}", places[i])
                  for i in range(n)]
        cset = CustodianSet(1, t, tuple(c.public for c in people))
        self.deployment = CustodianDeployment(ThresholdEscrow(cset), people)
        self.devices = {u: Device.create(u, 1, transport,
                                         hook=self.deployment.hook_for(f"{u}:1"),
                                         clock=self.clock, one_time_prekeys=4, kem_prekeys=2)
                        for u in USERS}
        self.conversations = [direct_conversation_id(a, b) for a, b in PAIRS]
        self._talk(days, per_day, ratchet_every)
        self.judges = {name: Signer.generate(name) for name in ("J1", "J2", "J3", "JF")}
        self.home_registry = JudgeRegistry(
            Judge(name, "JB" if name == "JF" else "JA", s.verifier)
            for name, s in self.judges.items())
        self.policy = ParticularityPolicy()
        self.log_signer = Signer.generate("audit.escrowlab.test/log")
        self.witnesses = [Witness.generate(f"witness-{i}.test", [self.log_signer.verifier],
                                           self.directory / f"witness-{i}.db", self.clock)
                          for i in range(3)]
        quorum = WitnessQuorum(self.witnesses, 2)
        self.log = AuditLog.open(self.directory / "audit.db", self.log_signer,
                                 clock=self.clock, quorum=quorum)
        self.trust = LogTrust(self.log_signer.verifier, tuple(quorum.verifiers), 2)
        self.access = LawfulAccess(self.deployment, self.relay.archive)
        self.operators = {p: Ed25519PrivateKey.generate() for p in self.deployment.parties}
        self.node_clocks = {p: OffsetClock(self.clock) for p in self.deployment.parties}
        registries, policies = dict(registries or {}), dict(policies or {})
        self.nodes = {
            c.custodian_id: CustodianNode(
                c, self.deployment.custodian_set,
                registries.get(c.custodian_id, self.home_registry),
                policies.get(c.custodian_id, self.policy), self.relay.archive,
                LocalLog(self.log), self.trust,
                self.operators[c.custodian_id].public_key().public_bytes_raw(),
                self.node_clocks[c.custodian_id],
                NodeStore(self.directory / f"{c.custodian_id}.db", c.custodian_id))
            for c in self.deployment.custodians}

    def _talk(self, days: int, per_day: int, ratchet_every: int) -> None:
        count = 0
        for _day in range(days):
            for _ in range(per_day):
                for a, b in PAIRS:
                    sender, receiver = (a, b) if (count // ratchet_every) % 2 == 0 else (b, a)
                    self.devices[sender].send_text(receiver, f"{sender} to {receiver} #{count}")
                    self.devices[receiver].receive_all()
                count += 1
                self.clock.advance(DAY / per_day)

    def close(self) -> None:
        self.log.close()
        for witness in self.witnesses:
            witness.close()
        for node in self.nodes.values():
            node.store.close()

    def __enter__(self) -> WarrantWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- warrants ------------------------------------------------------------------

    def warrant(self, **changes: object) -> Warrant:
        """The reference warrant: C1 (alice-bob), window [day 3, day 5), valid ten days."""
        now = int(self.clock.now())
        terms: dict = dict(warrant_id="W-1", agency="Agency A", jurisdiction="JA",
                           officer="O1", targets=(self.conversations[0],),
                           window_start=self.day0 + 3 * DAY, window_end=self.day0 + 5 * DAY,
                           legal_basis="Order under section 8: grounds in affidavit 12.",
                           issued_at=now, expires_at=now + 10 * DAY)
        terms.update(changes)
        return Warrant(**terms)

    def case(self, warrant: Warrant, signers: Iterable[str] = ("J1",),
             policy: ParticularityPolicy | None = None) -> WarrantCase:
        """``warrant`` drafted, filed and approved by ``signers`` at the portal."""
        case = WarrantCase.draft(warrant, self.log, self.home_registry, policy or self.policy,
                                 "officer:O1")
        case.file("officer:O1")
        case.approve("judge:" + ":".join(signers),
                     [sign_warrant(self.judges[s], warrant) for s in signers])
        return case

    def authorisation(self, warrant: Warrant, signatures: Sequence[JudgeSignature],
                      conversation_id: str | None = None, key: X25519PrivateKey | None = None
                      ) -> tuple[WarrantAuthorisation, X25519PrivateKey]:
        conversation_id = conversation_id or warrant.targets[0]
        key = key or X25519PrivateKey.generate()
        scoped = self.access.scope(warrant_window(warrant, conversation_id))
        return authorise(warrant, tuple(signatures), conversation_id, scoped,
                         key.public_key().public_bytes_raw()), key

    def ask(self, node: str, request: bytes) -> tuple[str, tuple[ShareRelease, ...]]:
        """(``"released"`` or the node's reason, the share releases) for one request."""
        try:
            releases = InProcessClient(self.nodes[node]).release(request)
        except NodeError as exc:
            return str(exc), ()
        return "released", releases

    def request(self, node: str, auth: WarrantAuthorisation, nonce: str, approval,
                **terms: object) -> bytes:
        return sign_request(terms.pop("operator", self.operators[node]), node, auth, nonce,
                            approval, **terms)  # type: ignore[arg-type]

    def resign(self, node: str, body: dict) -> bytes:
        """A request body (edited as an attacker likes) signed by ``node``'s operator: the
        operator is deceived, not bypassed."""
        clean = {k: v for k, v in body.items() if k != "operator_signature"}
        signature = self.operators[node].sign(rfc8785.dumps(clean))
        return rfc8785.dumps({**clean, "operator_signature": signature.hex()})

    def send_to_all(self, make: Callable[[str], bytes]
                    ) -> dict[str, tuple[str, tuple[ShareRelease, ...]]]:
        """Each node's answer to the request ``make(node)`` builds for it."""
        return {node: self.ask(node, make(node)) for node in self.nodes}

    @staticmethod
    def opened(attempt, answers: Mapping[str, tuple[str, Sequence[ShareRelease]]]) -> int:
        """Messages the workflow's recovery opens from every release in ``answers`` that
        belongs to ``attempt`` (what actually left the nodes, measured)."""
        for _, releases in answers.values():
            mine = [r for r in releases
                    if r.authorisation_digest == attempt.authorisation.digest]
            if mine:
                attempt.submit(attempt.nonce, mine)
        return attempt.recover().messages_recovered

    def refusals_logged(self, start: int) -> int:
        return sum(1 for t in self.log_types(start) if t == "custodian.refused")

    def open_attempt(self, warrant: Warrant, signatures: Sequence[JudgeSignature],
                     conversation_id: str | None = None):
        """(authorisation, attempt) of a new workflow attempt of one target."""
        auth, key = self.authorisation(warrant, signatures, conversation_id)
        return auth, self.access.open(auth.window, auth, key)

    def execute(self, case: WarrantCase, nodes: Iterable[str] | None = None,
                clients: Mapping[str, NodeClient] | None = None) -> list[TargetRun]:
        names = list(self.nodes) if nodes is None else list(nodes)
        clients = clients or {n: InProcessClient(self.nodes[n]) for n in names}
        signers = {n: Operator(n, self.operators[n]).sign for n in names}
        return execute(case, self.access, clients, signers)

    def node_state(self) -> dict[str, list]:
        """What each node's database holds (releases made): for "state unchanged"."""
        return {n: node.store.releases() for n, node in self.nodes.items()}

    def entries(self, start: int = 0) -> list[Entry]:
        return [Entry.decode(self.log.store.leaf(i)) for i in range(start, self.log.size)]

    def log_types(self, start: int = 0) -> list[str]:
        return [e.type for e in self.entries(start)]


def sizes(params: Params) -> dict[str, int]:
    """The world's sizes: small for the tests, larger for a full run."""
    return dict(days=12, per_day=6, ratchet_every=3) if params.full else {}


@contextlib.contextmanager
def warrant_world(**terms: object):
    with tempfile.TemporaryDirectory(prefix="escrowlab-warrants-") as directory, \
            WarrantWorld(Path(directory), **terms) as world:  # type: ignore[arg-type]
        yield world
