"""Detection orders issued like warrants, and the client's verifier of them
(docs/detection_orders.md).

A detection order is a warrant whose targets are *users* and which authorises scanning,
not decryption: the EU's proposed regulation lets a provider scan a user's content only
under an order a judicial authority issued, limited in whom and how long it reaches. The
portal issues one with the warrant machinery, not a copy of it:

- :class:`OrderTerms` is the document: id, agency, jurisdiction, officer, the users (each
  named exactly, never a wildcard or a prefix), the window ``[start, end)`` of sending
  times, the hash database's version, the legal basis, issue and expiry, and its scope (what
  it authorises scanning: images, text or both). An images-only order is written in the
  first format, :data:`ORDER_FORMAT`, byte for byte as before scopes existed, and any other
  scope in :data:`ORDER_FORMAT_V2`, which adds a ``scope`` field; its one encoding
  is RFC 8785 and its hash the SHA-256 of it, read strictly (canonical bytes only), as a
  :class:`~authority_portal.warrants.model.Warrant`'s; the window cannot reach past the
  expiry, so the client's :class:`~escrow.css.orders.DetectionOrder` never outlives it.
- Judges sign it with :func:`~authority_portal.warrants.signatures.sign_warrant` under
  their own statement header, :data:`APPROVAL_HEADER`: a judge's approval of a warrant is
  never an approval of an order, nor the reverse, even for the same id and hash.
- How broad it may be is a :class:`~authority_portal.warrants.policy.ParticularityPolicy`
  (its ``max_targets`` bounds the users, ``max_window`` the window, ``max_validity`` the
  validity, ``judges_required`` is k of m).
- :class:`OrderCase` is a :class:`~authority_portal.warrants.states.WarrantCase` with the
  order's states (no release: ``draft -> filed -> approved | denied``, ``approved ->
  expired | cancelled``, then ``closed``) and entries ``detection_order.<state>``, each
  logged before it takes effect. :meth:`OrderCase.signed` is the approved order's bytes
  (:func:`encode_signed`), what the provider hands the client.

:class:`DetectionOrderVerifier` is the client's
:class:`~escrow.css.orders.OrderVerifier`: the judges' signatures against *its* registry,
*its* policy, validity at *its* clock (not before issue, not at or after expiry), and no
replay (an order id it has accepted once is refused again, whatever the bytes). Given the
audit log's trust (its key, the witnesses' keys, the quorum), it also requires the
order's approval to be in the witnessed log, as a custodian node requires a warrant's:
the order then comes as :func:`encode_logged` bytes, the signed order with the receipt of
its ``detection_order.approved`` entry (:meth:`OrderCase.logged`). Every refusal is an
:class:`~escrow.css.orders.OrderError` naming the check; a refused order changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import rfc8785

import strictjson
from audit.entries import Entry
from audit.errors import AuditError
from audit.receipt import Receipt, verify_receipt
from audit.trust import Trust
from authority_portal.warrants.errors import TransitionError, WarrantError
from authority_portal.warrants.judges import JudgeRegistry
from authority_portal.warrants.model import (
    MAX_LEGAL_BASIS,
    MAX_TEXT,
    _text,
    _time,
    out_of_force,
)
from authority_portal.warrants.policy import ParticularityPolicy, is_wildcard
from authority_portal.warrants.signatures import (
    JudgeSignature,
    signatures_from_json,
    verify_approval,
)
from authority_portal.warrants.states import (
    APPROVED,
    CANCELLED,
    CLOSED,
    DENIED,
    DRAFT,
    EXPIRED,
    FILED,
    WarrantCase,
)
from escrow.authorisation import check_id
from escrow.css.orders import IMAGES, MAX_ORDER_USERS, DetectionOrder, OrderError

ORDER_FORMAT = "escrowlab-detection-order-v1"
ORDER_FORMAT_V2 = "escrowlab-detection-order-v2"
SIGNED_FORMAT = "escrowlab-signed-detection-order-v1"
LOGGED_FORMAT = "escrowlab-logged-detection-order-v1"
APPROVAL_HEADER = "escrowlab detection order approval v1"
MAX_ORDER_BYTES = 1 << 20
WHAT = "detection order"
_FIELDS = {"format": str, "id": str, "agency": str, "jurisdiction": str, "officer": str,
           "users": list, "window": dict, "database_version": int, "legal_basis": str,
           "issued_at": int, "expires_at": int}
_FIELDS_V2 = {**_FIELDS, "scope": list}


@dataclass(frozen=True)
class OrderTerms:
    """One detection order as issued (module docstring); checked when it is built."""

    order_id: str
    agency: str
    jurisdiction: str
    officer: str
    users: tuple[str, ...]
    window_start: int
    window_end: int
    database_version: int
    legal_basis: str
    issued_at: int
    expires_at: int
    scope: tuple[str, ...] = (IMAGES,)

    def __post_init__(self) -> None:
        check_id(self.officer, "detection order officer", WarrantError)
        _text(self.agency, "agency", MAX_TEXT)
        _text(self.jurisdiction, "jurisdiction", MAX_TEXT)
        _text(self.legal_basis, "legal basis", MAX_LEGAL_BASIS, lines=True)
        _time(self.window_start, "window start")
        _time(self.window_end, "window end")
        issued, expires = _time(self.issued_at, "issued_at"), _time(self.expires_at,
                                                                    "expires_at")
        if not issued < expires:
            raise WarrantError("a detection order expires after it is issued")
        if self.window_end > expires:
            raise WarrantError("a detection order's window cannot end after the order "
                               "expires")
        try:
            order = self.order
        except OrderError as exc:
            raise WarrantError(str(exc)) from None
        wild = [u for u in order.users if is_wildcard(u)]
        if wild:
            raise WarrantError(f"detection order user(s) {', '.join(wild[:5])} stand for more "
                               "than one user: name each user")
        object.__setattr__(self, "users", order.users)
        object.__setattr__(self, "scope", order.scope)

    def __repr__(self) -> str:
        return (f"OrderTerms({self.order_id}, {len(self.users)} user(s), "
                f"{self.sha256.hex()[:16]})")

    @property
    def order(self) -> DetectionOrder:
        """What the client keeps of it (:class:`escrow.css.orders.DetectionOrder`)."""
        return DetectionOrder(self.order_id, tuple(self.users), float(self.window_start),
                              float(self.window_end), self.database_version, self.scope)

    # The names the warrant machinery (signatures, policy, case) reads.
    @property
    def warrant_id(self) -> str:
        return self.order_id

    @property
    def targets(self) -> tuple[str, ...]:
        return self.users

    @property
    def window_length(self) -> int:
        return self.window_end - self.window_start

    @property
    def validity(self) -> int:
        return self.expires_at - self.issued_at

    def to_json(self) -> dict:
        """The document: format v1 for an images-only order, v2 (with ``scope``) otherwise."""
        document = {"format": ORDER_FORMAT, "id": self.order_id, "agency": self.agency,
                    "jurisdiction": self.jurisdiction, "officer": self.officer,
                    "users": list(self.users),
                    "window": {"start": self.window_start, "end": self.window_end},
                    "database_version": self.database_version,
                    "legal_basis": self.legal_basis,
                    "issued_at": self.issued_at, "expires_at": self.expires_at}
        if self.scope != (IMAGES,):
            document.update(format=ORDER_FORMAT_V2, scope=list(self.scope))
        return document

    def encode(self) -> bytes:
        return rfc8785.dumps(self.to_json())

    @property
    def sha256(self) -> bytes:
        """SHA-256 of :meth:`encode`: what judges sign."""
        return hashlib.sha256(self.encode()).digest()

    @classmethod
    def from_json(cls, data: object) -> OrderTerms:
        version = data.get("format") if isinstance(data, dict) else None
        strictjson.fields(data, _FIELDS_V2 if version == ORDER_FORMAT_V2 else _FIELDS,
                          what=WHAT, error=WarrantError)
        if data["format"] not in (ORDER_FORMAT, ORDER_FORMAT_V2):
            raise WarrantError(f"unknown detection order format {data['format']!r}")
        scope: tuple[str, ...] = (IMAGES,)
        if version == ORDER_FORMAT_V2:
            for item in data["scope"]:
                strictjson.text(item, what="detection order scope", error=WarrantError)
            scope = tuple(data["scope"])
            if scope == (IMAGES,):
                raise WarrantError(f"an images-only detection order is written in format "
                                   f"{ORDER_FORMAT!r}")
        strictjson.fields(data["window"], {"start": int, "end": int},
                          what="detection order window", error=WarrantError)
        if len(data["users"]) > MAX_ORDER_USERS:
            raise WarrantError(f"a detection order names 1..{MAX_ORDER_USERS} users")
        for user in data["users"]:
            strictjson.text(user, what="detection order user", error=WarrantError)
        return cls(data["id"], data["agency"], data["jurisdiction"], data["officer"],
                   tuple(data["users"]), data["window"]["start"], data["window"]["end"],
                   data["database_version"], data["legal_basis"], data["issued_at"],
                   data["expires_at"], scope)


def encode_signed(terms: OrderTerms, signatures: Sequence[JudgeSignature]) -> bytes:
    """The signed order's one encoding (RFC 8785): the order and its judges' signatures."""
    return rfc8785.dumps({"format": SIGNED_FORMAT, "order": terms.to_json(),
                          "signatures": [s.to_json() for s in signatures]})


def _document(encoded: bytes, kind: str, format_: str, fields: dict) -> dict:
    """The JSON object of a ``kind`` ("signed", "logged") detection order document: strict
    JSON, exactly ``format`` and ``fields``, its format ``format_`` (:class:`WarrantError`)."""
    what = f"{kind} detection order"
    obj = strictjson.loads(encoded, what=what, error=WarrantError, allow_floats=False,
                           max_bytes=MAX_ORDER_BYTES)
    strictjson.fields(obj, {"format": str, **fields}, what=what, error=WarrantError)
    if obj["format"] != format_:
        raise WarrantError(f"unknown {what} format {obj['format']!r}")
    return obj


def decode_signed(encoded: bytes) -> tuple[OrderTerms, tuple[JudgeSignature, ...]]:
    """The order and signatures of :func:`encode_signed`'s bytes, read strictly: any other
    encoding of them is refused (:class:`WarrantError`)."""
    if not isinstance(encoded, bytes):
        raise WarrantError("a signed detection order is bytes")
    obj = _document(encoded, "signed", SIGNED_FORMAT, {"order": dict, "signatures": list})
    terms, signatures = OrderTerms.from_json(obj["order"]), signatures_from_json(
        obj["signatures"])
    if encode_signed(terms, signatures) != encoded:
        raise WarrantError("a signed detection order is not in its canonical (RFC 8785) "
                           "encoding")
    return terms, signatures


def encode_logged(signed: bytes, receipt: Receipt) -> bytes:
    """A signed order (:func:`encode_signed`'s bytes) with the receipt of its approval's log
    entry, in one RFC 8785 encoding."""
    return rfc8785.dumps({"format": LOGGED_FORMAT, "signed": base64.b64encode(signed).decode(),
                          "receipt": receipt.to_json()})


def decode_logged(encoded: bytes) -> tuple[bytes, Receipt]:
    """The signed order's bytes and the receipt of :func:`encode_logged`'s bytes, read
    strictly (:class:`WarrantError`)."""
    obj = _document(encoded, "logged", LOGGED_FORMAT, {"signed": str, "receipt": dict})
    try:
        signed = base64.b64decode(obj["signed"], validate=True)
        receipt = Receipt.from_json(obj["receipt"])
    except (ValueError, AuditError) as exc:
        raise WarrantError(f"logged detection order: {exc}") from None
    try:
        canonical = encode_logged(signed, receipt)
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise WarrantError(f"logged detection order cannot be canonicalised: {exc}") from None
    if canonical != encoded:
        raise WarrantError("a logged detection order is not in its canonical (RFC 8785) "
                           "encoding")
    return signed, receipt


def _unwrap(encoded: bytes) -> tuple[bytes, Receipt | None]:
    """(the signed order, its approval's receipt) of logged bytes; (the bytes, None) of
    signed ones, which :func:`decode_signed` then reads."""
    if isinstance(encoded, bytes) and encoded.startswith(
            b'{"format":"' + LOGGED_FORMAT.encode() + b'"'):
        return decode_logged(encoded)
    return encoded, None


def check_logged_approval(terms: OrderTerms, receipt: Receipt, trust: Trust) -> None:
    """Raise :class:`WarrantError` unless ``receipt`` proves, under a checkpoint the trusted
    quorum cosigned, the ``detection_order.approved`` entry of exactly these terms."""
    try:
        verify_receipt(receipt, trust.log_key, trust.witness_keys, trust.quorum)
        entry = Entry.decode(receipt.entry)
    except AuditError as exc:
        raise WarrantError(f"the approval's receipt does not verify: {exc}") from None
    payload = entry.payload
    if entry.type != f"{OrderCase.KIND}.{APPROVED}" or \
            payload.get("detection_order_id") != terms.order_id or \
            payload.get("detection_order_sha256") != terms.sha256.hex():
        raise WarrantError(f"the receipt is not the logged approval of detection order "
                           f"{terms.order_id}")


class OrderCase(WarrantCase):
    """One detection order's case: the warrant case's machinery, the order's states."""

    DOCUMENT = OrderTerms
    KIND = "detection_order"
    APPROVAL_HEADER = APPROVAL_HEADER
    STATES = (DRAFT, FILED, APPROVED, DENIED, EXPIRED, CANCELLED, CLOSED)
    TRANSITIONS: Mapping[str, frozenset[str]] = {
        DRAFT: frozenset({FILED}),
        FILED: frozenset({APPROVED, DENIED}),
        APPROVED: frozenset({EXPIRED, CANCELLED}),
        DENIED: frozenset({CLOSED}),
        EXPIRED: frozenset({CLOSED}),
        CANCELLED: frozenset({CLOSED}),
        CLOSED: frozenset(),
    }

    @property
    def terms(self) -> OrderTerms:
        return self.warrant

    def signed(self) -> bytes:
        """The approved order's bytes for the client (:func:`encode_signed`)."""
        if self.state != APPROVED:
            raise TransitionError(f"detection order {self.terms.order_id} is {self.state}: "
                                  "only an approved order in force is handed to clients")
        return encode_signed(self.terms, self.signatures)

    def logged(self) -> bytes:
        """:meth:`signed` with the receipt of the approval's log entry (:func:`encode_logged`)."""
        signed = self.signed()
        approvals = [receipt for state, receipt in self.receipts if state == APPROVED]
        return encode_logged(signed, approvals[-1])


class DetectionOrderVerifier:
    """A client's :class:`~escrow.css.orders.OrderVerifier` (module docstring)."""

    def __init__(self, registry: JudgeRegistry, policy: ParticularityPolicy,
                 log_trust: Trust | None = None) -> None:
        self.registry = registry
        self.policy = policy
        self.log_trust = log_trust
        self._accepted: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, encoded: bytes, now: float) -> DetectionOrder:
        try:
            encoded, receipt = _unwrap(encoded)
            if self.log_trust is not None and receipt is None:
                raise WarrantError("this client accepts only orders whose approval is in the "
                                   "witnessed audit log: the order comes without its receipt")
            terms, signatures = decode_signed(encoded)
            verify_approval(terms, signatures, self.registry, self.policy.judges_required,
                            APPROVAL_HEADER, WHAT)
            self.policy.check(terms, WHAT)
            if self.log_trust is not None:
                check_logged_approval(terms, receipt, self.log_trust)
        except WarrantError as exc:
            raise OrderError(str(exc)) from None
        refusal = out_of_force(WHAT, terms.order_id, terms.issued_at, terms.expires_at, now,
                               "this client's clock")
        if refusal:
            raise OrderError(refusal)
        with self._lock:
            if terms.order_id in self._accepted:
                raise OrderError(f"detection order {terms.order_id} was already accepted at "
                                 f"{self._accepted[terms.order_id]:.0f}: a replayed order "
                                 "is refused")
            self._accepted[terms.order_id] = now
        return terms.order
