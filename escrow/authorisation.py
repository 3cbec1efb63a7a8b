"""Release authorisations: what a custodian must be shown before it releases a share
(DESIGN.md, "Data flow" 5; issue 5, "Release and recovery").

:class:`ReleaseAuthorisation` is the small typed interface the release
function relies on: an id, the records it names (:class:`RecordRef`: the
record's SHA-256 and the context it must carry), the one-time X25519 recovery
key the shares go to, and an expiry. :class:`AuthorisationVerifier` decides
whether one is genuine. The warrant portal supplies its own implementations
(judge-signed warrants, log inclusion proofs); this module ships the minimal
one: :class:`SignedAuthorisation`, an Ed25519 signature by a trusted issuer
over the RFC 8785 canonical encoding, checked by :class:`TrustedIssuers`.
"""

from __future__ import annotations

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

from escrow.errors import AuthorisationError

AUTHORISATION_FORMAT = "escrowlab-release-authorisation-v1"
MAX_RECORDS = 100_000
MAX_CHAIN_NUMBER = 2**32 - 1  # a u32 on the wire
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


@dataclass(frozen=True)
class RecordRef:
    """One escrow record an authorisation names, with the context it must have."""

    conversation_id: str
    sender: str
    recipient: str
    chain_number: int
    record_digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.record_digest, bytes) or len(self.record_digest) != 32:
            raise AuthorisationError("a record reference names a 32-byte SHA-256 digest")
        if not isinstance(self.chain_number, int) or isinstance(self.chain_number, bool) \
                or not 0 <= self.chain_number <= MAX_CHAIN_NUMBER:
            raise AuthorisationError(f"a record reference's chain number is an integer in "
                                     f"0..{MAX_CHAIN_NUMBER}")
        for text in (self.conversation_id, self.sender, self.recipient):
            if not isinstance(text, str) or not text:
                raise AuthorisationError("a record reference names conversation, sender and "
                                         "recipient")

    def to_json(self) -> dict:
        return {"conversation_id": self.conversation_id, "sender": self.sender,
                "recipient": self.recipient, "chain_number": self.chain_number,
                "record_sha256": self.record_digest.hex()}

    @classmethod
    def from_json(cls, data: object) -> RecordRef:
        keys = {"conversation_id", "sender", "recipient", "chain_number", "record_sha256"}
        if not isinstance(data, dict) or set(data) != keys:
            raise AuthorisationError("a record reference has exactly: " + ", ".join(sorted(keys)))
        try:
            digest = bytes.fromhex(data["record_sha256"])
        except (TypeError, ValueError):
            raise AuthorisationError("record_sha256 must be hex") from None
        return cls(data["conversation_id"], data["sender"], data["recipient"],
                   data["chain_number"], digest)


@runtime_checkable
class ReleaseAuthorisation(Protocol):
    """What :func:`escrow.release.release_share` needs to know about an authorisation."""

    @property
    def authorisation_id(self) -> str: ...

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


@dataclass(frozen=True)
class SignedAuthorisation:
    """A :class:`ReleaseAuthorisation` signed with Ed25519 by issuer ``issuer``."""

    authorisation_id: str
    issuer: str
    records: tuple[RecordRef, ...]
    recovery_key: bytes
    not_after: float
    signature: bytes

    def unsigned_json(self) -> dict:
        return {
            "format": AUTHORISATION_FORMAT,
            "id": self.authorisation_id,
            "issuer": self.issuer,
            "records": [r.to_json() for r in self.records],
            "recovery_key": self.recovery_key.hex(),
            "not_after": self.not_after,
        }

    def signed_bytes(self) -> bytes:
        return rfc8785.dumps(self.unsigned_json())

    def to_json(self) -> dict:
        return {**self.unsigned_json(), "signature": self.signature.hex()}

    @classmethod
    def issue(cls, issuer: str, key: Ed25519PrivateKey, authorisation_id: str,
              records: tuple[RecordRef, ...], recovery_key: bytes,
              not_after: float) -> SignedAuthorisation:
        unsigned = cls(authorisation_id, issuer, tuple(records), recovery_key,
                       _expiry(not_after), b"")
        _check_shape(unsigned)
        return cls(authorisation_id, issuer, tuple(records), recovery_key, unsigned.not_after,
                   key.sign(unsigned.signed_bytes()))

    @classmethod
    def from_json(cls, data: object) -> SignedAuthorisation:
        keys = {"format", "id", "issuer", "records", "recovery_key", "not_after", "signature"}
        if not isinstance(data, dict) or set(data) != keys:
            raise AuthorisationError("an authorisation has exactly: " + ", ".join(sorted(keys)))
        if data["format"] != AUTHORISATION_FORMAT:
            raise AuthorisationError(f"unknown authorisation format {data['format']!r}")
        if not isinstance(data["records"], list):
            raise AuthorisationError("records must be a list")
        not_after = _expiry(data["not_after"])
        try:
            recovery_key = bytes.fromhex(data["recovery_key"])
            signature = bytes.fromhex(data["signature"])
        except (TypeError, ValueError):
            raise AuthorisationError("recovery_key and signature must be hex") from None
        authorisation = cls(data["id"], data["issuer"],
                            tuple(RecordRef.from_json(r) for r in data["records"]),
                            recovery_key, not_after, signature)
        _check_shape(authorisation)
        return authorisation


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


def _check_shape(a: SignedAuthorisation) -> None:
    for label, value in (("id", a.authorisation_id), ("issuer", a.issuer)):
        if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
            raise AuthorisationError(f"authorisation {label} must be 1..64 characters of "
                                     "letters, digits, '.', '_', ':' or '-'")
    if not 1 <= len(a.records) <= MAX_RECORDS:
        raise AuthorisationError(f"an authorisation names 1..{MAX_RECORDS} records")
    if len({r.record_digest for r in a.records}) != len(a.records):
        raise AuthorisationError("an authorisation names each record once")
    if not isinstance(a.recovery_key, bytes) or len(a.recovery_key) != 32:
        raise AuthorisationError("the recovery key is a 32-byte X25519 public key")
    _expiry(a.not_after)


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
        _check_shape(authorisation)
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
