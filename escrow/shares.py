"""SLIP-39-compatible t-of-n sharing of a secret over GF(256) (SLIP-0039, "Shamir's secret
sharing", "Sharing a secret" and "Recovering the secret").

:func:`split` follows SLIP-39's ``SplitSecret`` exactly: t-2 random shares at
x = 0..t-3, the digest share ``HMAC-SHA256(R, S)[:4] || R`` at x = 254 and the
secret at x = 255 fix a polynomial of degree t-1, whose values at the
custodian indices are the shares. The field arithmetic is ``shamir_mnemonic``'s
own (``_interpolate``, the reference implementation); only the random bytes
come from the caller, so that a record can be recomputed (see
:mod:`escrow.threshold.hook`). :func:`combine` hands exactly t shares to
``shamir_mnemonic.recover_ems`` as one SLIP-39 group (group threshold 1), so
the reference recovery combines them and its digest check catches a wrong
combination. :func:`mnemonic` renders a share as the SLIP-39 words any
SLIP-39 tool accepts.
"""

from __future__ import annotations

from collections.abc import Mapping

from shamir_mnemonic import MnemonicError, Share, recover_ems
from shamir_mnemonic.constants import (
    DIGEST_INDEX,
    DIGEST_LENGTH_BYTES,
    MAX_SHARE_COUNT,
    SECRET_INDEX,
)
from shamir_mnemonic.shamir import RawShare, ShareGroup, _create_digest, _interpolate

from escrow.errors import ShareError

MIN_SECRET_LENGTH = 16  # SLIP-39 MIN_STRENGTH_BITS / 8
MAX_SECRET_LENGTH = 32
MAX_SHARES = MAX_SHARE_COUNT  # SLIP-39: at most 16 shares of a secret
IDENTIFIER_BITS = 15  # SLIP-39 ID_LENGTH_BITS
ITERATION_EXPONENT = 0
EXTENDABLE = True


def random_length(threshold: int, secret_length: int) -> int:
    """How many random bytes :func:`split` consumes (:class:`ShareError` if the
    parameters are not allowed)."""
    _check(secret_length, threshold, threshold)
    return (threshold - 2) * secret_length + secret_length - DIGEST_LENGTH_BYTES


def _check(secret_length: int, threshold: int, count: int) -> None:
    if not MIN_SECRET_LENGTH <= secret_length <= MAX_SECRET_LENGTH or secret_length % 2:
        raise ShareError(
            f"a shared secret is an even number of bytes in {MIN_SECRET_LENGTH}.."
            f"{MAX_SECRET_LENGTH}"
        )
    if not 2 <= threshold <= count <= MAX_SHARES:
        raise ShareError(f"sharing needs 2 <= t <= n <= {MAX_SHARES} (got t={threshold}, "
                         f"n={count})")


def split(secret: bytes, threshold: int, count: int, random_bytes: bytes) -> list[bytes]:
    """The ``count`` share values (x = 0..count-1) of ``secret``, t-of-n.

    ``random_bytes`` is exactly :func:`random_length` bytes: the t-2 random
    shares, then the digest's random part R, in SLIP-39's order.
    """
    _check(len(secret), threshold, count)
    length = len(secret)
    if len(random_bytes) != random_length(threshold, length):
        raise ShareError("wrong amount of randomness for this split")
    random_count = threshold - 2
    base = [RawShare(i, random_bytes[i * length:(i + 1) * length]) for i in range(random_count)]
    random_part = random_bytes[random_count * length:]
    digest = _create_digest(random_part, secret)
    points = base + [RawShare(DIGEST_INDEX, digest + random_part), RawShare(SECRET_INDEX, secret)]
    return [s.data for s in base] + [
        _interpolate(points, x) for x in range(random_count, count)
    ]


def slip39_share(identifier: int, threshold: int, index: int, value: bytes) -> Share:
    """Share ``index`` of a one-group SLIP-39 sharing with ``identifier``."""
    return Share(identifier, EXTENDABLE, ITERATION_EXPONENT, 0, 1, 1, index, threshold, value)


def combine(identifier: int, threshold: int, shares: Mapping[int, bytes]) -> bytes:
    """The secret from exactly ``threshold`` shares {index: value}.

    Raises :class:`ShareError` when the count is wrong or SLIP-39's digest
    shows that the shares do not belong together (a wrong or altered share).
    """
    if len(shares) != threshold:
        raise ShareError(f"combining needs exactly t={threshold} shares, got {len(shares)}")
    group = ShareGroup()
    try:
        for index, value in sorted(shares.items()):
            group.add(slip39_share(identifier, threshold, index, value))
        return recover_ems({0: group}).ciphertext
    except MnemonicError as exc:
        raise ShareError(f"the shares do not combine: {exc}") from None


def mnemonic(identifier: int, threshold: int, index: int, value: bytes) -> str:
    """Share ``index`` as SLIP-39 mnemonic words."""
    return slip39_share(identifier, threshold, index, value).mnemonic()
