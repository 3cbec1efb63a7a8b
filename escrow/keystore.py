"""Custodian private keys encrypted at rest under a passphrase.

The file is JSON. The key-encryption key is Argon2id (RFC 9106) of the
passphrase, through argon2-cffi's low-level ``hash_secret_raw``; the private
keys are sealed with AES-256-GCM (NIST SP 800-38D) under a random 96-bit
nonce, with the canonical (RFC 8785) encoding of every other field as
associated data, so the custodian's public description and the KDF parameters
cannot be edited without the file failing to open. Default parameters are
RFC 9106's second recommended option (t=3, m=64 MiB, p=4).

Destroying a key (:func:`destroy`) overwrites the file before unlinking it;
after that, records made for it can no longer be released (custodian-set rotation:
docs/architecture.md, "Escrow modes"; docs/scenarios.md, S04).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import rfc8785
from argon2.exceptions import HashingError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import strictjson
from escrow.custodian import Custodian, CustodianKeys, CustodianPublic
from escrow.errors import CustodianSetError, KeystoreError

KEYSTORE_FORMAT = "escrowlab-custodian-keystore-v1"
SALT_LENGTH = 16
NONCE_LENGTH = 12
MIN_PASSPHRASE_LENGTH = 8
MAX_FILE_LENGTH = 64 * 1024


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters; bounded so a hostile file cannot exhaust memory."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("time_cost", self.time_cost, 1, 64),
            ("memory_kib", self.memory_kib, 8 * 1024, 4 * 1024 * 1024),
            ("parallelism", self.parallelism, 1, 16),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise KeystoreError(f"argon2id {name} must be an integer in {low}..{high}")


# RFC 9106's second recommended option: the default for real custodians.
DEFAULT_KDF = KdfParams()
# Cheap parameters for tests and the narrated demo only; never for a real custodian.
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)


def check_passphrase(passphrase: str) -> None:
    """Refuse passphrases shorter than :data:`MIN_PASSPHRASE_LENGTH`."""
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise KeystoreError(f"a passphrase has at least {MIN_PASSPHRASE_LENGTH} characters")


def _derive_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    check_passphrase(passphrase)
    try:
        return hash_secret_raw(passphrase.encode("utf-8"), salt, params.time_cost,
                               params.memory_kib, params.parallelism, 32, Type.ID)
    except HashingError as exc:
        raise KeystoreError("argon2id failed with these parameters") from exc


def _header(public: CustodianPublic, params: KdfParams, salt: bytes, nonce: bytes) -> dict:
    return {
        "format": KEYSTORE_FORMAT,
        "custodian": public.to_json(),
        "kdf": {"name": "argon2id", "time_cost": params.time_cost,
                "memory_kib": params.memory_kib, "parallelism": params.parallelism,
                "salt": salt.hex()},
        "nonce": nonce.hex(),
    }


def seal(custodian: Custodian, passphrase: str, params: KdfParams = DEFAULT_KDF) -> bytes:
    """The keystore file contents for ``custodian`` under ``passphrase``."""
    salt = os.urandom(SALT_LENGTH)
    nonce = os.urandom(NONCE_LENGTH)
    header = _header(custodian.public, params, salt, nonce)
    key = _derive_key(passphrase, salt, params)
    ciphertext = AESGCM(key).encrypt(nonce, custodian.keys.private_bytes(),
                                     rfc8785.dumps(header))
    return json.dumps({**header, "ciphertext": ciphertext.hex()}, indent=2).encode() + b"\n"


def open_keystore(data: bytes, passphrase: str) -> Custodian:
    """The custodian in keystore ``data``; :class:`KeystoreError` on any problem."""
    if len(data) > MAX_FILE_LENGTH:
        raise KeystoreError("keystore file is too large")
    doc = strictjson.fields(
        strictjson.loads(data, what="keystore file", error=KeystoreError),
        {"format": str, "custodian": dict, "kdf": dict, "nonce": str, "ciphertext": str},
        what="keystore file", error=KeystoreError)
    if doc["format"] != KEYSTORE_FORMAT:
        raise KeystoreError(f"unknown keystore format {doc['format']!r}")
    kdf = strictjson.fields(doc["kdf"], {"name": str, "time_cost": int, "memory_kib": int,
                                         "parallelism": int, "salt": str},
                            what="keystore kdf", error=KeystoreError)
    if kdf["name"] != "argon2id":
        raise KeystoreError("keystore kdf must be argon2id")
    try:
        public = CustodianPublic.from_json(doc["custodian"])
        salt = bytes.fromhex(kdf["salt"])
        nonce = bytes.fromhex(doc["nonce"])
        ciphertext = bytes.fromhex(doc["ciphertext"])
    except (CustodianSetError, ValueError) as exc:
        raise KeystoreError(f"keystore file is malformed: {exc}") from None
    if len(salt) != SALT_LENGTH or len(nonce) != NONCE_LENGTH:
        raise KeystoreError("keystore salt or nonce has the wrong length")
    params = KdfParams(kdf["time_cost"], kdf["memory_kib"], kdf["parallelism"])
    key = _derive_key(passphrase, salt, params)
    try:
        private = AESGCM(key).decrypt(nonce, ciphertext,
                                      rfc8785.dumps(_header(public, params, salt, nonce)))
    except InvalidTag:
        raise KeystoreError(
            f"cannot open the keystore of custodian {public.custodian_id}: wrong passphrase "
            "or the file was altered"
        ) from None
    return Custodian(public, CustodianKeys.from_private_bytes(private))


def save(path: Path, custodian: Custodian, passphrase: str,
         params: KdfParams = DEFAULT_KDF) -> None:
    """Write the keystore to ``path`` (mode 0600, refusing to overwrite); on any failure
    no file is left behind."""
    data = seal(custodian, passphrase, params)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeystoreError(f"{path} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeystoreError(f"cannot write keystore {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        Path(path).unlink(missing_ok=True)
        raise KeystoreError(f"cannot write keystore {path}: {exc.strerror}") from None


def load(path: Path, passphrase: str) -> Custodian:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc.strerror}") from exc
    return open_keystore(data, passphrase)


def destroy(path: Path) -> None:
    """Overwrite the keystore at ``path`` with random bytes, then delete it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "r+b") as handle:
            handle.write(os.urandom(size))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
    except OSError as exc:
        raise KeystoreError(f"cannot destroy keystore {path}: {exc.strerror}") from exc
