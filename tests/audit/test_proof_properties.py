"""Properties of proof generation and verification (RFC 9162 sections 2.1.3 and 2.1.4).

Exhaustive over every tree size up to 300 and every pair m < n; single-bit changes are
sampled (hypothesis) because flipping every bit of every case would take minutes.

A tree size is bound by the signed checkpoint, not by a proof alone: a changed tree
size (inclusion ``size``, consistency ``size2``) is accepted only when it leaves the
verifier's hashing schedule exactly unchanged, which the last test pins.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audit.proof as proof_module
from audit.errors import ProofError
from audit.proof import (
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from audit.rfc9162 import hash_children, hash_leaf, root_from_leaf_hashes

MAX = 300
LEAVES = [hash_leaf(i.to_bytes(4, "big")) for i in range(MAX)]


def _levels(leaves):
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([hash_children(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


LEVELS = _levels(LEAVES)
ROOTS = [root_from_leaf_hashes(LEAVES[:n]) for n in range(MAX + 1)]


def node(level: int, index: int) -> bytes:
    return LEVELS[level][index]


def _recursive_root(leaves):
    """MTH straight from the RFC's recursive definition (independent of next_level)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hash_children(_recursive_root(leaves[:k]), _recursive_root(leaves[k:]))


def test_bottom_up_roots_match_the_rfc_recursion():
    for n in range(1, 130):
        assert ROOTS[n] == _recursive_root(LEAVES[:n])


def test_every_inclusion_proof_up_to_300_verifies():
    for n in range(1, MAX + 1):
        for i in range(n):
            verify_inclusion(i, n, LEAVES[i], inclusion_proof(node, i, n), ROOTS[n])


def test_every_consistency_proof_up_to_300_verifies():
    for n in range(1, MAX + 1):
        for m in range(1, n + 1):
            verify_consistency(m, n, consistency_proof(node, m, n), ROOTS[m], ROOTS[n])


def _flips(data: bytes):
    for i in range(len(data) * 8):
        yield data[: i // 8] + bytes([data[i // 8] ^ (1 << (i % 8))]) + data[i // 8 + 1 :]


def _rejects(check, *args) -> bool:
    try:
        check(*args)
    except ProofError:
        return True
    return False


@settings(max_examples=40, deadline=None)
@given(st.integers(2, MAX).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_every_bit_flip_of_an_inclusion_proof_fails(case):
    n, i = case
    proof = inclusion_proof(node, i, n)
    for k, item in enumerate(proof):
        for flipped in _flips(item):
            bad = proof[:k] + [flipped] + proof[k + 1 :]
            assert _rejects(verify_inclusion, i, n, LEAVES[i], bad, ROOTS[n])
    for flipped in _flips(ROOTS[n]):
        assert _rejects(verify_inclusion, i, n, LEAVES[i], proof, flipped)
    for flipped in _flips(LEAVES[i]):
        assert _rejects(verify_inclusion, i, n, flipped, proof, ROOTS[n])
    for bit in range(64):
        assert _rejects(verify_inclusion, i ^ (1 << bit), n, LEAVES[i], proof, ROOTS[n])


@settings(max_examples=40, deadline=None)
@given(st.integers(2, MAX).flatmap(lambda n: st.tuples(st.integers(1, n - 1), st.just(n))))
def test_every_bit_flip_of_a_consistency_proof_fails(case):
    m, n = case
    proof = consistency_proof(node, m, n)
    for k, item in enumerate(proof):
        for flipped in _flips(item):
            bad = proof[:k] + [flipped] + proof[k + 1 :]
            assert _rejects(verify_consistency, m, n, bad, ROOTS[m], ROOTS[n])
    for flipped in _flips(ROOTS[m]):
        assert _rejects(verify_consistency, m, n, proof, flipped, ROOTS[n])
    for flipped in _flips(ROOTS[n]):
        assert _rejects(verify_consistency, m, n, proof, ROOTS[m], flipped)
    for bit in range(64):
        assert _rejects(verify_consistency, m ^ (1 << bit), n, proof, ROOTS[m], ROOTS[n])


def _schedule(monkeypatch, check, *args) -> list[tuple[bytes, bytes]]:
    calls: list[tuple[bytes, bytes]] = []

    def recording(left: bytes, right: bytes) -> bytes:
        calls.append((left, right))
        return hash_children(left, right)

    monkeypatch.setattr(proof_module, "hash_children", recording)
    try:
        check(*args)
    finally:
        monkeypatch.setattr(proof_module, "hash_children", hash_children)
    return calls


@pytest.mark.parametrize("n", [5, 6, 7, 13, 64, 100, 255, 300])
def test_a_changed_tree_size_is_accepted_only_with_an_identical_hash_schedule(monkeypatch, n):
    for i in range(0, n, max(1, n // 17)):
        proof = inclusion_proof(node, i, n)
        want = _schedule(monkeypatch, verify_inclusion, i, n, LEAVES[i], proof, ROOTS[n])
        for bit in range(12):
            other = n ^ (1 << bit)
            if not _rejects(verify_inclusion, i, other, LEAVES[i], proof, ROOTS[n]):
                got = _schedule(monkeypatch, verify_inclusion, i, other, LEAVES[i], proof,
                                ROOTS[n])
                assert got == want
    for m in range(1, n, max(1, n // 17)):
        proof = consistency_proof(node, m, n)
        want = _schedule(monkeypatch, verify_consistency, m, n, proof, ROOTS[m], ROOTS[n])
        for bit in range(12):
            other = n ^ (1 << bit)
            if not _rejects(verify_consistency, m, other, proof, ROOTS[m], ROOTS[n]):
                got = _schedule(monkeypatch, verify_consistency, m, other, proof, ROOTS[m],
                                ROOTS[n])
                assert got == want


def test_verifiers_take_transparency_dev_merkle_argument_order():
    """verify.go: VerifyInclusion(index, size, leafHash, proof, root) and
    VerifyConsistency(size1, size2, proof, root1, root2), without the hasher."""
    import inspect

    assert list(inspect.signature(verify_inclusion).parameters) == [
        "index", "size", "leaf_hash", "proof", "root"]
    assert list(inspect.signature(verify_consistency).parameters) == [
        "size1", "size2", "proof", "root1", "root2"]
    proof = consistency_proof(node, 5, 13)
    verify_consistency(5, 13, proof, ROOTS[5], ROOTS[13])
    with pytest.raises(TypeError, match="proof must be a sequence of hashes"):
        verify_consistency(5, 13, ROOTS[5], ROOTS[13], proof)  # the order before: loud
    path = inclusion_proof(node, 3, 13)
    with pytest.raises(TypeError, match="proof must be a sequence of hashes"):
        verify_inclusion(3, 13, LEAVES[3], ROOTS[13], path)
