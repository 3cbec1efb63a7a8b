"""Shamir sharing over GF(2^8): known answers from an independent bitwise evaluator, FIPS-197's
multiplication example, any t shares recover, fewer do not, and the refusals."""

import itertools
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escrow.css import shamir
from escrow.css.errors import ShamirError


def slow_mul(a: int, b: int) -> int:
    """Carry-less product reduced by x^8+x^4+x^3+x+1, one bit at a time (FIPS-197 4.2)."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return product


def slow_eval(coefficients: list[int], x: int) -> int:
    """sum_k c_k x^k with powers computed by repeated slow_mul."""
    total, power = 0, 1
    for c in coefficients:
        total ^= slow_mul(c, power)
        power = slow_mul(power, x)
    return total


def test_field_multiplication_matches_fips197_and_the_bitwise_product():
    assert shamir.mul(0x57, 0x83) == 0xC1  # FIPS-197, section 4.2
    assert shamir.mul(0x57, 0x13) == 0xFE  # FIPS-197, section 4.2.1
    for a in range(256):
        for b in range(0, 256, 7):
            assert shamir.mul(a, b) == slow_mul(a, b)
            if b:
                assert shamir.mul(shamir.div(a, b), b) == a


def test_shares_are_the_independently_evaluated_polynomial():
    secret = bytes([0x00, 0x42, 0xFF, 0x9C])
    randomness = bytes(range(1, 1 + 2 * len(secret)))  # t = 3: two coefficient rows
    polynomial = shamir.Polynomial(secret, 3, lambda n: randomness[:n])
    for x in (1, 2, 3, 0x53, 255):
        expected = bytes(slow_eval([secret[i], randomness[i], randomness[4 + i]], x)
                         for i in range(len(secret)))
        assert polynomial.share(x).y == expected
    # a tiny vector worked by hand: f(x) = 0x42 + 0x01 x, f(1) = 0x43, f(2) = 0x40
    line = shamir.Polynomial(b"\x42", 2, lambda n: b"\x01")
    assert line.share(1).y == b"\x43" and line.share(2).y == b"\x40"
    assert shamir.combine({1: b"\x43", 2: b"\x40"}) == b"\x42"


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8).flatmap(lambda t: st.tuples(st.just(t), st.integers(t, 12))),
       st.binary(min_size=1, max_size=32), st.randoms(use_true_random=False))
def test_any_t_shares_recover_the_secret(params, secret, rnd):
    threshold, count = params
    shares = shamir.split(secret, threshold, count)
    chosen = rnd.sample(shares, rnd.randint(threshold, count))
    assert shamir.combine(chosen) == secret


@pytest.mark.parametrize("x", [1, 2, 0x8D, 255])
def test_one_share_below_a_threshold_of_two_is_uniform_whatever_the_secret(x):
    for secret in (0x00, 0x42, 0xFF):
        values = {shamir.Polynomial(bytes([secret]), 2, lambda n, c=c: bytes([c])).share(x).y
                  for c in range(256)}
        assert len(values) == 256


@settings(max_examples=20, deadline=None)
@given(st.binary(min_size=1, max_size=8), st.integers(1, 255))
def test_a_wrong_share_changes_the_result(secret, delta):
    shares = shamir.split(secret, 3, 3)
    altered = shamir.Share(shares[0].x, bytes([shares[0].y[0] ^ (delta & 0xFF or 1)])
                           + shares[0].y[1:])
    assert shamir.combine([altered, *shares[1:]]) != secret


def test_refusals():
    with pytest.raises(ShamirError):
        shamir.split(b"k", 1, 3)
    with pytest.raises(ShamirError):
        shamir.split(b"k", 256, 256)
    with pytest.raises(ShamirError):
        shamir.split(b"k", 3, 2)
    with pytest.raises(ShamirError):
        shamir.split(b"", 2, 2)
    with pytest.raises(ShamirError):
        shamir.Share(0, b"k")
    with pytest.raises(ShamirError):
        shamir.Share(256, b"k")
    with pytest.raises(ShamirError):
        shamir.Polynomial(b"k", 2).share(0)
    shares = shamir.split(b"key", 2, 3)
    with pytest.raises(ShamirError):
        shamir.combine([shares[0]])
    with pytest.raises(ShamirError):
        shamir.combine([shares[0], shares[0]])
    with pytest.raises(ShamirError):
        shamir.combine([shares[0], shamir.Share(shares[1].x, shares[1].y[:2])])
    with pytest.raises(ShamirError):
        shamir.Polynomial(b"k", 3, lambda n: b"")


def test_every_pair_of_a_two_of_five_split_recovers():
    secret = os.urandom(32)
    shares = shamir.split(secret, 2, 5)
    assert all(shamir.combine(list(pair)) == secret
               for pair in itertools.combinations(shares, 2))
