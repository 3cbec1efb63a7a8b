"""The k-bit puzzle lock of a chain key (crypto crumple zones: Wright and Varia, IEEE S&P 2018).

Wright and Varia make each escrowed key cost a tunable amount of work to
recover, so that targeted access stays possible while mass access becomes
expensive. We lock a chain's CK_0 under a k-bit answer::

    answer  = first k bits of HMAC-SHA256(CK_0, label | k | context)     (a PRF of CK_0)
    salt    = SHA-256(label | k | context)                          public, per chain
    K(a)    = HKDF-Extract(salt, a as u32) = HMAC-SHA256(salt, a)     (RFC 5869, 2.2)
    locked  = ChaCha20(K(answer), nonce 0)(CK_0)                      (RFC 8439)

Everything is a deterministic function of the chain key and the context, so
the recipient, who knows CK_0, recomputes the lock byte for byte. ``locked``
(32 bytes) is what the custodians share; the answer is never escrowed. Whoever
holds ``locked`` tries a = 0, 1, 2, ...: a candidate is *consistent* when the
chain key it unlocks derives the same answer back. The true answer always is;
a wrong one is with probability 2^-k, so about one false candidate turns up
per 2^k tried, and the caller confirms a consistent candidate against
something else the chain key determines (the archived escrow record, see
:mod:`escrow.crumple.recovery`). Work: up to 2^k trials, 2^(k-1) on average.
The per-chain salt stops precomputation across chains; each ChaCha20 key K(a)
encrypts one 32-byte value, so the fixed nonce is safe.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from escrow.errors import EscrowError

MIN_PUZZLE_BITS = 1
MAX_PUZZLE_BITS = 32
DEFAULT_PUZZLE_BITS = 20
CHAIN_KEY_LENGTH = 32

_ANSWER_LABEL = b"escrowlab crumple answer v1"
_SALT_LABEL = b"escrowlab crumple salt v1"
_ZERO_NONCE = bytes(16)
_U32 = struct.Struct(">I")


class PuzzleError(EscrowError):
    """A puzzle with parameters out of range, or a lock that cannot be built or solved."""


def check_bits(bits: int) -> int:
    """Return ``bits`` if it is a supported puzzle size."""
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise PuzzleError("the puzzle size is an integer number of bits")
    if not MIN_PUZZLE_BITS <= bits <= MAX_PUZZLE_BITS:
        raise PuzzleError(f"the puzzle size is {MIN_PUZZLE_BITS}..{MAX_PUZZLE_BITS} bits")
    return bits


@dataclass(frozen=True)
class Puzzle:
    """One chain's puzzle: its size, public salt and context, and the locked chain key."""

    bits: int
    salt: bytes
    binding: bytes
    locked: bytes = field(repr=False)


def _answer_input(bits: int, binding: bytes) -> bytes:
    return _ANSWER_LABEL + bytes((bits,)) + binding


def answer_of(chain_key: bytes, bits: int, binding: bytes) -> int:
    """The k-bit answer a chain key derives for itself."""
    mac = crypto_hmac.HMAC(chain_key, hashes.SHA256())
    mac.update(_answer_input(bits, binding))
    return _U32.unpack(mac.finalize()[:4])[0] >> (32 - bits)


def puzzle_for(locked: bytes, bits: int, binding: bytes) -> Puzzle:
    """The puzzle of a chain whose context is ``binding`` and whose locked key is ``locked``."""
    check_bits(bits)
    if not isinstance(locked, bytes) or len(locked) != CHAIN_KEY_LENGTH:
        raise PuzzleError(f"a locked chain key is {CHAIN_KEY_LENGTH} bytes")
    salt = hashlib.sha256(_SALT_LABEL + bytes((bits,)) + binding).digest()
    return Puzzle(bits, salt, binding, locked)


def candidate_key(salt: bytes, answer: int) -> bytes:
    """K(a) = HKDF-Extract(salt, a), the ChaCha20 key a candidate answer stands for."""
    mac = crypto_hmac.HMAC(salt, hashes.SHA256())
    mac.update(_U32.pack(answer))
    return mac.finalize()


def _chacha20(key: bytes, data: bytes) -> bytes:
    return Cipher(algorithms.ChaCha20(key, _ZERO_NONCE), mode=None).encryptor().update(data)


def lock(chain_key: bytes, bits: int, binding: bytes) -> bytes:
    """``locked``: ``chain_key`` (bound to ``binding``) under a ``bits``-bit puzzle."""
    check_bits(bits)
    if not isinstance(chain_key, bytes) or len(chain_key) != CHAIN_KEY_LENGTH:
        raise PuzzleError(f"a chain key is {CHAIN_KEY_LENGTH} bytes")
    salt = puzzle_for(bytes(CHAIN_KEY_LENGTH), bits, binding).salt
    return _chacha20(candidate_key(salt, answer_of(chain_key, bits, binding)), chain_key)


def try_range(puzzle: Puzzle, start: int, stop: int) -> tuple[int | None, bytes | None, int]:
    """Try answers ``start..stop-1`` in order; stop at the first consistent one.

    Returns (answer, chain key, candidates tried), or (None, None, tried).
    """
    keyed = crypto_hmac.HMAC(puzzle.salt, hashes.SHA256())
    answer_input = _answer_input(puzzle.bits, puzzle.binding)
    shift = 32 - puzzle.bits
    for answer in range(start, stop):
        mac = keyed.copy()
        mac.update(_U32.pack(answer))
        candidate = _chacha20(mac.finalize(), puzzle.locked)
        derive = crypto_hmac.HMAC(candidate, hashes.SHA256())
        derive.update(answer_input)
        derived = _U32.unpack(derive.finalize()[:4])[0] >> shift
        if hmac.compare_digest(_U32.pack(derived), _U32.pack(answer)):
            return answer, candidate, answer - start + 1
    return None, None, stop - start
