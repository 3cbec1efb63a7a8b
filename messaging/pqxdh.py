"""PQXDH key agreement (Signal, "The PQXDH Key Agreement Protocol", revision 3).

Parameters (section 2.2): curve X25519, hash SHA-256, KEM ML-KEM-768 (FIPS 203,
from ``cryptography``), info :data:`PQXDH_INFO`. escrowlab differs from the
spec's example parameters in two documented ways: ML-KEM-768 instead of
Kyber-1024, and identities that are an Ed25519/X25519 pair bound by a signature
(see :mod:`messaging.identity`) instead of one XEdDSA key.

- Prekeys (section 3.2): a signed X25519 prekey, one-time X25519 prekeys, signed
  one-time ML-KEM prekeys and a signed last-resort ML-KEM prekey. Every prekey
  signature covers the protocol version, the prekey's kind and id, the escrow
  mode the device runs, and the key, so a relay can neither substitute a key
  nor flip the advertised mode (scenario S18).
- Sending the initial message (section 3.3): DH1 = DH(IK_A, SPK_B),
  DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B) when a
  one-time prekey was handed out (bundles without one are accepted, as the spec
  allows), (CT, SS) = ML-KEM-768.Encaps(PQPK_B), and
  SK = KDF(DH1 || DH2 || DH3 [|| DH4] || SS).
- KDF (section 2.2): HKDF-SHA-256 with a zero-filled 32-byte salt over
  ``F || KM`` where F is 32 0xFF bytes, 32 bytes of output.
- AD = Encode(IK_A) || Encode(IK_B) (section 3.3); the ratchet binds more
  context on top of it (see :mod:`messaging.session`), among it the bytes of
  this block (:meth:`PrekeyBlock.encode`) in every message that repeats it,
  since only the first message authenticates the block through SK (section
  3.4; see :mod:`messaging.ratchet`).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import strictjson
from messaging.codec import hex_bytes
from messaging.errors import HandshakeError, StateError
from messaging.identity import (
    IDENTITY_PUBLIC_LENGTH,
    SIGNATURE_LENGTH,
    IdentityKeyPair,
    IdentityPublic,
)
from messaging.limits import (
    DEFAULT_KEM_PREKEYS,
    DEFAULT_ONE_TIME_PREKEYS,
    MAX_PREKEY_ID,
    MAX_PREKEYS_PER_UPLOAD,
    PROTOCOL_VERSION,
)
from messaging.mode_id import validate_mode_id

PQXDH_INFO = b"escrowlab_PQXDH_CURVE25519_SHA-256_ML-KEM-768"
KDF_F = b"\xff" * 32
KDF_SALT = b"\x00" * 32
PREKEY_SIGNATURE_LABEL = b"escrowlab prekey v1"
X25519_KEY_LENGTH = 32
MLKEM768_PUBLIC_LENGTH = 1184
MLKEM768_CIPHERTEXT_LENGTH = 1088
MLKEM768_SEED_LENGTH = 64  # private keys are kept as the seed d || z (FIPS 203 section 7.1)

KIND_SIGNED_EC = 1
KIND_KEM_ONE_TIME = 2
KIND_KEM_LAST_RESORT = 3


def derive_secret(key_material: bytes, info: bytes = PQXDH_INFO, length: int = 32) -> bytes:
    """PQXDH section 2.2 ``KDF(KM)``: HKDF-SHA-256(salt = 0^32, IKM = F || KM, info)."""
    return HKDF(hashes.SHA256(), length, KDF_SALT, info).derive(KDF_F + key_material)


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


@dataclass(frozen=True)
class PrekeyBlock:
    """The PQXDH part of an initial message (section 3.3): who, EK_A, which prekeys, CT."""

    identity: IdentityPublic
    ephemeral_key: bytes
    signed_prekey_id: int
    one_time_prekey_id: int | None
    kem_prekey_id: int
    kem_ciphertext: bytes

    def encode(self) -> bytes:
        """The block's bytes as the wire carries them (layout in :mod:`messaging.wire`):
        what a prekey message's associated data binds (:mod:`messaging.ratchet`)."""
        one_time = (b"\x00" if self.one_time_prekey_id is None
                    else b"\x01" + struct.pack(">I", self.one_time_prekey_id))
        return (self.identity.encode() + self.ephemeral_key
                + struct.pack(">I", self.signed_prekey_id) + one_time
                + struct.pack(">I", self.kem_prekey_id) + self.kem_ciphertext)


@dataclass(frozen=True)
class Agreement:
    """The result of PQXDH for one side: the shared secret and the spec's AD."""

    shared_secret: bytes
    associated_data: bytes


def initiate(identity: IdentityKeyPair, bundle: PrekeyBundle) -> tuple[Agreement, PrekeyBlock]:
    """Section 3.3, the initiator: verify the bundle, compute SK, build the prekey block."""
    bundle.verify()
    ephemeral = X25519PrivateKey.generate()
    try:
        spk = X25519PublicKey.from_public_bytes(bundle.signed_prekey.public_key)
        key_material = (
            identity.dh(spk)
            + ephemeral.exchange(bundle.identity.x25519())
            + ephemeral.exchange(spk)
        )
        if bundle.one_time_prekey is not None:
            key_material += ephemeral.exchange(
                X25519PublicKey.from_public_bytes(bundle.one_time_prekey.public_key)
            )
    except ValueError as exc:  # all-zero output: a small-order point (RFC 7748 section 6.1)
        raise HandshakeError("the bundle holds an invalid X25519 public key") from exc
    try:
        kem_public = mlkem.MLKEM768PublicKey.from_public_bytes(bundle.kem_prekey.public_key)
    except ValueError as exc:
        raise HandshakeError("the bundle's ML-KEM-768 prekey is not a valid public key") from exc
    kem_secret, kem_ciphertext = kem_public.encapsulate()
    key_material += kem_secret
    agreement = Agreement(
        derive_secret(key_material), identity.public.encode() + bundle.identity.encode()
    )
    block = PrekeyBlock(
        identity.public,
        ephemeral.public_key().public_bytes_raw(),
        bundle.signed_prekey.key_id,
        bundle.one_time_prekey.key_id if bundle.one_time_prekey else None,
        bundle.kem_prekey.key_id,
        kem_ciphertext,
    )
    return agreement, block


class DevicePrekeys:
    """A device's private prekeys (PQXDH section 3.2). Holds secrets: no useful ``repr``.

    ``respond`` never deletes anything; the session layer calls :meth:`consume`
    only once the initial message decrypted, so a bad message changes nothing.
    """

    def __init__(
        self,
        identity: IdentityKeyPair,
        mode: str,
        signed_prekey: tuple[int, X25519PrivateKey],
        one_time: dict[int, X25519PrivateKey],
        kem_one_time: dict[int, mlkem.MLKEM768PrivateKey],
        kem_last_resort: tuple[int, mlkem.MLKEM768PrivateKey],
        next_id: int,
    ) -> None:
        self.identity = identity
        self.mode = validate_mode_id(mode)
        self._signed_prekey = signed_prekey
        self._one_time = one_time
        self._kem_one_time = kem_one_time
        self._kem_last_resort = kem_last_resort
        self._next_id = next_id

    def __repr__(self) -> str:
        return f"DevicePrekeys(mode={self.mode!r}, remaining={self.remaining()})"

    @classmethod
    def generate(
        cls, identity: IdentityKeyPair, mode: str, one_time: int = DEFAULT_ONE_TIME_PREKEYS,
        kem_one_time: int = DEFAULT_KEM_PREKEYS
    ) -> DevicePrekeys:
        prekeys = cls(identity, mode, (1, X25519PrivateKey.generate()), {}, {},
                      (2, mlkem.MLKEM768PrivateKey.generate()), 3)
        prekeys._add(one_time, kem_one_time)
        return prekeys

    def _allocate_id(self) -> int:
        key_id = self._next_id
        if key_id > MAX_PREKEY_ID:
            raise StateError("prekey ids exhausted")
        self._next_id += 1
        return key_id

    def _add(self, one_time: int, kem_one_time: int) -> tuple[list[int], list[int]]:
        new_ec = [self._allocate_id() for _ in range(one_time)]
        for key_id in new_ec:
            self._one_time[key_id] = X25519PrivateKey.generate()
        new_kem = [self._allocate_id() for _ in range(kem_one_time)]
        for key_id in new_kem:
            self._kem_one_time[key_id] = mlkem.MLKEM768PrivateKey.generate()
        return new_ec, new_kem

    def _sign(self, kind: int, key_id: int, public_key: bytes) -> SignedPrekey:
        payload = prekey_signature_payload(kind, self.mode, key_id, public_key)
        return SignedPrekey(key_id, public_key, self.identity.sign(payload))

    def _upload(self, one_time_ids: list[int], kem_ids: list[int]) -> PrekeyUpload:
        spk_id, spk = self._signed_prekey
        last_id, last = self._kem_last_resort
        return PrekeyUpload(
            self.identity.public,
            self.mode,
            self._sign(KIND_SIGNED_EC, spk_id, spk.public_key().public_bytes_raw()),
            tuple(OneTimePrekey(i, self._one_time[i].public_key().public_bytes_raw())
                  for i in one_time_ids),
            tuple(self._sign(KIND_KEM_ONE_TIME, i,
                             self._kem_one_time[i].public_key().public_bytes_raw())
                  for i in kem_ids),
            self._sign(KIND_KEM_LAST_RESORT, last_id, last.public_key().public_bytes_raw()),
        )

    def upload(self) -> PrekeyUpload:
        """Every public prekey this device still holds."""
        return self._upload(sorted(self._one_time), sorted(self._kem_one_time))

    def replenish(self, one_time: int, kem_one_time: int) -> PrekeyUpload:
        """Generate more one-time prekeys; the upload carries only the new ones."""
        return self._upload(*self._add(one_time, kem_one_time))

    def remaining(self) -> tuple[int, int]:
        """(one-time X25519 prekeys, one-time ML-KEM prekeys) not yet consumed."""
        return len(self._one_time), len(self._kem_one_time)

    def respond(self, block: PrekeyBlock) -> tuple[Agreement, X25519PrivateKey]:
        """Section 3.4, the responder: recompute SK from the prekey block.

        Returns the agreement and the signed prekey's private key, which becomes
        the responder's first ratchet key pair (Double Ratchet section 7.1).
        Raises ``HandshakeError`` for an unknown or already-used prekey id.
        """
        IdentityPublic.decode(block.identity.encode())  # verifies the key binding
        spk_id, spk = self._signed_prekey
        if block.signed_prekey_id != spk_id:
            raise HandshakeError(f"unknown signed prekey id {block.signed_prekey_id}")
        one_time = None
        if block.one_time_prekey_id is not None:
            one_time = self._one_time.get(block.one_time_prekey_id)
            if one_time is None:
                raise HandshakeError(
                    f"one-time prekey {block.one_time_prekey_id} is unknown or already used"
                )
        try:
            ephemeral = X25519PublicKey.from_public_bytes(block.ephemeral_key)
            key_material = (
                spk.exchange(block.identity.x25519())
                + self.identity.dh(ephemeral)
                + spk.exchange(ephemeral)
            )
            if one_time is not None:
                key_material += one_time.exchange(ephemeral)
        except ValueError as exc:  # all-zero output: a small-order point (RFC 7748 section 6.1)
            raise HandshakeError("the initial message holds an invalid X25519 public key") \
                from exc
        if block.kem_prekey_id == self._kem_last_resort[0]:
            kem = self._kem_last_resort[1]
        else:
            kem = self._kem_one_time.get(block.kem_prekey_id)
            if kem is None:
                raise HandshakeError(
                    f"ML-KEM prekey {block.kem_prekey_id} is unknown or already used"
                )
        key_material += kem.decapsulate(block.kem_ciphertext)
        agreement = Agreement(
            derive_secret(key_material), block.identity.encode() + self.identity.public.encode()
        )
        return agreement, spk

    def consume(self, block: PrekeyBlock) -> None:
        """Delete the one-time prekeys an accepted initial message used (section 3.4)."""
        if block.one_time_prekey_id is not None:
            self._one_time.pop(block.one_time_prekey_id, None)
        self._kem_one_time.pop(block.kem_prekey_id, None)

    def serialize(self) -> bytes:
        """All private prekeys, for an encrypted store only."""
        spk_id, spk = self._signed_prekey
        last_id, last = self._kem_last_resort
        return json.dumps({
            "v": 1,
            "identity": self.identity.private_bytes().hex(),
            "mode": self.mode,
            "spk": [spk_id, spk.private_bytes_raw().hex()],
            "otk": {str(i): k.private_bytes_raw().hex() for i, k in self._one_time.items()},
            "kem": {str(i): k.private_bytes_raw().hex() for i, k in self._kem_one_time.items()},
            "last": [last_id, last.private_bytes_raw().hex()],
            "next": self._next_id,
        }, sort_keys=True).encode()

    @classmethod
    def deserialize(cls, data: bytes) -> DevicePrekeys:
        """Parse strictly, else ``StateError``: :func:`strictjson.loads`, exact fields and
        types, canonical distinct ids below ``next``, keys of their exact lengths in
        lowercase hex, and the canonical bytes :meth:`serialize` writes (so what parses is
        exactly the prekeys it encodes)."""
        what = "stored prekey state"
        if not isinstance(data, bytes):
            raise StateError(f"{what} is bytes, not {type(data).__name__}")
        obj = strictjson.fields(
            strictjson.loads(data, what=what, error=StateError),
            {"v": int, "identity": str, "mode": str, "spk": list, "otk": dict, "kem": dict,
             "last": list, "next": int}, what=what, error=StateError)
        if obj["v"] != 1:
            raise StateError(f"unknown {what} version {obj['v']}")
        try:
            mode = validate_mode_id(obj["mode"])
        except ValueError as exc:
            raise StateError(f"{what}: {exc}") from None
        identity = IdentityKeyPair.from_private_bytes(
            hex_bytes(obj["identity"], what=f"{what} identity", error=StateError,
                      length=2 * X25519_KEY_LENGTH))
        spk_id, spk = _stored_pair(obj["spk"], X25519_KEY_LENGTH)
        last_id, last = _stored_pair(obj["last"], MLKEM768_SEED_LENGTH)
        one_time = {_stored_key(i): _stored_secret(k, X25519_KEY_LENGTH)
                    for i, k in obj["otk"].items()}
        kem = {_stored_key(i): _stored_secret(k, MLKEM768_SEED_LENGTH)
               for i, k in obj["kem"].items()}
        ids = [spk_id, last_id, *one_time, *kem]
        next_id = _stored_id(obj["next"], MAX_PREKEY_ID + 1)
        if len(set(ids)) != len(ids) or next_id <= max(ids):
            raise StateError("stored prekey ids repeat or are not below the next id")
        prekeys = cls(
            identity, mode,
            (spk_id, X25519PrivateKey.from_private_bytes(spk)),
            {i: X25519PrivateKey.from_private_bytes(k) for i, k in one_time.items()},
            {i: mlkem.MLKEM768PrivateKey.from_seed_bytes(k) for i, k in kem.items()},
            (last_id, mlkem.MLKEM768PrivateKey.from_seed_bytes(last)),
            next_id,
        )
        if prekeys.serialize() != data:
            raise StateError(f"{what} is not in its canonical encoding")
        return prekeys


def _stored_key(key: str) -> int:
    """A prekey id stored as a JSON object key: its canonical decimal string."""
    if not (key.isascii() and key.isdecimal() and len(key) <= len(str(MAX_PREKEY_ID))
            and str(int(key)) == key):
        raise StateError("stored prekey id is not a canonical decimal")
    return _stored_id(int(key))


def _stored_id(value: object, maximum: int = MAX_PREKEY_ID) -> int:
    if type(value) is not int or not 0 <= value <= maximum:
        raise StateError(f"stored prekey id is not an integer in 0..{maximum}")
    return value


def _stored_secret(value: object, length: int) -> bytes:
    return hex_bytes(value, what="a stored private prekey", error=StateError, length=length)


def _stored_pair(value: list, length: int) -> tuple[int, bytes]:
    if len(value) != 2:
        raise StateError("a stored prekey is [id, private key]")
    return _stored_id(value[0]), _stored_secret(value[1], length)


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
