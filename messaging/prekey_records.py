"""The public prekey records of PQXDH (Signal, "The PQXDH Key Agreement Protocol",
revision 3, section 3.2): what a device publishes (:class:`PrekeyUpload`) and what an
initiator fetches for one device (:class:`PrekeyBundle`), with their JSON forms.

A device publishes a signed X25519 prekey, one-time X25519 prekeys, signed one-time
ML-KEM prekeys and a signed last-resort ML-KEM prekey. Every prekey signature covers
the protocol version, the prekey's kind and id, the escrow mode the device runs, and
the key (:func:`prekey_signature_payload`), so a relay can neither substitute a key
nor flip the advertised mode (scenario S18). Parsing is strict: exact fields and
types, lowercase hex, bounded lists, and every signature verified, else
``HandshakeError``. The handshake that uses a bundle is :mod:`messaging.pqxdh`; the
private halves are :mod:`messaging.prekey_state`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import strictjson
from messaging.codec import hex_bytes
from messaging.errors import HandshakeError
from messaging.identity import IDENTITY_PUBLIC_LENGTH, SIGNATURE_LENGTH, IdentityPublic
from messaging.limits import MAX_PREKEY_ID, MAX_PREKEYS_PER_UPLOAD, PROTOCOL_VERSION
from messaging.mode_id import validate_mode_id

PREKEY_SIGNATURE_LABEL = b"escrowlab prekey v1"
X25519_KEY_LENGTH = 32
MLKEM768_PUBLIC_LENGTH = 1184

KIND_SIGNED_EC = 1
KIND_KEM_ONE_TIME = 2
KIND_KEM_LAST_RESORT = 3


def prekey_signature_payload(kind: int, mode: str, key_id: int, public_key: bytes) -> bytes:
    """The bytes a prekey signature covers: label, version, kind, id, escrow mode, key."""
    mode_bytes = mode.encode("ascii")
    return (
        PREKEY_SIGNATURE_LABEL
        + struct.pack(">BBIB", PROTOCOL_VERSION, kind, key_id, len(mode_bytes))
        + mode_bytes
        + public_key
    )


@dataclass(frozen=True)
class SignedPrekey:
    key_id: int
    public_key: bytes
    signature: bytes

    def verify(self, identity: IdentityPublic, kind: int, mode: str) -> None:
        expected = X25519_KEY_LENGTH if kind == KIND_SIGNED_EC else MLKEM768_PUBLIC_LENGTH
        if len(self.public_key) != expected:
            raise HandshakeError(f"prekey {self.key_id} has the wrong length for its kind")
        identity.verify(
            self.signature, prekey_signature_payload(kind, mode, self.key_id, self.public_key)
        )

    def to_json(self) -> dict:
        return {"id": self.key_id, "key": self.public_key.hex(), "sig": self.signature.hex()}

    @classmethod
    def from_json(cls, data: object, what: str = "signed prekey") -> SignedPrekey:
        """Parse exactly ``{id, key, sig}``; the signature is checked by :meth:`verify`."""
        strictjson.fields(data, {"id": int, "key": str, "sig": str}, what=what,
                          error=HandshakeError)
        return cls(_prekey_id(data["id"], what),
                   _hex(data["key"], f"{what} key", max_length=MLKEM768_PUBLIC_LENGTH),
                   _hex(data["sig"], f"{what} signature", length=SIGNATURE_LENGTH))


@dataclass(frozen=True)
class OneTimePrekey:
    key_id: int
    public_key: bytes

    def to_json(self) -> dict:
        return {"id": self.key_id, "key": self.public_key.hex()}

    @classmethod
    def from_json(cls, data: object, what: str = "one-time prekey") -> OneTimePrekey:
        """Parse exactly ``{id, key}``, the key 32 bytes."""
        strictjson.fields(data, {"id": int, "key": str}, what=what, error=HandshakeError)
        return cls(_prekey_id(data["id"], what),
                   _hex(data["key"], f"{what} key", length=X25519_KEY_LENGTH))


@dataclass(frozen=True)
class PrekeyBundle:
    """What an initiator fetches for one device (PQXDH section 3.2)."""

    identity: IdentityPublic
    mode: str
    signed_prekey: SignedPrekey
    kem_prekey: SignedPrekey
    kem_last_resort: bool
    one_time_prekey: OneTimePrekey | None

    def verify(self) -> None:
        """Check the identity binding, then both prekey signatures (section 3.3: "Alice
        verifies the signatures"); the bound DH key is what DH2 uses."""
        IdentityPublic.decode(self.identity.encode())
        validate_mode_id(self.mode)
        self.signed_prekey.verify(self.identity, KIND_SIGNED_EC, self.mode)
        kem_kind = KIND_KEM_LAST_RESORT if self.kem_last_resort else KIND_KEM_ONE_TIME
        self.kem_prekey.verify(self.identity, kem_kind, self.mode)

    def to_json(self) -> dict:
        return {
            "identity": self.identity.encode().hex(),
            "mode": self.mode,
            "signed_prekey": self.signed_prekey.to_json(),
            "kem_prekey": self.kem_prekey.to_json(),
            "kem_last_resort": self.kem_last_resort,
            "one_time_prekey": self.one_time_prekey.to_json() if self.one_time_prekey else None,
        }

    @classmethod
    def from_json(cls, data: object) -> PrekeyBundle:
        """Parse and verify a bundle (exact fields and types, lowercase hex, so that
        ``to_json()`` gives back exactly ``data``); anything else raises ``HandshakeError``."""
        what = "prekey bundle"
        strictjson.fields(data, {"identity": str, "mode": str, "signed_prekey": dict,
                                 "kem_prekey": dict, "kem_last_resort": bool,
                                 "one_time_prekey": (dict, type(None))},
                          what=what, error=HandshakeError)
        one_time = data["one_time_prekey"]
        bundle = cls(
            _identity(data["identity"], what),
            _mode(data["mode"], what),
            SignedPrekey.from_json(data["signed_prekey"], f"{what} signed prekey"),
            SignedPrekey.from_json(data["kem_prekey"], f"{what} ML-KEM prekey"),
            data["kem_last_resort"],
            None if one_time is None
            else OneTimePrekey.from_json(one_time, f"{what} one-time prekey"),
        )
        bundle.verify()
        return bundle


@dataclass(frozen=True)
class PrekeyUpload:
    """The public prekeys a device publishes to the relay (PQXDH section 3.2)."""

    identity: IdentityPublic
    mode: str
    signed_prekey: SignedPrekey
    one_time_prekeys: tuple[OneTimePrekey, ...]
    kem_prekeys: tuple[SignedPrekey, ...]
    kem_last_resort: SignedPrekey

    def verify(self) -> None:
        validate_mode_id(self.mode)
        self.signed_prekey.verify(self.identity, KIND_SIGNED_EC, self.mode)
        self.kem_last_resort.verify(self.identity, KIND_KEM_LAST_RESORT, self.mode)
        for kem in self.kem_prekeys:
            kem.verify(self.identity, KIND_KEM_ONE_TIME, self.mode)

    def bundle(
        self, one_time_prekey: OneTimePrekey | None, kem_prekey: SignedPrekey | None
    ) -> PrekeyBundle:
        """The bundle for one fetch; ``kem_prekey=None`` hands out the last-resort KEM key."""
        return PrekeyBundle(
            self.identity,
            self.mode,
            self.signed_prekey,
            kem_prekey if kem_prekey is not None else self.kem_last_resort,
            kem_prekey is None,
            one_time_prekey,
        )

    def to_json(self) -> dict:
        return {
            "identity": self.identity.encode().hex(),
            "mode": self.mode,
            "signed_prekey": self.signed_prekey.to_json(),
            "one_time_prekeys": [k.to_json() for k in self.one_time_prekeys],
            "kem_prekeys": [k.to_json() for k in self.kem_prekeys],
            "kem_last_resort": self.kem_last_resort.to_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> PrekeyUpload:
        """Parse and verify an upload (exact fields and types, lowercase hex, so that
        ``to_json()`` gives back exactly ``data``); anything else raises ``HandshakeError``."""
        what = "prekey upload"
        strictjson.fields(data, {"identity": str, "mode": str, "signed_prekey": dict,
                                 "one_time_prekeys": list, "kem_prekeys": list,
                                 "kem_last_resort": dict},
                          what=what, error=HandshakeError)
        upload = cls(
            _identity(data["identity"], what),
            _mode(data["mode"], what),
            SignedPrekey.from_json(data["signed_prekey"], f"{what} signed prekey"),
            tuple(OneTimePrekey.from_json(k, f"{what} one-time prekey")
                  for k in _bounded(data["one_time_prekeys"], f"{what} one_time_prekeys")),
            tuple(SignedPrekey.from_json(k, f"{what} ML-KEM prekey")
                  for k in _bounded(data["kem_prekeys"], f"{what} kem_prekeys")),
            SignedPrekey.from_json(data["kem_last_resort"], f"{what} last-resort ML-KEM prekey"),
        )
        upload.verify()
        return upload


def _hex(value: object, what: str, length: int | None = None,
         max_length: int | None = None) -> bytes:
    return hex_bytes(value, what=what, error=HandshakeError, length=length,
                     max_length=max_length)


def _identity(value: object, what: str) -> IdentityPublic:
    return IdentityPublic.decode(_hex(value, f"{what} identity", length=IDENTITY_PUBLIC_LENGTH))


def _prekey_id(value: object, what: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_PREKEY_ID:
        raise HandshakeError(f"{what}: id must be a prekey id (0..2^32-1)")
    return value


def _mode(value: object, what: str) -> str:
    try:
        return validate_mode_id(value)
    except ValueError as exc:
        raise HandshakeError(f"{what}: {exc}") from None


def _bounded(value: list, what: str) -> list:
    if len(value) > MAX_PREKEYS_PER_UPLOAD:
        raise HandshakeError(f"{what} holds more than {MAX_PREKEYS_PER_UPLOAD} prekeys")
    return value
