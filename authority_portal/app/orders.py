"""Detection orders in the portal (docs/detection_orders.md, "In the portal"): an officer
files one, a judge signs it in their own browser or with their own key, and the officer
collects the signed order the provider hands the scanning devices.

The case is :class:`authority_portal.warrants.detection.OrderCase` on the portal's log,
judge registry and particularity policy, so every step is logged before it takes effect,
a judge's warrant approval never passes for an order approval (their statements have
different headers) and the devices check the same signatures again themselves
(:class:`~authority_portal.warrants.detection.DetectionOrderVerifier`). The table
:class:`~authority_portal.app.models.DetectionOrderRecord` keeps what anyone may see: the
terms, the status, who signed, and the signed order's bytes; ``CHECK (judge_id <>
officer_id)``: the officer who filed an order cannot approve it.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from authority_portal.app.errors import Conflict, Forbidden, NotFound, PortalError
from authority_portal.app.models import DetectionOrderRecord, User
from authority_portal.warrants.detection import OrderCase, OrderTerms
from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.judges import JudgeRegistry
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import JudgeSignature, approval_statement
from authority_portal.warrants.states import APPROVED, FILED

MAX_TEXT = 4000
DAY = 86_400


def _text(value: object, label: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise PortalError(f"{label} is text of 1..{limit} characters")
    return value.strip()


def _number(value: object, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise PortalError(f"{label} is a number")
    return float(value)


class OrderDesk:
    """Detection orders on the portal's log, judges and policy (module docstring)."""

    def __init__(self, log, clock, judges: JudgeRegistry,  # type: ignore[no-untyped-def]
                 particularity: ParticularityPolicy) -> None:
        self.log = log
        self.clock = clock
        self.judges = judges
        self.particularity = particularity
        self._cases: dict[str, OrderCase] = {}
        self._lock = threading.RLock()

    def order(self, session: Session, reference: object) -> DetectionOrderRecord:
        if not isinstance(reference, str):
            raise NotFound("no such detection order")
        record = session.scalar(select(DetectionOrderRecord)
                                .where(DetectionOrderRecord.reference == reference))
        if record is None:
            raise NotFound(f"no detection order {reference}")
        return record

    def orders(self, session: Session) -> list[DetectionOrderRecord]:
        return list(session.scalars(select(DetectionOrderRecord)
                                    .order_by(DetectionOrderRecord.id)))

    def file(self, session: Session, officer: User, data: dict) -> DetectionOrderRecord:
        """File an order from ``data``: agency, jurisdiction, users, window_start,
        window_end, database_version, validity_days, legal_basis."""
        users = data.get("users")
        if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
            raise PortalError("users is a list of user ids")
        version = data.get("database_version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise PortalError("database_version is a whole number")
        start = _number(data.get("window_start"), "window_start")
        end = _number(data.get("window_end"), "window_end")
        days = _number(data.get("validity_days"), "validity_days")
        now = int(self.clock.now())
        reference = f"d-{secrets.token_hex(6)}"
        try:
            terms = OrderTerms(
                order_id=reference, agency=_text(data.get("agency"), "agency", 128),
                jurisdiction=_text(data.get("jurisdiction"), "jurisdiction", 64),
                officer=officer.label, users=tuple(users), window_start=int(start),
                window_end=int(end), database_version=version,
                legal_basis=_text(data.get("legal_basis"), "legal basis"), issued_at=now,
                expires_at=now + max(1, int(days * DAY)))
        except (WarrantError, ValueError, OverflowError) as exc:
            raise PortalError(str(exc)) from None
        with self._lock:
            try:  # checked before anything is logged: a refused filing changes nothing
                self.particularity.check(terms, "detection order")
                case = OrderCase.draft(terms, self.log, self.judges, self.particularity,
                                       officer.label)
                case.file(officer.label)
            except WarrantError as exc:
                raise PortalError(str(exc)) from None
            record = DetectionOrderRecord(
                reference=reference, officer_id=officer.id, agency=terms.agency,
                jurisdiction=terms.jurisdiction, users_json=json.dumps(list(terms.users)),
                window_start=float(terms.window_start), window_end=float(terms.window_end),
                database_version=version, legal_basis=terms.legal_basis,
                filed_at=float(now), not_after=float(terms.expires_at), status=FILED,
                digest=terms.sha256.hex())
            session.add(record)
            session.commit()
            self._cases[reference] = case
        return record

    def statement(self, record: DetectionOrderRecord) -> bytes:
        """The exact bytes a judge signs: the order-approval statement over the order's id
        and SHA-256 (its header differs from a warrant's)."""
        case = self._case(record.reference)
        return approval_statement(case.terms.order_id, case.terms.sha256,
                                  OrderCase.APPROVAL_HEADER).encode()

    def sign(self, session: Session, judge: User, reference: str, signature: object
             ) -> DetectionOrderRecord:
        """Judge ``judge`` approves with an Ed25519 ``signature`` over :meth:`statement`,
        made with the judge's own key; it must verify under the judge registry."""
        with self._lock:
            record = self.order(session, reference)
            if record.status != FILED:
                raise Conflict(f"detection order {reference} is {record.status}, not filed")
            if record.officer_id == judge.id:
                raise Forbidden("the officer who filed a detection order cannot approve it")
            if not isinstance(signature, bytes) or len(signature) != 64:
                raise PortalError("the signature is 64 bytes of Ed25519")
            registered = self.judges.get(judge.label)
            if registered is None:
                raise Forbidden(f"{judge.label} is not in the judge registry")
            case = self._case(reference)
            try:
                case.approve(judge.label, [JudgeSignature(judge.label, registered.key_id,
                                                          signature)])
            except WarrantError as exc:
                raise PortalError(f"approval refused: {exc}") from None
            record.judge_id = judge.id
            record.issuer = judge.label
            record.status = APPROVED
            record.signed_order = base64.b64encode(case.logged()).decode()
            session.commit()
            return record

    def _case(self, reference: str) -> OrderCase:
        case = self._cases.get(reference)
        if case is None:
            raise Conflict(f"detection order {reference} was filed before the portal "
                           "restarted: file it again")
        return case
