"""SLIP-39-compatible sharing: the reference library splits the same way, recovers our shares,
and its digest catches a wrong combination."""

import ast
import itertools
import os

import pytest
import shamir_mnemonic
from hypothesis import given, settings
from hypothesis import strategies as st
from shamir_mnemonic import shamir

from escrow import shares
from escrow.custodian_set import MAX_CUSTODIANS
from escrow.errors import ShareError
from tests.paths import PROJECT_ROOT


def test_split_is_the_reference_split_given_the_same_random_bytes(monkeypatch):
    secret = os.urandom(32)
    for threshold, count in [(2, 2), (3, 5), (5, 7), (16, 16)]:
        randomness = os.urandom(shares.random_length(threshold, 32))
        stream = iter([randomness[i * 32:(i + 1) * 32] for i in range(threshold - 2)]
                      + [randomness[(threshold - 2) * 32:]])
        monkeypatch.setattr(shamir, "RANDOM_BYTES", lambda n, s=stream: next(s))
        reference = shamir._split_secret(threshold, count, secret)
        assert [s.data for s in reference] == shares.split(secret, threshold, count, randomness)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 6).flatmap(lambda t: st.tuples(st.just(t), st.integers(t, 8))),
       st.binary(min_size=16, max_size=16), st.randoms(use_true_random=False))
def test_any_t_shares_recover_the_secret(params, secret, rnd):
    threshold, count = params
    values = shares.split(secret, threshold, count,
                          os.urandom(shares.random_length(threshold, len(secret))))
    chosen = rnd.sample(range(count), threshold)
    assert shares.combine(1234, threshold, {i: values[i] for i in chosen}) == secret


def test_the_reference_recovery_reads_our_shares_as_mnemonics():
    secret = os.urandom(32)
    values = shares.split(secret, 3, 5, os.urandom(shares.random_length(3, 32)))
    words = [shares.mnemonic(777, 3, i, values[i]) for i in (4, 0, 2)]
    groups = shamir_mnemonic.decode_mnemonics(words)
    assert shamir_mnemonic.recover_ems(groups).ciphertext == secret


def test_every_wrong_share_is_caught_by_the_digest():
    secret = os.urandom(32)
    values = shares.split(secret, 3, 5, os.urandom(shares.random_length(3, 32)))
    for subset in itertools.combinations(range(5), 3):
        for bad in subset:
            chosen = {i: values[i] for i in subset}
            chosen[bad] = bytes([chosen[bad][0] ^ 1]) + chosen[bad][1:]
            with pytest.raises(ShareError, match="digest"):
                shares.combine(1, 3, chosen)


def test_fewer_or_more_than_t_shares_are_refused():
    values = shares.split(os.urandom(32), 3, 5, os.urandom(shares.random_length(3, 32)))
    with pytest.raises(ShareError, match="exactly t=3"):
        shares.combine(1, 3, {0: values[0], 1: values[1]})
    with pytest.raises(ShareError, match="exactly t=3"):
        shares.combine(1, 3, dict(enumerate(values[:4])))


@pytest.mark.parametrize("secret_length,threshold,count", [
    (15, 3, 5), (17, 3, 5), (34, 3, 5), (32, 1, 5), (32, 6, 5), (32, 3, 17),
])
def test_bad_parameters_are_refused(secret_length, threshold, count):
    with pytest.raises(ShareError):
        shares.split(bytes(secret_length), threshold, count, b"")


def test_wrong_amount_of_randomness_is_refused():
    with pytest.raises(ShareError, match="randomness"):
        shares.split(bytes(32), 3, 5, bytes(10))


# The modules that bound a number of custodians or of shares (sets, sharing, records, the
# ceremony's backups and the escrow command line; the mode registry imports the bound, and
# its 16s are a puzzle size and a checksum width).
SHARE_COUNT_BOUNDED = ["escrow/custodian_set.py", "escrow/shares.py", "escrow/record.py",
                       "escrow/ceremony.py", "escrowlab/commands/escrow.py"]


def test_custodians_and_shares_have_one_bound_named_once():
    """``MAX_CUSTODIANS`` is ``MAX_SHARES`` (one share per custodian, SLIP-39's count), and
    no comparison or range in those modules retypes its value."""
    assert MAX_CUSTODIANS == shares.MAX_SHARES == shamir_mnemonic.constants.MAX_SHARE_COUNT
    retyped = []
    for name in SHARE_COUNT_BOUNDED:
        tree = ast.parse((PROJECT_ROOT / name).read_text())
        for node in ast.walk(tree):
            operands = (node.comparators if isinstance(node, ast.Compare)
                        else node.args if isinstance(node, ast.Call) else [])
            retyped += [f"{name}:{node.lineno}" for operand in operands
                        if isinstance(operand, ast.Constant) and operand.value == MAX_CUSTODIANS
                        and type(operand.value) is int]
    assert retyped == []
