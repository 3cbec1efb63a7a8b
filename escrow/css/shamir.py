"""Shamir secret sharing over GF(2^8), byte by byte, its Lagrange decoder and its
error-correcting decoder: the share arithmetic of the safety vouchers' threshold layer
(docs/css_matcher.md, "Threshold layer" and "Decoding through synthetic shares").

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

The shares of one polynomial at distinct x are a Reed-Solomon codeword (McEliece and
Sarwate, "On sharing secrets and Reed-Solomon codes", CACM 24(9), 1981), so wrong shares
among them are errors a Reed-Solomon decoder corrects: :func:`decode` recovers the
polynomials from ``n`` shares of which at most ``(n - t) // 2`` are wrong (Gao's algorithm).

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


# Polynomials over GF(2^8) for the decoder: lists of coefficients, lowest degree first, with
# no zero leading coefficient (the zero polynomial is []). Addition and subtraction are XOR.

def _trim(p: list[int]) -> list[int]:
    while p and p[-1] == 0:
        p.pop()
    return p


def _add(a: list[int], b: list[int]) -> list[int]:
    if len(a) < len(b):
        a, b = b, a
    total = list(a)
    for i, c in enumerate(b):
        total[i] ^= c
    return _trim(total)


def _add_scaled(total: list[int], scale: int, p: list[int], shift: int = 0) -> None:
    """total += scale * X^shift * p, in place (the inner loop of the products below, with
    the field product through the log tables)."""
    if scale:
        log_scale = _LOG[scale]
        for k, c in enumerate(p, shift):
            if c:
                total[k] ^= _EXP[log_scale + _LOG[c]]


def _mul_poly(a: list[int], b: list[int]) -> list[int]:
    if not a or not b:
        return []
    product = [0] * (len(a) + len(b) - 1)
    for i, c in enumerate(a):
        _add_scaled(product, c, b, i)
    return _trim(product)


def _divmod(a: list[int], b: list[int]) -> tuple[list[int], list[int]]:
    """Quotient and remainder of ``a`` by ``b`` (b non-zero)."""
    remainder = list(a)
    if len(remainder) < len(b):
        return [], remainder
    quotient = [0] * (len(remainder) - len(b) + 1)
    for shift in range(len(quotient) - 1, -1, -1):
        quotient[shift] = c = div(remainder[shift + len(b) - 1], b[-1])
        _add_scaled(remainder, c, b, shift)
    return _trim(quotient), _trim(remainder[:len(b) - 1])


def _evaluate(p: list[int], x: int) -> int:
    """p(x), by Horner's rule."""
    acc = 0
    for c in reversed(p):
        acc = mul(acc, x) ^ c
    return acc


def _deflate(p: list[int], x: int) -> list[int]:
    """p / (X - x) for a root x of p (synthetic division)."""
    quotient = [0] * (len(p) - 1)
    carry = 0
    for k in range(len(p) - 1, 0, -1):
        carry = p[k] ^ mul(carry, x)
        quotient[k - 1] = carry
    return quotient


def _lagrange(xs: list[int]) -> list[list[int]]:
    """The Lagrange basis of distinct points: L_i = prod_{j != i} (X - x_j) / (x_i - x_j), so
    that L_i(x_j) is 1 for j = i and 0 otherwise."""
    vanishing = [1]
    for x in xs:
        vanishing = _mul_poly(vanishing, [x, 1])  # X - x = X + x in characteristic 2
    basis = []
    for xi in xs:
        quotient = _deflate(vanishing, xi)
        scaled = [0] * len(quotient)
        _add_scaled(scaled, div(1, _evaluate(quotient, xi)), quotient)
        basis.append(scaled)
    return basis


def _interpolate(basis: list[list[int]], ys: list[int]) -> list[int]:
    """The polynomial of degree < len(ys) through the points of ``basis`` with values ``ys``."""
    total = [0] * len(ys)
    for polynomial, y in zip(basis, ys, strict=True):
        _add_scaled(total, y, polynomial)
    return _trim(total)


def _gao(xs: list[int], basis: list[list[int]], ys: list[int],
         threshold: int) -> list[int] | None:
    """The polynomial of degree < ``threshold`` that agrees with all but at most
    ``(n - threshold) // 2`` of the ``n`` points (x_i, y_i), or ``None`` when the algorithm
    finds none (``basis`` is the points' Lagrange basis).

    S. Gao, "A new algorithm for decoding Reed-Solomon codes", in Communications, Information
    and Network Security (Kluwer, 2003), pp. 55-68, Algorithm 1: g1 interpolates the points;
    the extended Euclidean algorithm on g0 = prod (X - x_i) and g1 stops at the first
    remainder g of degree < (n + k) / 2, with g = u g0 + v g1; the message is g / v if v
    divides g and the quotient has degree < k (here k = t). v vanishes where a point is
    wrong. It corrects as many errors as Berlekamp and Welch's decoder (US patent 4,633,470,
    1986): any number up to (n - k) / 2.
    """
    n = len(xs)
    r0: list[int] = [1]
    for x in xs:
        r0 = _mul_poly(r0, [x, 1])
    r1 = _interpolate(basis, ys)
    v0: list[int] = []
    v1 = [1]
    while 2 * (len(r1) - 1) >= n + threshold:
        quotient, remainder = _divmod(r0, r1)
        r0, r1 = r1, remainder
        v0, v1 = v1, _add(v0, _mul_poly(quotient, v1))
    message, remainder = _divmod(r1, v1)
    if remainder or len(message) > threshold:
        return None
    return message


@dataclass(frozen=True)
class Decoded:
    """What :func:`decode` found: ``coefficients[k]`` holds, for every byte of the secret, the
    coefficient of x^k of its polynomial (so ``coefficients[0]`` is the secret), and
    ``errors`` the x coordinates of the shares that are not on the polynomials."""

    coefficients: tuple[bytes, ...]
    errors: tuple[int, ...]

    @property
    def secret(self) -> bytes:
        return self.coefficients[0]

    def value(self, x: int) -> bytes:
        """The polynomials' values at ``x`` (the share a dealer would have issued there)."""
        _check_x(x)
        return bytes(_evaluate(list(column), x) for column in zip(*self.coefficients,
                                                                   strict=True))


def _check_shares(shares: list[Share] | tuple[Share, ...]) -> list[Share]:
    shares = list(shares)
    if not all(isinstance(share, Share) for share in shares):
        raise ShamirError("decoding takes Share values")
    xs = [share.x for share in shares]
    if len(set(xs)) != len(xs):
        raise ShamirError("two shares have the same x coordinate")
    if shares and any(len(share.y) != len(shares[0].y) for share in shares):
        raise ShamirError("the shares' values have different lengths")
    return shares


def decode(shares: list[Share] | tuple[Share, ...], threshold: int) -> Decoded | None:
    """The polynomials of degree < ``threshold`` that the shares are on, with up to
    ``(n - threshold) // 2`` wrong shares among the ``n`` given: with r right shares and
    s = n - r wrong ones, whenever r - s >= t (docs/css_matcher.md, "Decoding through
    synthetic shares"). ``None`` when no polynomial is within that many wrong shares on every
    byte, which is what happens beyond the bound unless the wrong shares happen to lie close
    to another polynomial: a polynomial returned beyond the bound may be wrong, so the caller
    checks the secret (the matcher decrypts with it).

    The error positions are located once, on the first byte (:func:`_gao`); every byte is
    then interpolated through t of the other shares and checked on all of them, and a byte
    that disagrees (a wrong share whose first byte was right by chance) is decoded on its own
    and its error positions are added. Refuses a bad threshold, fewer than t shares,
    duplicate x coordinates and values of different lengths (:class:`ShamirError`).
    """
    _check_threshold(threshold)
    shares = _check_shares(shares)
    if len(shares) < threshold:
        raise ShamirError(f"decoding needs at least t = {threshold} shares (got {len(shares)})")
    xs = [share.x for share in shares]
    everywhere = _lagrange(xs)
    bound = (len(shares) - threshold) // 2

    def locate(byte: int) -> set[int] | None:
        ys = [share.y[byte] for share in shares]
        message = _gao(xs, everywhere, ys, threshold)
        if message is None:
            return None
        return {k for k, (x, y) in enumerate(zip(xs, ys, strict=True))
                if _evaluate(message, x) != y}

    wrong = locate(0)
    while wrong is not None and len(wrong) <= bound:
        good = [k for k in range(len(shares)) if k not in wrong]
        chosen, rest = good[:threshold], good[threshold:]
        basis = _lagrange([xs[k] for k in chosen])
        rows = []
        for byte in range(len(shares[0].y)):
            row = _interpolate(basis, [shares[k].y[byte] for k in chosen])
            if any(_evaluate(row, xs[k]) != shares[k].y[byte] for k in rest):
                more = locate(byte)  # it finds at least one share of ``rest`` wrong
                wrong = None if more is None else wrong | more
                break
            rows.append(row + [0] * (threshold - len(row)))
        else:
            return Decoded(tuple(bytes(column) for column in zip(*rows, strict=True)),
                           tuple(sorted(xs[k] for k in wrong)))
    return None
