"""A Merkle prefix tree over 256-bit labels, with SHA-256 (docs/key_transparency.md,
"The prefix tree").

The tree is the binary trie of the labels' bits, compressed as in facebook/akd's tree and
the prefix tree of libsignal's ``rust/keytrans`` (both described in docs/
key_transparency.md): a subtree that holds no label has the hash :data:`EMPTY`, a subtree
that holds exactly one label has that label's leaf hash (it is not hashed up through the
empty levels below it), and any other subtree hashes its two children. So a root costs
n - 1 node hashes plus a few for long shared prefixes, and a proof is about log2(n)
hashes, not 256.

- ``label(user)``: SHA-256 over a domain tag and the user's name. Without a VRF the label
  is public: anyone can compute a user's position (see the module :mod:`audit.kt.value`
  and docs/key_transparency.md, "What this does not do").
- ``leaf_hash(label, version, commitment)``: SHA-256(0x10 || label || version (8 bytes,
  big-endian) || commitment).
- ``node_hash(left, right)``: SHA-256(0x11 || left || right). The prefixes differ from
  each other and from RFC 9162's 0x00/0x01, so a leaf is never taken for a node.

A proof for a label lists the siblings along the label's path from the root down to the
depth where the path reaches a leaf or an empty subtree, and what it reached there: the
label's own leaf (membership), another label's leaf that shares the path (non-membership),
or an empty subtree (non-membership). Verification (:func:`verify_membership`,
:func:`verify_absence`) recomputes the root and also refuses proofs no canonical tree can
yield (a single leaf beside an empty sibling would have been collapsed), raising
:class:`audit.kt.errors.KTProofError`.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from audit.kt.errors import KTProofError

LABEL_TAG = b"escrowlab-kt/label/v1\x00"
LEAF_PREFIX = b"\x10"
NODE_PREFIX = b"\x11"
HASH_SIZE = 32
LABEL_BITS = 256
EMPTY = bytes(HASH_SIZE)
"""The hash of a subtree without labels."""


def label(user: str) -> bytes:
    """The 32-byte label of ``user`` (public: no VRF)."""
    return hashlib.sha256(LABEL_TAG + user.encode("utf-8")).digest()


def leaf_hash(label_bytes: bytes, version: int, commitment: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + label_bytes + version.to_bytes(8, "big")
                          + commitment).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _bit(label_int: int, depth: int) -> int:
    return (label_int >> (LABEL_BITS - 1 - depth)) & 1


@dataclass(frozen=True)
class Leaf:
    """A label's entry: version and commitment (:mod:`audit.kt.value`)."""

    label: bytes
    version: int
    commitment: bytes

    def hash(self) -> bytes:
        return leaf_hash(self.label, self.version, self.commitment)


@dataclass(frozen=True)
class PathProof:
    """Siblings from the root down (``siblings[0]`` is the root's other child) and what the
    path reached: ``leaf`` (a label's leaf, the queried one or another) or ``None`` (an
    empty subtree)."""

    siblings: tuple[bytes, ...]
    leaf: Leaf | None

    def size(self) -> int:
        """Bytes on the wire: the siblings, and the leaf's label, version and commitment."""
        return HASH_SIZE * len(self.siblings) + (72 if self.leaf else 0)


class PrefixTree:
    """An immutable tree of leaves, by label; its root and its proofs."""

    def __init__(self, leaves: Iterable[Leaf]) -> None:
        by_label = {}
        for leaf in leaves:
            if len(leaf.label) != HASH_SIZE:
                raise KTProofError("a label is 32 bytes")
            by_label[leaf.label] = leaf
        self._labels = sorted(by_label)
        self._ints = [int.from_bytes(b, "big") for b in self._labels]
        self._leaves = by_label
        self._nodes: dict[tuple[int, int], bytes] = {}
        self.root = self._node(0, len(self._ints), 0, 0)

    def __len__(self) -> int:
        return len(self._labels)

    def leaf(self, label_bytes: bytes) -> Leaf | None:
        return self._leaves.get(label_bytes)

    def _split(self, lo: int, hi: int, depth: int, prefix: int) -> int:
        boundary = (prefix | 1) << (LABEL_BITS - 1 - depth)
        return bisect_left(self._ints, boundary, lo, hi)

    def _node(self, lo: int, hi: int, depth: int, prefix: int) -> bytes:
        """Hash of the subtree at ``depth`` whose labels start with the ``depth`` bits of
        ``prefix`` and occupy ``[lo, hi)`` of the sorted labels."""
        if hi == lo:
            return EMPTY
        if hi - lo == 1:
            return self._leaves[self._labels[lo]].hash()
        cached = self._nodes.get((depth, lo))
        if cached is not None:
            return cached
        mid = self._split(lo, hi, depth, prefix << 1)
        value = node_hash(self._node(lo, mid, depth + 1, prefix << 1),
                          self._node(mid, hi, depth + 1, (prefix << 1) | 1))
        self._nodes[(depth, lo)] = value
        return value

    def prove(self, label_bytes: bytes) -> PathProof:
        """The path of ``label_bytes``: a membership proof if it is in the tree, else an
        absence proof."""
        target = int.from_bytes(label_bytes, "big")
        lo, hi, depth, prefix = 0, len(self._ints), 0, 0
        siblings = []
        while hi - lo > 1:
            child = prefix << 1
            mid = self._split(lo, hi, depth, child)
            if _bit(target, depth):
                siblings.append(self._node(lo, mid, depth + 1, child))
                lo, prefix = mid, child | 1
            else:
                siblings.append(self._node(mid, hi, depth + 1, child | 1))
                hi, prefix = mid, child
            depth += 1
        leaf = self._leaves[self._labels[lo]] if hi - lo == 1 else None
        return PathProof(tuple(siblings), leaf)


def _root_from_path(target: bytes, proof: PathProof, terminal: bytes) -> bytes:
    if not isinstance(proof, PathProof) or not isinstance(proof.siblings, tuple):
        raise KTProofError("a path proof is a PathProof")
    siblings = proof.siblings
    if len(siblings) > LABEL_BITS:
        raise KTProofError(f"a path has at most {LABEL_BITS} siblings")
    if any(not isinstance(s, bytes) or len(s) != HASH_SIZE for s in siblings):
        raise KTProofError("every sibling is a 32-byte hash")
    if siblings and siblings[-1] == EMPTY:
        raise KTProofError("not a canonical path: the deepest sibling is empty (a single "
                           "leaf there would have been collapsed)")
    value = int.from_bytes(target, "big")
    node = terminal
    for depth in range(len(siblings) - 1, -1, -1):
        if _bit(value, depth):
            node = node_hash(siblings[depth], node)
        else:
            node = node_hash(node, siblings[depth])
    return node


def _check_root(root: bytes, calculated: bytes) -> None:
    if calculated != root:
        raise KTProofError(f"prefix-tree root mismatch: calculated {calculated.hex()}, "
                           f"expected {root.hex()}")


def _check_label(value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise KTProofError("a label is 32 bytes")
    return value


def verify_membership(root: bytes, leaf: Leaf, proof: PathProof) -> None:
    """Check that ``leaf`` is the entry of its label in the tree of ``root``."""
    if not isinstance(leaf, Leaf) or not isinstance(proof, PathProof):
        raise KTProofError("membership needs a Leaf and a PathProof")
    _check_label(leaf.label)
    if proof.leaf != leaf:
        raise KTProofError("the proof reaches another leaf than the one claimed")
    _check_root(root, _root_from_path(leaf.label, proof, leaf.hash()))


def verify_absence(root: bytes, label_bytes: bytes, proof: PathProof) -> None:
    """Check that ``label_bytes`` has no entry in the tree of ``root``: its path ends in an
    empty subtree, or in another label's leaf that shares the path's prefix."""
    _check_label(label_bytes)
    if not isinstance(proof, PathProof) or not isinstance(proof.siblings, tuple):
        raise KTProofError("a path proof is a PathProof")
    depth = len(proof.siblings)
    if proof.leaf is None:
        terminal = EMPTY
    else:
        other = _check_label(proof.leaf.label)
        if other == label_bytes:
            raise KTProofError("the absence proof reaches the label's own leaf")
        a, b = int.from_bytes(other, "big"), int.from_bytes(label_bytes, "big")
        if depth and (a ^ b) >> (LABEL_BITS - depth):
            raise KTProofError("the leaf the absence proof reaches is not on the label's path")
        terminal = proof.leaf.hash()
    _check_root(root, _root_from_path(label_bytes, proof, terminal))
