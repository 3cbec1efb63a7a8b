"""Release authorisations: what a custodian must be shown before it releases a share
(docs/architecture.md, "Data flow" 5).

:class:`ReleaseAuthorisation` is the small typed interface the release
function relies on: an id and an issuer, the records it names
(:class:`RecordRef`: the record's SHA-256 and the SHA-256 of the context it must
carry, with that context's conversation, sender, recipient and chain number
spelled out for people), the one-time X25519 recovery key the shares go to, an
expiry, and :attr:`~ReleaseAuthorisation.digest`, the SHA-256 of the bytes its
issuer signed. A release binds that digest and the issuer
(:mod:`escrow.release`), and recovery executes one authorisation, named by its
digest (:mod:`escrow.recovery`). :class:`AuthorisationVerifier` decides whether
one is genuine. The warrant portal supplies its own implementations
(judge-signed warrants, log inclusion proofs); this module ships the minimal
one: :class:`SignedAuthorisation`, an Ed25519 signature by a trusted issuer
over the RFC 8785 canonical encoding, checked by :class:`TrustedIssuers`.

Every value is checked when it is built, from JSON or in Python: ids are
printable text (no lone surrogates, which no canonical encoding can carry),
numbers are exact types (``true`` is not 1), the recovery key is not one of
the small-order X25519 points (:func:`escrow.sealing.is_small_order`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

import strictjson
from escrow.errors import AuthorisationError
from escrow.sealing import is_small_order
from messaging.errors import WireFormatError
from messaging.wire import validate_id

AUTHORISATION_FORMAT = "escrowlab-release-authorisation-v2"
MAX_RECORDS = 100_000
MAX_CHAIN_NUMBER = 2**32 - 1  # a u32 on the wire
DIGEST_LENGTH = 32
SIGNATURE_LENGTH = 64
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
"""Authorisation ids and issuer names (ASCII, so every canonical encoding carries them)."""


def check_id(value: object, label: str, error: type[Exception] = AuthorisationError) -> str:
    """``value`` if it is an authorisation id or issuer name (:data:`ID_PATTERN`)."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise error(f"{label} must be 1..64 characters of letters, digits, '.', '_', ':' or "
                    "'-'")
    return value


def _wire_id(value: object, label: str) -> str:
    """``value`` if the wire can carry it as a conversation id or address."""
    strictjson.text(value, what=f"record reference {label}", error=AuthorisationError)
    try:
        return validate_id(value)
    except WireFormatError as exc:
        raise AuthorisationError(f"record reference {label}: {exc}") from None


def _hex(value: str, label: str, length: int | None = None) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise AuthorisationError(f"{label} must be hex") from None
    if length is not None and len(raw) != length:
        raise AuthorisationError(f"{label} must be {length} bytes")
    return raw


@dataclass(frozen=True)
class RecordRef:
    """One escrow record an authorisation names, under the one context it must carry
    (:meth:`escrow.context.RecordContext.digest`)."""

    conversation_id: str
    sender: str
    recipient: str
    chain_number: int
    record_digest: bytes
    context_digest: bytes

    def __post_init__(self) -> None:
        for label, digest in (("record", self.record_digest), ("context", self.context_digest)):
            if not isinstance(digest, bytes) or len(digest) != DIGEST_LENGTH:
                raise AuthorisationError(f"a record reference names a {DIGEST_LENGTH}-byte "
                                         f"SHA-256 {label} digest")
        if not isinstance(self.chain_number, int) or isinstance(self.chain_number, bool) \
                or not 0 <= self.chain_number <= MAX_CHAIN_NUMBER:
            raise AuthorisationError(f"a record reference's chain number is an integer in "
                                     f"0..{MAX_CHAIN_NUMBER}")
        for label in ("conversation_id", "sender", "recipient"):
            _wire_id(getattr(self, label), label)

    def to_json(self) -> dict:
        return {"conversation_id": self.conversation_id, "sender": self.sender,
                "recipient": self.recipient, "chain_number": self.chain_number,
                "record_sha256": self.record_digest.hex(),
                "context_sha256": self.context_digest.hex()}

    @classmethod
    def from_json(cls, data: object) -> RecordRef:
        strictjson.fields(data, {"conversation_id": str, "sender": str, "recipient": str,
                                 "chain_number": int, "record_sha256": str,
                                 "context_sha256": str},
                          what="record reference", error=AuthorisationError)
        return cls(data["conversation_id"], data["sender"], data["recipient"],
                   data["chain_number"], _hex(data["record_sha256"], "record_sha256"),
                   _hex(data["context_sha256"], "context_sha256"))


@runtime_checkable
class ReleaseAuthorisation(Protocol):
    """What :func:`escrow.release.release_share` needs to know about an authorisation."""

    @property
    def authorisation_id(self) -> str: ...

    @property
    def issuer(self) -> str:
        """Who signed it (an :data:`ID_PATTERN` name)."""
        ...

    @property
    def digest(self) -> bytes:
        """SHA-256 of the exact bytes the issuer signed: how releases and recovery name it."""
        ...

    @property
    def records(self) -> tuple[RecordRef, ...]: ...

    @property
    def recovery_key(self) -> bytes:
        """The one-time X25519 public key (raw 32 bytes) released shares are encrypted to."""
        ...

    @property
    def not_after(self) -> float:
        """Expiry, seconds since the epoch: no release at or after it."""
        ...


class AuthorisationVerifier(Protocol):
    """Decides, for one custodian, whether an authorisation is genuine and current."""

    def verify(self, authorisation: ReleaseAuthorisation, now: float) -> None:
        """Return if genuine and unexpired at ``now``; raise :class:`AuthorisationError`."""
        ...


def _statement(authorisation_id: str, issuer: str, records: tuple[RecordRef, ...],
               recovery_key: bytes, not_after: float) -> dict:
    return {
        "format": AUTHORISATION_FORMAT,
        "id": authorisation_id,
        "issuer": issuer,
        "records": [r.to_json() for r in records],
        "recovery_key": recovery_key.hex(),
        "not_after": not_after,
    }


@dataclass(frozen=True)
class SignedAuthorisation:
    """A :class:`ReleaseAuthorisation` signed with Ed25519 by issuer ``issuer``; every field
    is checked when it is built."""

    authorisation_id: str
    issuer: str
    records: tuple[RecordRef, ...]
    recovery_key: bytes
    not_after: float
    signature: bytes

    def __post_init__(self) -> None:
        _check_shape(self)
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_LENGTH:
            raise AuthorisationError(f"an authorisation's signature is {SIGNATURE_LENGTH} "
                                     "bytes")

    def unsigned_json(self) -> dict:
        return _statement(self.authorisation_id, self.issuer, self.records, self.recovery_key,
                          self.not_after)

    def signed_bytes(self) -> bytes:
        return rfc8785.dumps(self.unsigned_json())

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.signed_bytes()).digest()

    def to_json(self) -> dict:
        return {**self.unsigned_json(), "signature": self.signature.hex()}

    @classmethod
    def issue(cls, issuer: str, key: Ed25519PrivateKey, authorisation_id: str,
              records: tuple[RecordRef, ...], recovery_key: bytes,
              not_after: float) -> SignedAuthorisation:
        records = tuple(records)
        shape = _Shape(authorisation_id, issuer, records, recovery_key, _expiry(not_after))
        _check_shape(shape)
        statement = _statement(authorisation_id, issuer, records, recovery_key,
                               shape.not_after)
        return cls(authorisation_id, issuer, records, recovery_key, shape.not_after,
                   key.sign(rfc8785.dumps(statement)))

    @classmethod
    def from_json(cls, data: object) -> SignedAuthorisation:
        strictjson.fields(data, {"format": str, "id": str, "issuer": str, "records": list,
                                 "recovery_key": str, "not_after": (int, float),
                                 "signature": str},
                          what="authorisation", error=AuthorisationError)
        if data["format"] != AUTHORISATION_FORMAT:
            raise AuthorisationError(f"unknown authorisation format {data['format']!r}")
        if not 1 <= len(data["records"]) <= MAX_RECORDS:
            raise AuthorisationError(f"an authorisation names 1..{MAX_RECORDS} records")
        return cls(data["id"], data["issuer"],
                   tuple(RecordRef.from_json(r) for r in data["records"]),
                   _hex(data["recovery_key"], "recovery_key"), _expiry(data["not_after"]),
                   _hex(data["signature"], "signature"))


@dataclass(frozen=True)
class _Shape:
    """The fields :func:`_check_shape` reads, before a signature exists."""

    authorisation_id: str
    issuer: str
    records: tuple[RecordRef, ...]
    recovery_key: bytes
    not_after: float


def _expiry(value: object) -> float:
    """``not_after`` as a float: a finite number, or an authorisation that never expires."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthorisationError("not_after must be a number of seconds since the epoch")
    try:
        expiry = float(value)
    except OverflowError:
        expiry = math.inf
    if not math.isfinite(expiry):
        raise AuthorisationError("not_after must be finite: an authorisation always expires")
    return expiry


def check_recovery_key(key: object, error: type[Exception] = AuthorisationError) -> bytes:
    """``key`` if it is a raw X25519 public key that is not of small order."""
    if not isinstance(key, bytes) or len(key) != 32:
        raise error("the recovery key is a 32-byte X25519 public key")
    if is_small_order(key):
        raise error("the recovery key is a small-order X25519 point (RFC 7748, section "
                    "6.1): anything sealed to it would be readable by anyone")
    return key


def _check_shape(a: SignedAuthorisation | _Shape) -> None:
    check_id(a.authorisation_id, "authorisation id")
    check_id(a.issuer, "authorisation issuer")
    if not isinstance(a.records, tuple) or not all(isinstance(r, RecordRef)
                                                   for r in a.records):
        raise AuthorisationError("an authorisation's records are a tuple of RecordRef")
    if not 1 <= len(a.records) <= MAX_RECORDS:
        raise AuthorisationError(f"an authorisation names 1..{MAX_RECORDS} records")
    if len({(r.record_digest, r.context_digest) for r in a.records}) != len(a.records):
        raise AuthorisationError("an authorisation names each record (under one context) "
                                 "once")
    check_recovery_key(a.recovery_key)
    _expiry(a.not_after)
    if isinstance(a.not_after, bool) or not isinstance(a.not_after, float):
        raise AuthorisationError("not_after must be a float of seconds since the epoch")


class TrustedIssuers:
    """An :class:`AuthorisationVerifier` for :class:`SignedAuthorisation`: the issuer's
    Ed25519 key must be one this custodian trusts, and the signature must cover exactly
    the canonical encoding."""

    def __init__(self, issuers: Mapping[str, bytes]) -> None:
        self._issuers = {name: Ed25519PublicKey.from_public_bytes(key)
                         for name, key in issuers.items()}

    def verify(self, authorisation: ReleaseAuthorisation, now: float) -> None:
        if not isinstance(authorisation, SignedAuthorisation):
            raise AuthorisationError("this custodian accepts only signed authorisations")
        key = self._issuers.get(authorisation.issuer)
        if key is None:
            raise AuthorisationError(
                f"authorisation {authorisation.authorisation_id}: issuer "
                f"{authorisation.issuer!r} is not trusted by this custodian"
            )
        try:
            key.verify(authorisation.signature, authorisation.signed_bytes())
        except InvalidSignature:
            raise AuthorisationError(
                f"authorisation {authorisation.authorisation_id}: signature does not verify"
            ) from None
        if now >= authorisation.not_after:
            raise AuthorisationError(
                f"authorisation {authorisation.authorisation_id} expired"
            )
