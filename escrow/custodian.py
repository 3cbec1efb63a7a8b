"""Custodians: who holds a share of every escrowed chain key (docs/architecture.md, "Escrow modes").

A custodian has an id, a display name, a jurisdiction tag, an X25519 key that
shares are encrypted to, and an Ed25519 key that signs what it releases.
:class:`CustodianPublic` is what a custodian set publishes;
:class:`CustodianKeys` is the private half, which never leaves the custodian
(it is stored encrypted at rest by :mod:`escrow.keystore` and backed up as
SLIP-39 mnemonics by :mod:`escrow.ceremony`).

A share key that is a small-order X25519 point (RFC 7748, section 6.1;
:func:`escrow.sealing.is_small_order`) is refused: shares sealed to it would be
readable by anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

import strictjson
from escrow.errors import CustodianSetError, KeystoreError
from escrow.sealing import is_small_order

KEY_LENGTH = 32
PRIVATE_KEYS_LENGTH = 2 * KEY_LENGTH  # X25519 private || Ed25519 private
MAX_TEXT_LENGTH = 64
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def check_custodian_id(custodian_id: object) -> str:
    """``custodian_id`` if it is 1..32 ASCII letters, digits, '.', '_' or '-'."""
    if not isinstance(custodian_id, str) or not _ID_PATTERN.fullmatch(custodian_id):
        raise CustodianSetError(
            "a custodian id is 1..32 characters of letters, digits, '.', '_' or '-'"
        )
    return custodian_id


@dataclass(frozen=True)
class CustodianPublic:
    """A custodian as a set lists it: identity, jurisdiction and public keys."""

    custodian_id: str
    name: str
    jurisdiction: str
    share_key: bytes  # X25519 public key, raw 32 bytes
    signing_key: bytes  # Ed25519 public key, raw 32 bytes

    def __post_init__(self) -> None:
        check_custodian_id(self.custodian_id)
        for label, text in (("name", self.name), ("jurisdiction", self.jurisdiction)):
            strictjson.text(text, what=f"custodian {self.custodian_id}: {label}",
                            error=CustodianSetError)
            if not 1 <= len(text) <= MAX_TEXT_LENGTH or not text.isprintable():
                raise CustodianSetError(
                    f"custodian {self.custodian_id}: {label} must be 1..{MAX_TEXT_LENGTH} "
                    "printable characters"
                )
        for label, key in (("share key", self.share_key), ("signing key", self.signing_key)):
            if not isinstance(key, bytes) or len(key) != KEY_LENGTH:
                raise CustodianSetError(
                    f"custodian {self.custodian_id}: {label} must be {KEY_LENGTH} bytes"
                )
        if is_small_order(self.share_key):
            raise CustodianSetError(f"custodian {self.custodian_id}: the share key is a "
                                    "small-order X25519 point (RFC 7748, section 6.1)")

    def to_json(self) -> dict:
        return {
            "id": self.custodian_id,
            "name": self.name,
            "jurisdiction": self.jurisdiction,
            "share_key": self.share_key.hex(),
            "signing_key": self.signing_key.hex(),
        }

    @classmethod
    def from_json(cls, data: object) -> CustodianPublic:
        strictjson.fields(data, {"id": str, "name": str, "jurisdiction": str,
                                 "share_key": str, "signing_key": str},
                          what="custodian", error=CustodianSetError)
        try:
            share_key = bytes.fromhex(data["share_key"])
            signing_key = bytes.fromhex(data["signing_key"])
        except ValueError as exc:
            raise CustodianSetError("custodian keys must be hex strings") from exc
        return cls(data["id"], data["name"], data["jurisdiction"], share_key, signing_key)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when ``signature`` is this custodian's Ed25519 signature over ``data``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.signing_key).verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class CustodianKeys:
    """A custodian's private keys. No ``repr``: it is a secret."""

    share_private: X25519PrivateKey = field(repr=False)
    signing_private: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> CustodianKeys:
        return cls(X25519PrivateKey.generate(), Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, data: bytes) -> CustodianKeys:
        """The inverse of :meth:`private_bytes` (64 bytes: X25519 || Ed25519)."""
        if not isinstance(data, bytes) or len(data) != PRIVATE_KEYS_LENGTH:
            raise KeystoreError(f"custodian private keys are {PRIVATE_KEYS_LENGTH} bytes")
        return cls(
            X25519PrivateKey.from_private_bytes(data[:KEY_LENGTH]),
            Ed25519PrivateKey.from_private_bytes(data[KEY_LENGTH:]),
        )

    def private_bytes(self) -> bytes:
        return (self.share_private.private_bytes_raw()
                + self.signing_private.private_bytes_raw())

    @property
    def share_public(self) -> bytes:
        return self.share_private.public_key().public_bytes_raw()

    @property
    def signing_public(self) -> bytes:
        return self.signing_private.public_key().public_bytes_raw()

    def exchange(self, peer_public: bytes) -> bytes:
        """X25519 with ``peer_public`` (raw 32 bytes)."""
        return self.share_private.exchange(X25519PublicKey.from_public_bytes(peer_public))

    def sign(self, data: bytes) -> bytes:
        return self.signing_private.sign(data)

    def matches(self, public: CustodianPublic) -> bool:
        """True when these private keys belong to ``public``."""
        return (self.share_public == public.share_key
                and self.signing_public == public.signing_key)


@dataclass(frozen=True)
class Custodian:
    """A custodian able to act: its published description and its private keys."""

    public: CustodianPublic
    keys: CustodianKeys = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys.matches(self.public):
            raise KeystoreError(
                f"the private keys do not belong to custodian {self.public.custodian_id}"
            )

    @property
    def custodian_id(self) -> str:
        return self.public.custodian_id

    @classmethod
    def generate(cls, custodian_id: str, name: str, jurisdiction: str) -> Custodian:
        keys = CustodianKeys.generate()
        public = CustodianPublic(custodian_id, name, jurisdiction,
                                 keys.share_public, keys.signing_public)
        return cls(public, keys)
