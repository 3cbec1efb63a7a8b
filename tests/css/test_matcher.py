"""The provider's matcher: below t it learns only the count of opened vouchers; at t real
matches it reconstructs the account key and opens the derivatives; duplicates are ignored and
malformed vouchers change nothing."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escrow.css import matcher, vouchers
from escrow.css.errors import VoucherError
from tests.css.helpers import outside_hash, small_world


def test_derivatives_open_at_the_threshold_and_not_before():
    db, secret, table = small_world()
    client = vouchers.VoucherClient(table, threshold=3)
    provider = matcher.Matcher(secret, threshold=3)
    for i in range(6):
        provider.submit("alice", client.voucher(outside_hash(), b"benign %d" % i))
    for i in range(2):
        provider.submit("alice", client.voucher(db.hashes[i], b"match %d" % i))
    view = provider.view("alice")
    assert (view.received, view.opened, view.revealed, view.derivatives) == (8, 2, False, ())
    provider.submit("alice", client.voucher(db.hashes[2], b"match 2"))
    assert sorted(provider.derivatives("alice")) == [b"match 0", b"match 1", b"match 2"]
    provider.submit("alice", client.voucher(db.hashes[3], b"match 3"))
    assert len(provider.derivatives("alice")) == 4
    assert provider.view("bob").received == 0


def test_synthetic_shares_are_skipped_and_then_recognised():
    db, secret, table = small_world()
    client = vouchers.VoucherClient(table, threshold=3, synthetic_rate=0.5, rng=random.Random(5))
    provider = matcher.Matcher(secret, threshold=3)
    real = 0
    for i in range(40):
        before = client.synthetic_issued
        provider.submit("alice", client.voucher(db.hashes[i], b"m%d" % i))
        real += client.synthetic_issued == before
    view = provider.view("alice")
    assert view.opened == 40 and view.revealed
    assert len(view.derivatives) == real and view.known_synthetic == client.synthetic_issued > 0


def test_the_work_bound_is_respected():
    db, secret, table = small_world()
    client = vouchers.VoucherClient(table, threshold=4, synthetic_rate=0.5, rng=random.Random(1))
    provider = matcher.Matcher(secret, threshold=4, max_combinations=1)
    for i in range(12):
        provider.submit("alice", client.voucher(db.hashes[i], b""))
    view = provider.view("alice")
    assert view.combinations <= 12 - 3 and view.gave_up > 0


def test_duplicates_are_ignored_and_malformed_or_conflicting_vouchers_change_nothing():
    db, secret, table = small_world()
    client = vouchers.VoucherClient(table, threshold=2)
    provider = matcher.Matcher(secret, threshold=2)
    data = client.voucher(db.hashes[0], b"d")
    assert provider.submit("alice", data) is True
    assert provider.submit("alice", data) is False
    before = provider.view("alice")
    conflicting = bytearray(data)
    conflicting[-1] ^= 1
    for bad in (bytes(conflicting), data[:-1], b""):
        with pytest.raises(VoucherError):
            provider.submit("alice", bad)
    with pytest.raises(VoucherError):
        provider.submit("", data)
    assert provider.view("alice") == before
    fresh = bytearray(client.voucher(db.hashes[1], b"e"))
    fresh[-1] ^= 1
    with pytest.raises(VoucherError):
        provider.submit("carol", bytes(fresh))
    assert provider.accounts() == ("alice",)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, vouchers.VOUCHER_BYTES - 1), st.integers(1, 255)),
                min_size=1, max_size=3))
def test_a_mutated_voucher_is_refused_or_taken_never_a_crash(mutations):
    data = bytearray(MUTATION_BASE[2])
    for index, flip in mutations:
        data[index] ^= flip
    provider = matcher.Matcher(MUTATION_BASE[1], threshold=2)
    try:
        assert provider.submit("alice", bytes(data)) is True
    except VoucherError:
        assert provider.accounts() == ()
        return
    assert provider.view("alice").received == 1


def _mutation_base():
    db, secret, table = small_world(common=10)
    return db, secret, vouchers.VoucherClient(table, threshold=2).voucher(db.hashes[0], b"d")


MUTATION_BASE = _mutation_base()
