"""A device's private prekey state (Signal, "The PQXDH Key Agreement Protocol",
revision 3, section 3.2): the private halves of the prekeys it published, the
uploads that publish them (:mod:`messaging.prekey_records`), their deletion once used
(section 3.4) and their strict stored form (for an encrypted store only).

The handshake that uses them is :func:`messaging.pqxdh.respond`.
"""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import strictjson
from messaging.codec import hex_bytes
from messaging.errors import HandshakeError, StateError
from messaging.identity import IdentityKeyPair
from messaging.limits import DEFAULT_KEM_PREKEYS, DEFAULT_ONE_TIME_PREKEYS, MAX_PREKEY_ID
from messaging.mode_id import validate_mode_id
from messaging.prekey_records import (
    KIND_KEM_LAST_RESORT,
    KIND_KEM_ONE_TIME,
    KIND_SIGNED_EC,
    X25519_KEY_LENGTH,
    OneTimePrekey,
    PrekeyUpload,
    SignedPrekey,
    prekey_signature_payload,
)

MLKEM768_SEED_LENGTH = 64  # private keys are kept as the seed d || z (FIPS 203 section 7.1)


class DevicePrekeys:
    """A device's private prekeys (PQXDH section 3.2). Holds secrets: no useful ``repr``.

    Looking a prekey up (what :func:`messaging.pqxdh.respond` does) never deletes
    anything; the session layer calls :meth:`consume` only once the initial message
    decrypted, so a bad message changes nothing.
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

    def signed_prekey(self, key_id: int) -> X25519PrivateKey:
        """The signed prekey's private key if ``key_id`` is its id, else ``HandshakeError``."""
        spk_id, spk = self._signed_prekey
        if key_id != spk_id:
            raise HandshakeError(f"unknown signed prekey id {key_id}")
        return spk

    def one_time_prekey(self, key_id: int) -> X25519PrivateKey:
        """The unused one-time X25519 prekey ``key_id``, else ``HandshakeError``."""
        one_time = self._one_time.get(key_id)
        if one_time is None:
            raise HandshakeError(f"one-time prekey {key_id} is unknown or already used")
        return one_time

    def kem_prekey(self, key_id: int) -> mlkem.MLKEM768PrivateKey:
        """The last-resort ML-KEM prekey or the unused one-time ML-KEM prekey ``key_id``,
        else ``HandshakeError``."""
        if key_id == self._kem_last_resort[0]:
            return self._kem_last_resort[1]
        kem = self._kem_one_time.get(key_id)
        if kem is None:
            raise HandshakeError(f"ML-KEM prekey {key_id} is unknown or already used")
        return kem

    def consume(self, one_time_prekey_id: int | None, kem_prekey_id: int) -> None:
        """Delete the one-time prekeys an accepted initial message used (section 3.4)."""
        if one_time_prekey_id is not None:
            self._one_time.pop(one_time_prekey_id, None)
        self._kem_one_time.pop(kem_prekey_id, None)

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
