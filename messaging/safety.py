"""Safety numbers: Signal's numeric fingerprint of two identities.

Implements the "displayable" numeric fingerprint of libsignal
(``rust/protocol/src/fingerprint.rs``, fingerprint version 0, as described in
Signal's "Safety number updates" notes), bit for bit:

* per side, ``h = SHA-512(0x0000 || key || stable_id || key)``, then
  ``ITERATIONS - 1`` more times ``h = SHA-512(h || key)`` (``ITERATIONS`` is
  5200 in Signal's clients);
* that side's 30 digits are six 5-byte big-endian chunks of ``h``, each taken
  modulo 100000 and zero-padded to 5 digits;
* the safety number is the two 30-digit halves in ascending order, so both
  parties compute the same 60 digits.

The test ``tests/messaging/test_safety.py`` reproduces libsignal's own known
answer (``fingerprint_test_v1``) from ``tests/vectors/libsignal``.

escrowlab identities are per device, so the stable id is the device address
(``"alice:1"``), bounded by :data:`messaging.limits.MAX_ADDRESS_LENGTH` (libsignal's
stable ids, phone numbers and service ids, are shorter still);
:func:`safety_number_for` uses the 128-byte ``IdentityPublic.encode()`` form
(signing key, DH key and binding signature) as the key, so a change of either
key changes the number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from messaging.identity import IdentityPublic
from messaging.limits import MAX_ADDRESS_LENGTH, MAX_FINGERPRINT_KEY_LENGTH

FINGERPRINT_VERSION = 0
ITERATIONS = 5200
DIGITS_PER_SIDE = 30
_CHUNK_BYTES = 5
_CHUNK_MODULUS = 100_000


def _as_stable_id(stable_id: str | bytes) -> bytes:
    if isinstance(stable_id, str):
        stable_id = stable_id.encode("utf-8")
    if not isinstance(stable_id, bytes) or not 0 < len(stable_id) <= MAX_ADDRESS_LENGTH:
        raise ValueError(f"a stable id is 1..{MAX_ADDRESS_LENGTH} bytes (str or bytes)")
    return stable_id


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes) or not 0 < len(key) <= MAX_FINGERPRINT_KEY_LENGTH:
        raise ValueError(f"an identity key is 1..{MAX_FINGERPRINT_KEY_LENGTH} bytes")
    return key


def fingerprint(key: bytes, stable_id: str | bytes, iterations: int = ITERATIONS) -> bytes:
    """Return one side's 64-byte iterated SHA-512 fingerprint of ``key`` and ``stable_id``.

    Requires ``iterations >= 1``; Signal uses :data:`ITERATIONS`.
    """
    key = _check_key(key)
    stable_id = _as_stable_id(stable_id)
    if not isinstance(iterations, int) or iterations < 1:
        raise ValueError("iterations must be a positive integer")
    digest = hashlib.sha512(
        FINGERPRINT_VERSION.to_bytes(2, "big") + key + stable_id + key
    ).digest()
    for _ in range(iterations - 1):
        digest = hashlib.sha512(digest + key).digest()
    return digest


def displayable_digits(fingerprint_bytes: bytes) -> str:
    """Return the 30 decimal digits of one side, from the first 30 bytes of its fingerprint."""
    needed = DIGITS_PER_SIDE // 5 * _CHUNK_BYTES
    if not isinstance(fingerprint_bytes, bytes) or len(fingerprint_bytes) < needed:
        raise ValueError(f"a fingerprint has at least {needed} bytes")
    return "".join(
        f"{int.from_bytes(fingerprint_bytes[i:i + _CHUNK_BYTES], 'big') % _CHUNK_MODULUS:05d}"
        for i in range(0, needed, _CHUNK_BYTES)
    )


@dataclass(frozen=True)
class SafetyNumber:
    """Both parties' 30-digit halves; :attr:`digits` is the 60 digits both of them see."""

    local: str
    remote: str

    @property
    def digits(self) -> str:
        """The 60-digit safety number: the two halves in ascending order."""
        return "".join(sorted((self.local, self.remote)))

    def formatted(self) -> str:
        """The 60 digits in twelve groups of five, as Signal displays them."""
        digits = self.digits
        return " ".join(digits[i:i + 5] for i in range(0, len(digits), 5))

    def matches(self, other: str) -> bool:
        """True when ``other`` (spaces allowed, as read aloud) equals :attr:`digits`."""
        return "".join(str(other).split()) == self.digits

    def __str__(self) -> str:
        return self.formatted()


def safety_number(
    local_key: bytes,
    local_id: str | bytes,
    remote_key: bytes,
    remote_id: str | bytes,
    iterations: int = ITERATIONS,
) -> SafetyNumber:
    """Compute the safety number of a local and a remote identity key with their stable ids."""
    return SafetyNumber(
        local=displayable_digits(fingerprint(local_key, local_id, iterations)),
        remote=displayable_digits(fingerprint(remote_key, remote_id, iterations)),
    )


def safety_number_for(
    local_identity: IdentityPublic,
    local_address: str,
    remote_identity: IdentityPublic,
    remote_address: str,
) -> SafetyNumber:
    """Safety number of two :class:`messaging.identity.IdentityPublic` values.

    The key fed to the fingerprint is ``identity.encode()`` (128 bytes: Ed25519
    signing key, X25519 DH key and the binding signature), not libsignal's
    33-byte ``0x05 || key``; the stable ids are the device addresses.
    """
    return safety_number(
        local_identity.encode(), local_address, remote_identity.encode(), remote_address
    )
