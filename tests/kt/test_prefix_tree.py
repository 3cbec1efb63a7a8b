"""The prefix tree's proofs (docs/key_transparency.md, "The prefix tree")."""

import os
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import AuditError
from audit.kt.errors import KTProofError
from audit.kt.prefix_tree import (
    EMPTY,
    Leaf,
    PathProof,
    PrefixTree,
    verify_absence,
    verify_membership,
)


def leaves(n):
    return [Leaf(os.urandom(32), 1, os.urandom(32)) for _ in range(n)]


def test_an_empty_tree_has_the_empty_root_and_proves_any_absence():
    tree = PrefixTree([])
    label = os.urandom(32)
    assert tree.root == EMPTY
    verify_absence(tree.root, label, tree.prove(label))


def test_a_single_leaf_is_the_root():
    leaf = leaves(1)[0]
    tree = PrefixTree([leaf])
    assert tree.root == leaf.hash()
    verify_membership(tree.root, leaf, tree.prove(leaf.label))


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 200))
def test_every_leaf_proves_membership_and_random_labels_prove_absence(n):
    items = leaves(n)
    tree = PrefixTree(items)
    for leaf in items:
        verify_membership(tree.root, leaf, tree.prove(leaf.label))
    label = os.urandom(32)
    verify_absence(tree.root, label, tree.prove(label))


def test_proofs_are_about_log2_n_hashes():
    tree = PrefixTree(leaves(4096))
    assert len(tree.prove(os.urandom(32)).siblings) < 24


def test_the_root_does_not_depend_on_insertion_order():
    items = leaves(50)
    assert PrefixTree(items).root == PrefixTree(reversed(items)).root


def test_an_edited_leaf_is_refused():
    items = leaves(20)
    tree = PrefixTree(items)
    proof = tree.prove(items[3].label)
    edited = replace(items[3], commitment=os.urandom(32))
    with pytest.raises(KTProofError):
        verify_membership(tree.root, edited, replace(proof, leaf=edited))


def test_a_truncated_path_is_refused():
    items = leaves(20)
    tree = PrefixTree(items)
    proof = tree.prove(items[0].label)
    with pytest.raises(KTProofError):
        verify_membership(tree.root, items[0], PathProof(proof.siblings[:-1], proof.leaf))
    with pytest.raises(KTProofError):
        verify_membership(tree.root, items[0], PathProof(proof.siblings[1:], proof.leaf))


def test_a_present_label_cannot_be_proven_absent():
    items = leaves(20)
    tree = PrefixTree(items)
    proof = tree.prove(items[5].label)
    with pytest.raises(KTProofError):
        verify_absence(tree.root, items[5].label, proof)
    with pytest.raises(KTProofError):
        verify_absence(tree.root, items[5].label, PathProof(proof.siblings, None))
    other = tree.prove(items[6].label)
    with pytest.raises(KTProofError):
        verify_absence(tree.root, items[5].label, other)


def test_a_non_canonical_path_is_refused():
    items = leaves(2)
    tree = PrefixTree(items)
    with pytest.raises(KTProofError, match="canonical"):
        verify_membership(tree.root, items[0], PathProof((EMPTY,), items[0]))


def test_malformed_siblings_are_refused_with_the_package_error():
    items = leaves(4)
    tree = PrefixTree(items)
    proof = tree.prove(items[0].label)
    with pytest.raises(AuditError):
        verify_membership(tree.root, items[0], PathProof((b"short",), proof.leaf))
    with pytest.raises(AuditError):
        verify_membership(tree.root, items[0], PathProof((os.urandom(32),) * 257, proof.leaf))
