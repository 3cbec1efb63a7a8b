"""The warrant: what an officer asks for and a judge signs (docs/warrants.md, "The warrant").

A :class:`Warrant` names its id, the agency and officer asking, the jurisdiction whose
judges may sign it, the targets (conversation ids), the window ``[start, end)`` of the
relay's receipt times it covers, the legal basis in words, when it was issued and when it
expires, and optionally the warrant it ``replaces`` (an amendment is a new warrant; a
warrant never changes once built: the dataclass is frozen).

Its one encoding is the RFC 8785 (JCS) canonical JSON of :meth:`Warrant.to_json`, and its
hash the SHA-256 of those bytes (:attr:`Warrant.sha256`): that hash is what judges sign
(:mod:`authority_portal.warrants.signatures`). :meth:`Warrant.decode` reads bytes strictly
(:mod:`strictjson`: no floats, no duplicate names, exact fields and types) and refuses
bytes that are not already the canonical encoding, so one warrant has exactly one byte
string. Targets are kept sorted and must be distinct, so the same set of targets is the
same warrant.

The model checks shape only (ids, lengths, ordering of times); how broad a warrant may be
is the particularity policy's job (:mod:`authority_portal.warrants.policy`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import rfc8785

import strictjson
from authority_portal.warrants.errors import WarrantError
from escrow.authorisation import check_id
from messaging.errors import WireFormatError
from messaging.wire import validate_id

WARRANT_FORMAT = "escrowlab-warrant-v1"
MAX_WARRANT_BYTES = 1 << 20
MAX_TARGETS = 10_000
"""A bound on what the model can hold at all; the policy sets the real limit (far lower)."""
MAX_TEXT = 128
MAX_LEGAL_BASIS = 4000
MAX_TIME = 2**53
"""Times are integer seconds since the epoch, below 2**53 (exact in every JSON reader)."""
_FIELDS = {"format": str, "id": str, "agency": str, "jurisdiction": str, "officer": str,
           "targets": list, "window": dict, "legal_basis": str, "issued_at": int,
           "expires_at": int, "replaces": (str, type(None))}


def _text(value: object, label: str, max_length: int, lines: bool = False) -> str:
    strictjson.text(value, what=f"warrant {label}", error=WarrantError)
    body = value.replace("\n", "") if lines else value
    if not 1 <= len(value) <= max_length or not body.isprintable() or value != value.strip():
        raise WarrantError(f"warrant {label} must be 1..{max_length} printable characters "
                           "with no leading or trailing space")
    return value


def _time(value: object, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_TIME:
        raise WarrantError(f"warrant {label} must be an integer number of seconds since the "
                           f"epoch, 0..2^53")
    return value


def _target(value: object) -> str:
    strictjson.text(value, what="warrant target", error=WarrantError)
    try:
        return validate_id(value)
    except WireFormatError as exc:
        raise WarrantError(f"warrant target {value!r}: {exc}") from None


def out_of_force(what: str, document_id: str, issued_at: int, expires_at: int, now: float,
                 clock: str) -> str | None:
    """Why a document valid in ``[issued_at, expires_at)`` is not in force at ``now`` by
    ``clock`` (whose clock, in words), or None if it is."""
    if now < issued_at:
        return (f"{what} {document_id} is not valid yet (issued at {issued_at}, {clock} "
                f"says {now:.0f})")
    if now >= expires_at:
        return f"{what} {document_id} expired at {expires_at} ({clock} says {now:.0f})"
    return None


@dataclass(frozen=True)
class Warrant:
    """One warrant (module docstring); every field is checked when it is built."""

    warrant_id: str
    agency: str
    jurisdiction: str
    officer: str
    targets: tuple[str, ...]
    window_start: int
    window_end: int
    legal_basis: str
    issued_at: int
    expires_at: int
    replaces: str | None = None

    def __post_init__(self) -> None:
        check_id(self.warrant_id, "warrant id", WarrantError)
        check_id(self.officer, "warrant officer", WarrantError)
        _text(self.agency, "agency", MAX_TEXT)
        _text(self.jurisdiction, "jurisdiction", MAX_TEXT)
        _text(self.legal_basis, "legal basis", MAX_LEGAL_BASIS, lines=True)
        if not isinstance(self.targets, tuple | list):
            raise WarrantError("warrant targets are a list of conversation ids")
        targets = tuple(_target(t) for t in self.targets)
        if not 1 <= len(targets) <= MAX_TARGETS:
            raise WarrantError(f"a warrant names 1..{MAX_TARGETS} targets")
        if len(set(targets)) != len(targets):
            raise WarrantError("a warrant names each target once")
        object.__setattr__(self, "targets", tuple(sorted(targets)))
        start, end = _time(self.window_start, "window start"), _time(self.window_end,
                                                                     "window end")
        if not start < end:
            raise WarrantError("the warrant's window [start, end) is empty")
        issued, expires = _time(self.issued_at, "issued_at"), _time(self.expires_at,
                                                                    "expires_at")
        if not issued < expires:
            raise WarrantError("a warrant expires after it is issued")
        if self.replaces is not None:
            check_id(self.replaces, "warrant replaces", WarrantError)
            if self.replaces == self.warrant_id:
                raise WarrantError("a warrant cannot replace itself")

    def __repr__(self) -> str:
        return (f"Warrant({self.warrant_id}, {len(self.targets)} target(s), "
                f"{self.sha256.hex()[:16]})")

    def to_json(self) -> dict:
        return {"format": WARRANT_FORMAT, "id": self.warrant_id, "agency": self.agency,
                "jurisdiction": self.jurisdiction, "officer": self.officer,
                "targets": list(self.targets),
                "window": {"start": self.window_start, "end": self.window_end},
                "legal_basis": self.legal_basis, "issued_at": self.issued_at,
                "expires_at": self.expires_at, "replaces": self.replaces}

    def encode(self) -> bytes:
        """The canonical (RFC 8785) bytes: the one encoding of this warrant."""
        return rfc8785.dumps(self.to_json())

    @property
    def sha256(self) -> bytes:
        """SHA-256 of :meth:`encode`: the warrant's hash, what judges sign."""
        return hashlib.sha256(self.encode()).digest()

    @property
    def validity(self) -> int:
        return self.expires_at - self.issued_at

    @property
    def window_length(self) -> int:
        return self.window_end - self.window_start

    @classmethod
    def from_json(cls, data: object) -> Warrant:
        strictjson.fields(data, _FIELDS, what="warrant", error=WarrantError)
        if data["format"] != WARRANT_FORMAT:
            raise WarrantError(f"unknown warrant format {data['format']!r}")
        strictjson.fields(data["window"], {"start": int, "end": int}, what="warrant window",
                          error=WarrantError)
        if len(data["targets"]) > MAX_TARGETS:
            raise WarrantError(f"a warrant names 1..{MAX_TARGETS} targets")
        return cls(data["id"], data["agency"], data["jurisdiction"], data["officer"],
                   tuple(data["targets"]), data["window"]["start"], data["window"]["end"],
                   data["legal_basis"], data["issued_at"], data["expires_at"], data["replaces"])

    @classmethod
    def decode(cls, data: bytes | str) -> Warrant:
        """A warrant from its canonical bytes; any other encoding of it is refused."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        obj = strictjson.loads(data, what="warrant", error=WarrantError, allow_floats=False,
                               max_bytes=MAX_WARRANT_BYTES)
        warrant = cls.from_json(obj)
        if warrant.encode() != data:
            raise WarrantError("warrant is not in its canonical (RFC 8785) encoding, with "
                               "targets sorted: re-encode it before it is signed or sent")
        return warrant
