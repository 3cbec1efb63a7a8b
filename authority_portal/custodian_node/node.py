"""The custodian node: a custodian's own checks before it releases anything
(docs/custodian_node.md).

A :class:`CustodianNode` holds one custodian's keys and pinned set, its own judge registry,
particularity policy, clock, database (:class:`~authority_portal.custodian_node.store.
NodeStore`), a read handle on the relay archive, the log it appends to and the keys it
trusts that log's checkpoints under, and the Ed25519 public key of its one operator.
:meth:`CustodianNode.handle` takes a release request's bytes and, in this order:

1. parses it strictly and checks it is addressed to this node and signed by its operator
   (:mod:`~authority_portal.custodian_node.request`);
2. checks the warrant with its own :class:`~authority_portal.warrants.authorisation.
   WarrantVerifier`: the judges' signatures against its registry (k of m as its policy
   says), validity by its own clock, its particularity policy, and that the records asked
   for are exactly the open chains it reads itself from the archive for the warrant's
   conversation and window;
3. checks that the approval is in the log under a checkpoint its witness quorum cosigned,
   consistent with the last checkpoint it saw (:mod:`~authority_portal.custodian_node.
   log_check`);
4. checks the attempt's nonce is fresh, and that it has not already released this target of
   this warrant to another attempt;
5. reserves the target for this attempt in its database, appends its decision to the log
   and checks the receipt; only then
6. releases its share of every record through :func:`escrow.release.release_share` (the one
   release path) and records the release in its database.

A node that dies between 5 and the end of 6 leaves the reservation behind: restarted, it
resumes that attempt when the same signed request comes again (appending a second decision
entry marked ``resumed``) and refuses every other attempt on the target, so a crash never
lets a target of a warrant be released twice to different attempts.

Any refusal is appended to the log as ``custodian.refused`` with its reason and raised as
:class:`~authority_portal.custodian_node.errors.Refused` carrying that receipt; the node's
database and keys are unchanged. If the decision cannot be logged, nothing is released.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from audit.checkpoint import Checkpoint
from audit.errors import AuditError
from audit.receipt import Receipt
from authority_portal.custodian_node.errors import NodeError, Refused, RequestError
from authority_portal.custodian_node.log_check import (
    LogTrust,
    NodeLog,
    check_approval_entry,
    check_consistent,
    check_receipt,
)
from authority_portal.custodian_node.request import ReleaseRequest, parse_request
from authority_portal.custodian_node.store import NodeStore
from authority_portal.warrants.authorisation import WarrantVerifier
from authority_portal.warrants.judges import JudgeRegistry
from authority_portal.warrants.policy import ParticularityPolicy
from escrow import keystore
from escrow.custodian import Custodian
from escrow.custodian_set import CustodianSet
from escrow.errors import EscrowError
from escrow.release import ShareRelease, release_share
from escrow.scope import Archive, Screen, records_in_scope
from escrow.threshold.hook import ThresholdEscrow
from messaging.clock import Clock

RELEASED_TYPE = "custodian.released"
REFUSED_TYPE = "custodian.refused"
FAILED_TYPE = "custodian.release_failed"
MAX_REASON = 1000


@dataclass(frozen=True)
class Decision:
    """A release the node made: its share releases and the receipt of its logged decision."""

    node: str
    releases: tuple[ShareRelease, ...]
    receipt: Receipt

    def to_json(self) -> dict:
        return {"node": self.node, "decision": "released",
                "releases": [r.to_json() for r in self.releases],
                "receipt": self.receipt.to_json()}


class CustodianNode:
    """One custodian as its own service (module docstring)."""

    def __init__(self, custodian: Custodian, custodian_set: CustodianSet,
                 registry: JudgeRegistry, policy: ParticularityPolicy, archive: Archive,
                 log: NodeLog, trust: LogTrust, operator_key: bytes, clock: Clock,
                 store: NodeStore, screen: Screen | None = None) -> None:
        if not isinstance(operator_key, bytes) or len(operator_key) != 32:
            raise NodeError("the operator's key is a 32-byte Ed25519 public key")
        self.custodian = custodian
        self.custodian_set = custodian_set
        self.registry = registry
        self.policy = policy
        self.archive = archive
        self.log = log
        self.trust = trust
        self.operator_key = operator_key
        self.clock = clock
        self.store = store
        self.screen = screen or ThresholdEscrow(custodian_set).check_record

    def __repr__(self) -> str:
        return f"CustodianNode({self.node_id})"

    @property
    def node_id(self) -> str:
        return self.custodian.custodian_id

    @property
    def actor(self) -> str:
        return f"custodian:{self.node_id}"

    @classmethod
    def from_keystore(cls, directory: str | os.PathLike[str], passphrase: str,
                      **terms: object) -> CustodianNode:
        """A node over a ceremony's custodian folder (``<out>/K1``): its ``keystore.json``
        and the ``set.json`` beside the folder (:mod:`escrow.ceremony`)."""
        folder = Path(directory)
        try:
            custodian = keystore.load(folder / "keystore.json", passphrase)
            cset = CustodianSet.loads((folder.parent / "set.json").read_bytes())
        except OSError as exc:
            raise NodeError(f"cannot read the ceremony files of {folder}: {exc.strerror}"
                            ) from None
        except EscrowError as exc:
            raise NodeError(f"{folder}: {exc}") from None
        return cls(custodian, cset, **terms)  # type: ignore[arg-type]

    # -- the request -----------------------------------------------------------

    def handle(self, data: bytes) -> Decision:
        """Check and, if every check passes, execute one release request (module docstring)."""
        with self.store.locked():
            request: ReleaseRequest | None = None
            try:
                request = parse_request(data)
                if request.node != self.node_id:
                    raise RequestError(f"the request is addressed to {request.node!r}, not "
                                       f"to this node {self.node_id}")
                request.check_operator(self.operator_key)
                envelopes, verifier, seen, resumed = self._check(request)
            except (NodeError, EscrowError) as exc:
                raise self._refuse(str(exc), request) from None
            return self._release(request, envelopes, verifier, seen, resumed)

    def _check(self, request: ReleaseRequest
               ) -> tuple[list[bytes], WarrantVerifier, Checkpoint, bool]:
        """Every check of the module docstring's steps 2 to 4: the envelopes to release, the
        verifier that passed them, the newest checkpoint seen, and whether this request
        resumes an interrupted release of its own attempt."""
        auth = request.authorisation
        window = auth.window
        scoped = records_in_scope(self.screen, self.archive, window.conversation_id,
                                  window.start, window.end)
        keys = frozenset((s.ref.record_digest, s.ref.context_digest) for s in scoped)
        verifier = WarrantVerifier(self.registry, self.policy, lambda _window: keys)
        verifier.verify(auth, self.clock.now())
        approval = check_receipt(request.approval, self.trust)
        check_approval_entry(request.approval, auth.warrant.sha256, auth.issuer.split(":"))
        seen = check_consistent(self.log, self.store.seen(), approval)
        if self.store.nonce_used(request.nonce):
            raise NodeError(f"nonce {request.nonce} was already used: a replayed request")
        begun = self.store.pending_nonce(request.nonce)
        if begun is not None and begun != (auth.warrant.sha256, auth.conversation_id,
                                           auth.digest):
            raise NodeError(f"nonce {request.nonce} belongs to an interrupted release under "
                            "another authorisation: a replayed request")
        earlier = self.store.released_for(auth.warrant.sha256, auth.conversation_id)
        if earlier is not None:
            raise NodeError(f"this node already released {auth.conversation_id} under warrant "
                            f"{auth.warrant.warrant_id} to attempt {earlier}")
        interrupted = self.store.pending_for(auth.warrant.sha256, auth.conversation_id)
        if interrupted is not None and interrupted[0] != request.nonce:
            raise NodeError(f"this node's release of {auth.conversation_id} under warrant "
                            f"{auth.warrant.warrant_id} to attempt {interrupted[0]} was "
                            "interrupted; only that attempt can resume it")
        return [s.envelope for s in scoped], verifier, seen, begun is not None

    def _payload(self, request: ReleaseRequest | None, **more: object) -> dict:
        payload: dict = {"node": self.node_id}
        if request is not None:
            a = request.authorisation
            payload.update(warrant_id=a.warrant.warrant_id,
                           warrant_sha256=a.warrant.sha256.hex(),
                           conversation_id=a.conversation_id, nonce=request.nonce)
        payload.update(more)
        return payload

    def _refuse(self, reason: str, request: ReleaseRequest | None) -> Refused:
        reason = reason[:MAX_REASON]
        try:
            receipt = self.log.append_event(REFUSED_TYPE, self.actor,
                                            self._payload(request, reason=reason))
        except (AuditError, OSError):
            return Refused(reason + " (and the refusal could not be logged)")
        return Refused(reason, receipt)

    def _release(self, request: ReleaseRequest, envelopes: list[bytes],
                 verifier: WarrantVerifier, seen: Checkpoint, resumed: bool) -> Decision:
        auth = request.authorisation
        payload = self._payload(request, authorisation_sha256=auth.digest.hex(),
                                records=len(auth.records),
                                **({"resumed": True} if resumed else {}))
        self.store.begin_release(request.nonce, auth.warrant.sha256, auth.conversation_id,
                                 auth.digest, self.clock.now())
        try:
            receipt = self.log.append_event(RELEASED_TYPE, self.actor, payload)
            acknowledged = check_receipt(receipt, self.trust)
            entry = receipt.event()
            if (entry.type, dict(entry.payload)) != (RELEASED_TYPE, payload):
                raise NodeError("the log acknowledged another entry than this decision")
            seen = check_consistent(self.log, seen, acknowledged)
        except (AuditError, OSError, NodeError) as exc:
            if not resumed:
                self.store.abandon_release(request.nonce)
            raise Refused(f"the decision could not be logged, so nothing is released: {exc}"
                          ) from None
        try:
            releases = tuple(release_share(self.custodian, self.custodian_set, auth, verifier,
                                           envelope, self.clock) for envelope in envelopes)
        except EscrowError as exc:
            self._log_failure(request, str(exc))
            self.store.abandon_release(request.nonce)
            raise Refused(f"logged, but the release failed: {exc}", receipt) from None
        self.store.record_release(request.nonce, auth.warrant.sha256, auth.conversation_id,
                                  auth.digest, len(releases), receipt.index, self.clock.now(),
                                  seen)
        return Decision(self.node_id, releases, receipt)

    def _log_failure(self, request: ReleaseRequest, reason: str) -> None:
        try:
            self.log.append_event(FAILED_TYPE, self.actor,
                                  self._payload(request, reason=reason[:MAX_REASON]))
        except (AuditError, OSError):
            return

