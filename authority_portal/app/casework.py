"""The warrant lifecycle behind every view and API call (docs/portal.md, "Warrant states"):
file -> a judge signs or denies -> custodian operators sign their node's release request,
each custodian releasing after its own checks -> recovery at t -> the recovered view
(logged) -> close.

The judge's approval opens the workflow attempt (its nonce logged with the move to
``releasing``), so that every operator can be shown the exact request body for their node
(:meth:`Casework.release_request`); the operator signs it outside the portal and the portal
forwards body and signature (:meth:`Casework.approve`). The portal holds no key that makes
a node release.

Every transition is appended to the audit log *before* the state it announces takes
effect ("log, then act"), and the database enforces who may decide what
(:mod:`authority_portal.app.models`). What must never rest on disk lives in
:class:`CaseMemory` only: the one-time recovery private key, the attempt with its
releases and the recovered plaintexts. Closing a case drops them.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authority_portal.app.auditing import PortalLog
from authority_portal.app.custodians import Custodians
from authority_portal.app.errors import Conflict, Forbidden, NotFound, PortalError
from authority_portal.app.models import Decision, User, Warrant
from authority_portal.app.policy import Policy
from authority_portal.custodian_node.errors import NodeError
from authority_portal.warrants import states
from authority_portal.warrants.authorisation import (
    WarrantAuthorisation,
    authorise,
    warrant_window,
)
from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.judges import JudgeRegistry
from authority_portal.warrants.model import Warrant as WarrantTerms
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import JudgeSignature, approval_statement
from authority_portal.warrants.states import (
    APPROVED,
    CLOSED,
    DENIED,
    EXPIRED,
    FILED,
    RECOVERED,
    RELEASING,
    WarrantCase,
)
from escrow.authorisation import RecordRef
from escrow.recovery import WindowReport
from escrow.scope import ScopedRecord
from escrow.workflow import Attempt
from messaging.clock import Clock

MAX_TEXT = 2_000
OPEN_STATES = (FILED, APPROVED, RELEASING)
CASE_LOCKS = 64


@dataclass
class CaseSecrets:
    """What a case holds in memory only, never in the database or a file: the warrant's
    case (:class:`~authority_portal.warrants.states.WarrantCase`), the one-time recovery
    key, the attempt with its releases and the recovered report."""

    case: WarrantCase = field(repr=False)
    recovery_key: X25519PrivateKey = field(repr=False)
    scoped: tuple[ScopedRecord, ...] = field(repr=False)
    authorisation: WarrantAuthorisation | None = field(default=None, repr=False)
    attempt: Attempt | None = field(default=None, repr=False)
    report: WindowReport | None = field(default=None, repr=False)


class CaseMemory:
    """The open cases' secrets, by warrant reference."""

    def __init__(self) -> None:
        self._cases: dict[str, CaseSecrets] = {}

    def __repr__(self) -> str:
        return f"CaseMemory({len(self._cases)} open case(s))"

    def put(self, reference: str, case: CaseSecrets) -> None:
        self._cases[reference] = case

    def get(self, reference: str) -> CaseSecrets:
        case = self._cases.get(reference)
        if case is None:
            raise Conflict(f"warrant {reference} holds no live case in this portal process "
                           "(closed, or the portal restarted)")
        return case

    def find(self, reference: str) -> CaseSecrets | None:
        return self._cases.get(reference)

    def drop(self, reference: str) -> None:
        case = self._cases.pop(reference, None)
        if case is not None and case.attempt is not None and case.attempt.state == "open":
            case.attempt.cancel()

    def __len__(self) -> int:
        return len(self._cases)

    def __contains__(self, reference: object) -> bool:
        return reference in self._cases


def _text(value: object, label: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit \
            or any(ord(ch) < 0x20 and ch not in "\n\t" for ch in value):
        raise PortalError(f"{label} must be 1..{limit} printable characters")
    return value.strip()


class Casework:
    """The lifecycle over custodians, log, clock, the judges' registry the portal checks
    signatures against (each node has its own) and the particularity policies."""

    def __init__(self, custodians: Custodians, log: PortalLog, clock: Clock,
                 judges: JudgeRegistry, policy: Policy | None = None,
                 particularity: ParticularityPolicy | None = None) -> None:
        self.custodians = custodians
        self.log = log
        self.clock = clock
        self.judges = judges
        self.policy = policy or Policy()
        self.particularity = particularity or ParticularityPolicy()
        self.memory = CaseMemory()
        self._locks = tuple(threading.RLock() for _ in range(CASE_LOCKS))

    def _case_lock(self, reference: str) -> threading.RLock:
        """The lock of warrant ``reference``: one warrant's steps run one at a time, while
        other warrants' steps (and their log appends, which share commits) run alongside.
        A fixed set of locks, chosen by the reference's hash, so that asking for unknown
        references allocates nothing."""
        return self._locks[hash(reference) % CASE_LOCKS]

    # -- reading ---------------------------------------------------------------------

    def warrant(self, session: Session, reference: object) -> Warrant:
        if not isinstance(reference, str):
            raise NotFound("no such warrant")
        warrant = session.scalar(select(Warrant).where(Warrant.reference == reference))
        if warrant is None:
            raise NotFound(f"no warrant {reference}")
        self._expire(session, warrant)
        return warrant

    def warrants(self, session: Session) -> list[Warrant]:
        found = list(session.scalars(select(Warrant).order_by(Warrant.id)))
        for warrant in found:
            self._expire(session, warrant)
        return found

    def decisions(self, session: Session, warrant: Warrant) -> list[Decision]:
        return list(session.scalars(select(Decision).where(Decision.warrant_id == warrant.id)
                                    .order_by(Decision.id)))

    def records(self, warrant: Warrant) -> tuple[RecordRef, ...]:
        return tuple(RecordRef.from_json(r) for r in json.loads(warrant.records_json))

    def _expire(self, session: Session, warrant: Warrant) -> None:
        if warrant.status in OPEN_STATES and self.clock.now() >= warrant.not_after:
            with self._case_lock(warrant.reference):
                live = self.memory.find(warrant.reference)
                if live is not None and states.EXPIRED in states.TRANSITIONS[live.case.state]:
                    live.case.transition(states.EXPIRED, "portal", {})
                else:
                    self.log.append("warrant.lapsed", "portal", {
                        "warrant": warrant.reference, "was": warrant.status})
                warrant.status = EXPIRED
                self.memory.drop(warrant.reference)
                session.commit()

    # -- filing ----------------------------------------------------------------------

    def file(self, session: Session, officer: User, data: dict) -> Warrant:
        """File a warrant from ``data`` (agency, jurisdiction, conversation_id,
        window_start, window_end, validity_days, legal_basis)."""
        agency = _text(data.get("agency"), "agency", 128)
        jurisdiction = _text(data.get("jurisdiction"), "jurisdiction", 64)
        basis = _text(data.get("legal_basis"), "legal basis")
        conversation = data.get("conversation_id")
        start, end = data.get("window_start"), data.get("window_end")
        days = data.get("validity_days")
        validity = days * 86_400.0 if isinstance(days, int | float) and \
            not isinstance(days, bool) else days
        self.policy.check(conversation, start, end, validity)
        now = self.clock.now()
        reference = f"w-{secrets.token_hex(6)}"
        try:
            terms = WarrantTerms(
                warrant_id=reference, agency=agency, jurisdiction=jurisdiction,
                officer=officer.label, targets=(conversation,),
                window_start=math.floor(start), window_end=math.ceil(end),
                legal_basis=basis, issued_at=int(now), expires_at=int(now + validity))
        except WarrantError as exc:
            raise PortalError(str(exc)) from None
        window = warrant_window(terms, conversation)
        scoped = self.custodians.scope(window)
        if not scoped:
            raise PortalError(f"no escrowed chain of {conversation} falls in that window")
        if len(scoped) > self.policy.max_records:
            raise PortalError(f"the window names {len(scoped)} records, more than the "
                              f"{self.policy.max_records} a warrant may name")
        recovery_key = X25519PrivateKey.generate()
        with self._case_lock(reference):
            try:
                self.particularity.check(terms)
                case = WarrantCase.draft(terms, self.log, self.judges, self.particularity,
                                         officer.label)
                case.file(officer.label)
            except WarrantError as exc:
                raise PortalError(str(exc)) from None
            warrant = Warrant(
                reference=reference, officer_id=officer.id, agency=agency,
                jurisdiction=jurisdiction, conversation_id=conversation,
                window_start=float(terms.window_start), window_end=float(terms.window_end),
                legal_basis=basis, filed_at=float(terms.issued_at),
                not_after=float(terms.expires_at), status=FILED,
                records_json=json.dumps([s.ref.to_json() for s in scoped]),
                recovery_public=recovery_key.public_key().public_bytes_raw().hex(),
                digest=terms.sha256.hex())
            session.add(warrant)
            session.commit()
            self.memory.put(reference, CaseSecrets(case, recovery_key, tuple(scoped)))
        return warrant

    # -- the judge -------------------------------------------------------------------

    def statement(self, warrant: Warrant) -> bytes:
        """The exact bytes a judge signs for ``warrant``: the approval statement over the
        warrant's id and SHA-256 (:mod:`authority_portal.warrants.signatures`)."""
        case = self.memory.get(warrant.reference).case
        return approval_statement(case.warrant.warrant_id, case.warrant.sha256).encode()

    def _decide(self, session: Session, warrant: Warrant, user: User, kind: str,
                outcome: str, custodian_id: str | None = None) -> Decision:
        decision = Decision(warrant_id=warrant.id, officer_id=warrant.officer_id,
                            user_id=user.id, kind=kind, outcome=outcome,
                            custodian_id=custodian_id, decided_at=self.clock.now())
        session.add(decision)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            raise Conflict(f"{user.label} may not decide on warrant {warrant.reference}: the "
                           "filing officer cannot decide, a person decides once per warrant "
                           "(so a judge who decided cannot approve as a custodian), and each "
                           "custodian approves once") from None
        return decision

    def _admit(self, session: Session, warrant: Warrant, user: User, kind: str,
               outcome: str, custodian_id: str | None = None) -> None:
        """The database's own separation-of-duties check of a decision, before the step
        that acts on it: the row is flushed (:class:`Conflict` if refused) and rolled
        back, so that no write lock is held while the log and the nodes work. The step
        inserts it again with its outcome (:meth:`_decide`) under the warrant's lock, which
        every decision on the warrant takes."""
        self._decide(session, warrant, user, kind, outcome, custodian_id)
        session.rollback()

    def sign(self, session: Session, judge: User, reference: str, signature: object
             ) -> Warrant:
        """Judge ``judge`` approves with an Ed25519 ``signature`` (bytes) over
        :meth:`statement`, made in the judge's browser with the judge's own key; it must
        verify under the judge registry, for the warrant's jurisdiction."""
        with self._case_lock(reference):
            warrant = self.warrant(session, reference)
            if warrant.status != FILED:
                raise Conflict(f"warrant {reference} is {warrant.status}, not filed")
            if not isinstance(signature, bytes) or len(signature) != 64:
                raise PortalError("the signature is 64 bytes of Ed25519")
            live = self.memory.get(reference)
            self._admit(session, warrant, judge, "judge", "approve")
            registered = self.judges.get(judge.label)
            if registered is None:
                raise Forbidden(f"{judge.label} is not in the judge registry")
            try:
                live.case.approve(judge.label, [JudgeSignature(judge.label,
                                                               registered.key_id, signature)])
            except WarrantError as exc:
                raise PortalError(f"approval refused: {exc}") from None
            self._decide(session, warrant, judge, "judge", "approve")
            warrant.issuer = judge.label
            warrant.signature = signature.hex()
            warrant.status = APPROVED
            session.commit()
            self._open(live)
            return warrant

    def deny(self, session: Session, judge: User, reference: str, reason: object) -> Warrant:
        with self._case_lock(reference):
            warrant = self.warrant(session, reference)
            if warrant.status != FILED:
                raise Conflict(f"warrant {reference} is {warrant.status}, not filed")
            reason = _text(reason, "reason")
            live = self.memory.get(reference)
            self._admit(session, warrant, judge, "judge", "deny")
            live.case.deny(judge.label, reason)
            self._decide(session, warrant, judge, "judge", "deny")
            warrant.status = DENIED
            self.memory.drop(reference)
            session.commit()
            return warrant

    # -- custodian operators ---------------------------------------------------------

    def _operated(self, session: Session, operator: User, reference: str
                  ) -> tuple[Warrant, str, CaseSecrets]:
        warrant = self.warrant(session, reference)
        if warrant.status not in (APPROVED, RELEASING):
            raise Conflict(f"warrant {reference} is {warrant.status}: nothing to release")
        custodian = operator.custodian_id
        if custodian not in self.custodians.ids:
            raise Forbidden(f"{operator.label} operates no custodian of this deployment")
        return warrant, custodian, self.memory.get(reference)

    def release_request(self, session: Session, operator: User, reference: str) -> bytes:
        """The exact bytes (RFC 8785) ``operator`` signs to have their custodian's node
        release for ``reference`` (:mod:`authority_portal.custodian_node.request`)."""
        with self._case_lock(reference):
            _, custodian, live = self._operated(session, operator, reference)
            return self.custodians.request(custodian, live.authorisation, live.attempt.nonce,
                                           live.case.receipt(states.APPROVED))

    def approve(self, session: Session, operator: User, reference: str, signature: object
                ) -> dict:
        """Operator ``operator`` approves with their Ed25519 ``signature`` (bytes) over
        :meth:`release_request`, made outside the portal; the portal forwards the signed
        request to their custodian's node, which checks it and releases; at t, recover."""
        with self._case_lock(reference):
            warrant, custodian, live = self._operated(session, operator, reference)
            if not isinstance(signature, bytes) or len(signature) != 64:
                raise PortalError("the signature is 64 bytes of Ed25519")
            body = self.custodians.request(custodian, live.authorisation, live.attempt.nonce,
                                           live.case.receipt(states.APPROVED))
            self._admit(session, warrant, operator, "custodian", "approve", custodian)
            try:
                releases = self.custodians.release(custodian, body, signature)
            except NodeError as exc:
                raise Conflict(f"custodian {custodian} refused: {exc}") from None
            self._decide(session, warrant, operator, "custodian", "approve", custodian)
            progress = live.attempt.submit(live.attempt.nonce, releases)
            warrant.status = RELEASING
            session.commit()
            if progress.complete:
                report = live.attempt.recover()
                live.case.transition(states.RECOVERED, "portal", {
                    "messages_in_scope": report.messages_in_scope,
                    "messages_recovered": report.messages_recovered,
                    "out_of_scope_recoverable": report.out_of_scope_recoverable})
                live.report = report
                warrant.status = RECOVERED
            session.commit()
            return {"warrant": reference, "status": warrant.status,
                    "progress": progress.progress, "required": progress.required,
                    "custodians": list(progress.parties)}

    def _open(self, live: CaseSecrets) -> None:
        """The workflow attempt of the approved warrant's one target, its move to
        ``releasing`` logged with the attempt's nonce."""
        terms = live.case.warrant
        conversation = terms.targets[0]
        live.authorisation = authorise(terms, live.case.signatures, conversation, live.scoped,
                                       live.recovery_key.public_key().public_bytes_raw())
        live.attempt = self.custodians.open(warrant_window(terms, conversation),
                                            live.authorisation, live.recovery_key)
        live.case.transition(states.RELEASING, "portal", {
            "nonce": live.attempt.nonce, "conversation_id": conversation,
            "authorisation_sha256": live.authorisation.digest.hex(),
            "records": len(live.scoped)})

    # -- the officer, after recovery --------------------------------------------------

    def _own(self, warrant: Warrant, officer: User) -> None:
        if warrant.officer_id != officer.id:
            raise Forbidden(f"warrant {warrant.reference} was filed by another officer")

    def recovered(self, session: Session, officer: User, reference: str) -> WindowReport:
        """The recovery report of ``reference`` for its filing officer; logged first."""
        with self._case_lock(reference):
            warrant = self.warrant(session, reference)
            self._own(warrant, officer)
            if warrant.status != RECOVERED:
                raise Conflict(f"warrant {reference} is {warrant.status}, not recovered")
            report = self.memory.get(reference).report
            self.log.append("recovered.viewed", officer.label, {
                "warrant": reference, "messages": report.messages_recovered})
            return report

    def close(self, session: Session, officer: User, reference: str) -> Warrant:
        """Close the case: drop the recovery key, releases and plaintexts; logged."""
        with self._case_lock(reference):
            warrant = self.warrant(session, reference)
            self._own(warrant, officer)
            if warrant.status == CLOSED:
                raise Conflict(f"warrant {reference} is already closed")
            live = self.memory.find(reference)
            if live is not None:
                if states.CANCELLED in states.TRANSITIONS[live.case.state]:
                    live.case.transition(states.CANCELLED, officer.label, {})
                if states.CLOSED in states.TRANSITIONS[live.case.state]:
                    live.case.transition(states.CLOSED, officer.label, {})
            else:
                self.log.append("warrant.closed", officer.label, {"warrant_id": reference,
                                                                  "was": warrant.status})
            self.memory.drop(reference)
            warrant.status = CLOSED
            session.commit()
            return warrant
