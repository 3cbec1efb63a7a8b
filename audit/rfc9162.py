"""RFC 9162 section 2.1.1: the Merkle Tree Hash (MTH) with SHA-256.

Leaf hashes and interior-node hashes are domain-separated by a one-byte prefix, so a
leaf can never be taken for an interior node (second-preimage resistance, RFC 9162
section 2.1.1). This module is the hashing rule alone, like transparency-dev/merkle's
``rfc6962`` package; proofs live in :mod:`audit.proof`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

RFC9162_LEAF_HASH_PREFIX = b"\x00"
RFC9162_NODE_HASH_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 9162 section 2.1.1)."""


def hash_leaf(data: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return hashlib.sha256(RFC9162_LEAF_HASH_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """The interior node SHA-256(0x01 || left || right)."""
    return hashlib.sha256(RFC9162_NODE_HASH_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (the RFC's ``k``). Requires n > 1."""
    if n < 2:
        raise ValueError("split_point requires n > 1")
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes, bottom-up, in O(n) hashes.

    Pairs adjacent nodes level by level and promotes an odd last node unchanged, which
    yields the same tree as the RFC's recursive split at the largest power of two.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        level = next_level(level)
    return level[0]


def next_level(level: Sequence[bytes]) -> list[bytes]:
    """The hashes of the complete nodes one level up: ``hash_children`` of each full pair.

    An odd last node is returned unchanged (it is the right edge, not a complete node of
    the next level); callers that want only complete nodes drop it.
    """
    out = [hash_children(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        out.append(level[-1])
    return out
