"""Shamir secret sharing over GF(2^8), byte by byte, and its Lagrange decoder: the share
arithmetic of the safety vouchers' threshold layer (docs/css_matcher.md, "Threshold layer").

The same construction as HashiCorp Vault's ``shamir/shamir.go``: the field is GF(2^8) with
the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11B); every byte of the secret is the
constant term of its own random polynomial of degree t-1; a share is the polynomial values at
one x coordinate, which is never 0 (the secret) and distinct among shares; :func:`combine`
interpolates at x = 0 (Lagrange). Unlike Vault, a :class:`Polynomial` is kept by the dealer
so that a device can issue one share per safety voucher over time, each at a fresh x
(Bhowmick et al., "The Apple PSI System", 2021, section 4: the account key is secret-shared
across the vouchers). Fewer than t shares of a polynomial give a value independent of the
secret; :func:`combine` cannot tell, which is why the matcher checks a candidate key by
decrypting with it (:mod:`escrow.css.matcher`).

Python integers are not constant time; this is lab code that runs on one machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from escrow.css.errors import ShamirError

MIN_THRESHOLD = 2
MAX_X = 255  # the non-zero elements of GF(2^8): at most 255 shares of one polynomial
MAX_SECRET_LENGTH = 64

_REDUCTION = 0x11B


def _tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    exp = [0] * 510
    log = [0] * 256
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        # multiply by the generator 0x03 = x + 1
        doubled = value << 1
        if doubled & 0x100:
            doubled ^= _REDUCTION
        value = doubled ^ value
    for power in range(255, 510):
        exp[power] = exp[power - 255]
    return tuple(exp), tuple(log)


_EXP, _LOG = _tables()


def mul(a: int, b: int) -> int:
    """The product of two GF(2^8) elements."""
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def div(a: int, b: int) -> int:
    """``a / b`` in GF(2^8) (:class:`ShamirError` for b = 0)."""
    if b == 0:
        raise ShamirError("division by zero in GF(2^8)")
    if a == 0:
        return 0
    return _EXP[_LOG[a] - _LOG[b] + 255]


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int) \
            or not MIN_THRESHOLD <= threshold <= MAX_X:
        raise ShamirError(f"the threshold must be in {MIN_THRESHOLD}..{MAX_X} (got {threshold!r})")


def _check_x(x: int) -> None:
    if isinstance(x, bool) or not isinstance(x, int) or not 1 <= x <= MAX_X:
        raise ShamirError(f"a share's x coordinate must be in 1..{MAX_X} (got {x!r})")


@dataclass(frozen=True)
class Share:
    """One share: the x coordinate (1..255) and the polynomials' values there, one byte per
    byte of the secret."""

    x: int
    y: bytes

    def __post_init__(self) -> None:
        _check_x(self.x)
        if not isinstance(self.y, bytes) or not 1 <= len(self.y) <= MAX_SECRET_LENGTH:
            raise ShamirError(f"a share's value is 1..{MAX_SECRET_LENGTH} bytes")


class Polynomial:
    """The dealer's per-byte polynomials of degree t-1 whose constant terms are the secret."""

    def __init__(self, secret: bytes, threshold: int,
                 random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        _check_threshold(threshold)
        if not isinstance(secret, bytes) or not 1 <= len(secret) <= MAX_SECRET_LENGTH:
            raise ShamirError(f"a shared secret is 1..{MAX_SECRET_LENGTH} bytes")
        self.threshold = threshold
        coefficients = random_bytes((threshold - 1) * len(secret))
        if len(coefficients) != (threshold - 1) * len(secret):
            raise ShamirError("the random source returned the wrong number of bytes")
        # _coefficients[k][i]: coefficient of x^(k+1) for byte i
        self._secret = secret
        self._coefficients = [coefficients[k * len(secret):(k + 1) * len(secret)]
                              for k in range(threshold - 1)]

    def share(self, x: int) -> Share:
        """The share at ``x`` (1..255), by Horner's rule per byte."""
        _check_x(x)
        values = bytearray(len(self._secret))
        for i, constant in enumerate(self._secret):
            acc = 0
            for row in reversed(self._coefficients):
                acc = mul(acc, x) ^ row[i]
            values[i] = mul(acc, x) ^ constant
        return Share(x, bytes(values))


def split(secret: bytes, threshold: int, count: int,
          random_bytes: Callable[[int], bytes] = os.urandom) -> list[Share]:
    """``count`` shares (x = 1..count) of ``secret``, any ``threshold`` of which recover it
    (Vault's ``Split``, with x in order rather than shuffled)."""
    _check_threshold(threshold)
    if isinstance(count, bool) or not isinstance(count, int) or not threshold <= count <= MAX_X:
        raise ShamirError(f"sharing needs t <= n <= {MAX_X} (got t={threshold}, n={count!r})")
    polynomial = Polynomial(secret, threshold, random_bytes)
    return [polynomial.share(x) for x in range(1, count + 1)]


def combine(shares: list[Share] | tuple[Share, ...] | Mapping[int, bytes]) -> bytes:
    """The polynomials' value at x = 0 through the given shares (Vault's ``Combine``).

    With at least t shares of one polynomial this is the secret; with fewer, or with a share
    of another polynomial among them, it is an unrelated value (the caller checks it).
    Refuses fewer than two shares, duplicate x coordinates and values of different lengths.
    """
    if isinstance(shares, Mapping):
        shares = [Share(x, y) for x, y in shares.items()]
    shares = list(shares)
    if len(shares) < MIN_THRESHOLD:
        raise ShamirError("combining needs at least two shares")
    if not all(isinstance(share, Share) for share in shares):
        raise ShamirError("combining takes Share values")
    xs = [share.x for share in shares]
    if len(set(xs)) != len(xs):
        raise ShamirError("two shares have the same x coordinate")
    length = len(shares[0].y)
    if any(len(share.y) != length for share in shares):
        raise ShamirError("the shares' values have different lengths")
    # Lagrange basis at 0: l_j(0) = prod_{m != j} x_m / (x_m - x_j); subtraction is XOR
    weights = []
    for j, xj in enumerate(xs):
        numerator, denominator = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                numerator = mul(numerator, xm)
                denominator = mul(denominator, xm ^ xj)
        weights.append(div(numerator, denominator))
    secret = bytearray(length)
    for weight, share in zip(weights, shares, strict=True):
        for i, value in enumerate(share.y):
            secret[i] ^= mul(weight, value)
    return bytes(secret)
