"""A warrant's case: its states and transitions, every one an audit-log entry
(docs/warrants.md, "States").

::

    draft -> filed -> approved | denied
    approved -> releasing -> recovered | expired | cancelled
    approved -> expired | cancelled
    denied | recovered | expired | cancelled -> closed

:class:`WarrantCase` holds one warrant, its state, the judges' signatures once approved, and
the receipt of every transition. A transition first appends its entry (type
``warrant.<new state>``, actor, the warrant's id and hash, the old and new state and the
transition's details) to the audit log, and changes the state only once the log
acknowledged it with a receipt ("log, then act", docs/architecture.md, "Principles"): if
the append fails, the case is exactly as it was. A transition the machine does not allow,
a filing outside the particularity policy and an approval whose signatures do not verify
are refused with a :class:`~authority_portal.warrants.errors.WarrantError` before anything
is logged.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self

from audit.receipt import Receipt
from authority_portal.warrants.errors import TransitionError
from authority_portal.warrants.judges import JudgeRegistry
from authority_portal.warrants.model import Warrant
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import STATEMENT_HEADER, JudgeSignature, verify_approval

DRAFT = "draft"
FILED = "filed"
APPROVED = "approved"
DENIED = "denied"
RELEASING = "releasing"
RECOVERED = "recovered"
EXPIRED = "expired"
CANCELLED = "cancelled"
CLOSED = "closed"
STATES = (DRAFT, FILED, APPROVED, DENIED, RELEASING, RECOVERED, EXPIRED, CANCELLED, CLOSED)
TRANSITIONS: Mapping[str, frozenset[str]] = {
    DRAFT: frozenset({FILED}),
    FILED: frozenset({APPROVED, DENIED}),
    APPROVED: frozenset({RELEASING, EXPIRED, CANCELLED}),
    DENIED: frozenset({CLOSED}),
    RELEASING: frozenset({RECOVERED, EXPIRED, CANCELLED}),
    RECOVERED: frozenset({CLOSED}),
    EXPIRED: frozenset({CLOSED}),
    CANCELLED: frozenset({CLOSED}),
    CLOSED: frozenset(),
}


class EventLog(Protocol):
    """What a case needs of the audit log (:class:`audit.log.AuditLog` has it)."""

    def append_event(self, type: str, actor: str, payload: Mapping[str, Any]) -> Receipt: ...


class WarrantCase:
    """One warrant's case (module docstring). Created in ``draft`` by :meth:`draft`.

    The class attributes say what kind of document the case holds, what its judges sign
    and how its entries are named; a detection order's case
    (:class:`authority_portal.warrants.detection.OrderCase`) sets its own."""

    DOCUMENT: type = Warrant
    KIND = "warrant"
    """The entry type's prefix (``<kind>.<state>``) and the payload's ``<kind>_id``."""
    APPROVAL_HEADER = STATEMENT_HEADER
    STATES: tuple[str, ...] = STATES
    TRANSITIONS: Mapping[str, frozenset[str]] = TRANSITIONS

    def __init__(self, warrant: Warrant, log: EventLog, registry: JudgeRegistry,
                 policy: ParticularityPolicy) -> None:
        if not isinstance(warrant, self.DOCUMENT):
            raise TransitionError(f"a {self.what} case holds a {self.DOCUMENT.__name__}")
        self.warrant = warrant
        self.log = log
        self.registry = registry
        self.policy = policy
        self.state = DRAFT
        self.signatures: tuple[JudgeSignature, ...] = ()
        self.judges: tuple[str, ...] = ()
        self.receipts: list[tuple[str, Receipt]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.warrant.warrant_id}, {self.state})"

    @classmethod
    def draft(cls, warrant: Warrant, log: EventLog, registry: JudgeRegistry,
              policy: ParticularityPolicy, actor: str) -> Self:
        """A new case in ``draft``, its creation logged."""
        case = cls(warrant, log, registry, policy)
        case.receipts.append((DRAFT, case._append(DRAFT, actor, {"from": None})))
        return case

    @property
    def what(self) -> str:
        """The document's kind in words, for errors."""
        return self.KIND.replace("_", " ")

    def receipt(self, state: str) -> Receipt:
        """The receipt of the (last) transition into ``state``."""
        for name, receipt in reversed(self.receipts):
            if name == state:
                return receipt
        raise TransitionError(f"{self.what} {self.warrant.warrant_id} never was {state}")

    def _append(self, state: str, actor: str, details: Mapping[str, Any]) -> Receipt:
        payload = {f"{self.KIND}_id": self.warrant.warrant_id,
                   f"{self.KIND}_sha256": self.warrant.sha256.hex(), "to": state, **details}
        return self.log.append_event(f"{self.KIND}.{state}", actor, payload)

    def transition(self, state: str, actor: str, details: Mapping[str, Any] | None = None
                   ) -> Receipt:
        """Move to ``state``: checked, logged, then done (module docstring)."""
        with self._lock:
            return self._transition(state, actor, dict(details or {}))

    def _check_allowed(self, state: str) -> None:
        if state not in self.STATES:
            raise TransitionError(f"unknown {self.what} state {state!r}")
        if state not in self.TRANSITIONS[self.state]:
            allowed = ", ".join(sorted(self.TRANSITIONS[self.state])) or "nothing"
            raise TransitionError(f"{self.what} {self.warrant.warrant_id} is {self.state}: "
                                  f"it can become {allowed}, not {state}")

    def _transition(self, state: str, actor: str, details: dict) -> Receipt:
        self._check_allowed(state)
        receipt = self._append(state, actor, {"from": self.state, **details})
        self.state = state
        self.receipts.append((state, receipt))
        return receipt

    # -- the named steps -----------------------------------------------------

    def file(self, actor: str) -> Receipt:
        """draft -> filed, if the warrant is within the policy."""
        with self._lock:
            self._check_allowed(FILED)
            self.policy.check(self.warrant, self.what)
            return self._transition(FILED, actor, {self.KIND: self.warrant.to_json()})

    def approve(self, actor: str, signatures: Sequence[JudgeSignature]) -> Receipt:
        """filed -> approved, if the signatures approve the warrant under the registry."""
        with self._lock:
            self._check_allowed(APPROVED)
            signatures = tuple(signatures)
            judges = verify_approval(self.warrant, signatures, self.registry,
                                     self.policy.judges_required, self.APPROVAL_HEADER,
                                     self.what)
            receipt = self._transition(APPROVED, actor, {
                "judges": list(judges), "signatures": [s.to_json() for s in signatures]})
            self.signatures, self.judges = signatures, judges
            return receipt

    def deny(self, actor: str, reason: str) -> Receipt:
        return self.transition(DENIED, actor, {"reason": reason})
