"""The Reed-Solomon decoder of escrow.css.shamir (Gao's algorithm): with no wrong share it is
Lagrange interpolation; it recovers the polynomials through up to (n - t) // 2 wrong shares
(r - s >= t), wherever they are, including wrong shares whose first byte is right; beyond
that bound it returns nothing, or a polynomial that a key check rejects; it refuses duplicate
x coordinates and malformed input."""

import os
import random

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from escrow.css import shamir
from escrow.css.errors import ShamirError


def dealt(secret: bytes, threshold: int, xs: list[int], seed: int):
    """(polynomial coefficients per byte, shares at xs) from a seeded dealer."""
    rnd = random.Random(seed)
    randomness = rnd.randbytes((threshold - 1) * len(secret))
    polynomial = shamir.Polynomial(secret, threshold, lambda n: randomness[:n])
    rows = (secret, *(randomness[k * len(secret):(k + 1) * len(secret)]
                      for k in range(threshold - 1)))
    return rows, [polynomial.share(x) for x in xs]


def corrupt(shares: list[shamir.Share], positions, rnd: random.Random) -> list[shamir.Share]:
    """The shares with those at ``positions`` replaced by different random values."""
    out = list(shares)
    for k in positions:
        value = shares[k].y
        while value == shares[k].y:
            value = rnd.randbytes(len(value))
        out[k] = shamir.Share(shares[k].x, value)
    return out


def test_without_errors_it_is_lagrange_interpolation_and_returns_the_polynomial():
    rnd = random.Random(7)
    for threshold, count, length in ((2, 2, 1), (3, 3, 32), (3, 9, 5), (10, 10, 32),
                                     (10, 40, 32), (30, 30, 32)):
        xs = rnd.sample(range(1, 256), count)
        rows, shares = dealt(os.urandom(length), threshold, xs, seed=count)
        decoded = shamir.decode(shares, threshold)
        assert decoded is not None and decoded.errors == ()
        assert decoded.secret == shamir.combine(shares) == rows[0]
        assert decoded.coefficients == rows
        assert all(decoded.value(share.x) == share.y for share in shares)
    # f(x) = 0x42 + 0x01 x: f(1) = 0x43, f(2) = 0x40 (worked by hand)
    assert shamir.decode([shamir.Share(1, b"\x43"), shamir.Share(2, b"\x40")],
                         2).coefficients == (b"\x42", b"\x01")


def test_a_hand_worked_line_with_one_wrong_share_out_of_five():
    # f(x) = 0x42 + 0x01 x at x = 1..5 is 0x43 0x40 0x41 0x46 0x47; x = 3 is wrong
    shares = [shamir.Share(x, bytes([y])) for x, y in
              zip(range(1, 6), (0x43, 0x40, 0x99, 0x46, 0x47), strict=True)]
    decoded = shamir.decode(shares, 2)
    assert decoded.coefficients == (b"\x42", b"\x01") and decoded.errors == (3,)
    assert decoded.value(3) == b"\x41"


@pytest.mark.parametrize("threshold,count", [(2, 9), (3, 4), (6, 24), (10, 28), (30, 50),
                                             (30, 90)])
def test_at_the_bound_the_polynomial_is_recovered_wherever_the_errors_are(threshold, count):
    rnd = random.Random(threshold * 1000 + count)
    bound = (count - threshold) // 2
    for trial in range(6):
        xs = rnd.sample(range(1, 256), count)
        rows, shares = dealt(rnd.randbytes(32), threshold, xs, seed=trial)
        wrong = rnd.sample(range(count), bound)
        decoded = shamir.decode(corrupt(shares, wrong, rnd), threshold)
        assert decoded is not None and decoded.coefficients == rows
        assert decoded.errors == tuple(sorted(xs[k] for k in wrong))


def test_a_wrong_share_with_a_right_first_byte_is_still_found():
    rnd = random.Random(3)
    xs = list(range(1, 13))
    rows, shares = dealt(rnd.randbytes(16), 4, xs, seed=1)
    shares[2] = shamir.Share(3, shares[2].y[:15] + bytes([shares[2].y[15] ^ 1]))
    shares[7] = shamir.Share(8, shares[7].y[:1] + rnd.randbytes(15))
    shares[9] = shamir.Share(10, rnd.randbytes(16))
    decoded = shamir.decode(shares, 4)
    assert decoded.coefficients == rows and decoded.errors == (3, 8, 10)


def key_check(adkey: bytes):
    """The caller's check, as the matcher's: does a candidate decrypt what ``adkey`` sealed?"""
    nonce, sealed = bytes(12), ChaCha20Poly1305(adkey).encrypt(bytes(12), b"derivative", b"")

    def check(candidate: bytes) -> bool:
        try:
            ChaCha20Poly1305(candidate).decrypt(nonce, sealed, b"")
        except InvalidTag:
            return False
        return True
    return check


def test_beyond_the_bound_it_fails_or_returns_a_polynomial_the_key_check_rejects():
    rnd = random.Random(11)
    outcomes = {"none": 0, "rejected": 0}
    for trial in range(60):
        threshold = rnd.randint(2, 8)
        count = rnd.randint(threshold + 1, 30)
        bound = (count - threshold) // 2
        xs = rnd.sample(range(1, 256), count)
        secret = rnd.randbytes(32)
        rows, shares = dealt(secret, threshold, xs, seed=trial)
        wrong = rnd.sample(range(count), rnd.randint(bound + 1, count - 1))
        decoded = shamir.decode(corrupt(shares, wrong, rnd), threshold)
        if decoded is None:
            outcomes["none"] += 1
            continue
        # whatever it returns is a polynomial within the bound of the shares it was given
        assert len(decoded.errors) <= bound
        assert decoded.secret != secret and not key_check(secret)(decoded.secret)
        outcomes["rejected"] += 1
    assert outcomes["none"] > 0


def test_beyond_the_bound_shares_of_another_polynomial_decode_to_it_and_the_check_rejects():
    # 2 shares of the account's polynomial, 7 of another one: t = 3, n = 9, bound 3
    secret, other = os.urandom(32), os.urandom(32)
    _, real = dealt(secret, 3, [1, 2], seed=1)
    rows, planted = dealt(other, 3, list(range(3, 10)), seed=2)
    decoded = shamir.decode(real + planted, 3)
    assert decoded.coefficients == rows and decoded.errors == (1, 2)
    assert not key_check(secret)(decoded.secret)


def test_at_apples_threshold_it_decodes_at_r_minus_s_equal_to_t_and_not_below():
    rnd = random.Random(30)
    for synthetic in (1, 10, 20):
        for real in (30 + synthetic, 30 + synthetic - 1):
            xs = rnd.sample(range(1, 256), real + synthetic)
            secret = rnd.randbytes(32)
            _, shares = dealt(secret, 30, xs, seed=real)
            shares = corrupt(shares, range(real, real + synthetic), rnd)
            decoded = shamir.decode(shares, 30)
            if real - synthetic >= 30:
                assert decoded is not None and decoded.secret == secret
            else:
                assert decoded is None or not key_check(secret)(decoded.secret)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6).flatmap(lambda t: st.tuples(st.just(t), st.integers(t, 20))),
       st.integers(1, 16), st.randoms(use_true_random=False), st.data())
def test_any_errors_within_the_bound_are_corrected(params, length, rnd, data):
    threshold, count = params
    xs = rnd.sample(range(1, 256), count)
    rows, shares = dealt(rnd.randbytes(length), threshold, xs, seed=rnd.random())
    errors = data.draw(st.integers(0, (count - threshold) // 2))
    wrong = rnd.sample(range(count), errors)
    received = corrupt(shares, wrong, rnd)
    decoded = shamir.decode(received, threshold)
    assert decoded is not None and decoded.coefficients == rows
    assert decoded.errors == tuple(sorted(xs[k] for k in wrong))
    assert all(decoded.value(share.x) == share.y for share in shares)


def test_refusals():
    _, shares = dealt(b"key", 3, [1, 2, 3, 4], seed=0)
    with pytest.raises(ShamirError, match="same x"):
        shamir.decode([*shares, shares[0]], 3)
    with pytest.raises(ShamirError, match="same x"):
        shamir.decode([*shares, shamir.Share(2, b"abc")], 3)
    with pytest.raises(ShamirError, match="at least t"):
        shamir.decode(shares[:2], 3)
    with pytest.raises(ShamirError, match="at least t"):
        shamir.decode([], 2)
    with pytest.raises(ShamirError, match="lengths"):
        shamir.decode([*shares[:3], shamir.Share(9, b"ab")], 3)
    with pytest.raises(ShamirError, match="Share"):
        shamir.decode([*shares[:3], (9, b"abc")], 3)
    for threshold in (1, 256, True, 2.0):
        with pytest.raises(ShamirError, match="threshold"):
            shamir.decode(shares, threshold)
    with pytest.raises(ShamirError):
        shamir.decode(shares, 3).value(0)
