"""Compact ranges: the right edge of a Merkle tree, as in transparency-dev/merkle ``compact``.

A tree of ``size`` leaves is the concatenation of perfect subtrees, one per set bit of
``size`` (largest first). Their root hashes, the *frontier*, are all a log needs to keep
in memory to append leaves, emit every newly completed interior node, and compute the
RFC 9162 root (section 2.1.1): folding the frontier from the right.
"""

from __future__ import annotations

from collections.abc import Callable

from audit.rfc9162 import EMPTY_ROOT, hash_children

Frontier = list[tuple[int, bytes]]
"""(level, hash) of each perfect subtree on the right edge, largest (leftmost) first."""


def frontier_positions(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees that make up a tree of ``size`` leaves."""
    out, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


def append(frontier: Frontier, index: int, leaf_hash: bytes,
           emit: Callable[[tuple[int, int, bytes]], None]) -> None:
    """Append leaf ``index`` (== current size) to ``frontier`` in place.

    ``emit((level, index, hash))`` is called for every interior node the leaf completes.
    """
    value, level, pos = leaf_hash, 0, index
    while frontier and frontier[-1][0] == level:
        value = hash_children(frontier.pop()[1], value)
        level += 1
        pos >>= 1
        emit((level, pos, value))
    frontier.append((level, value))


def root(frontier: Frontier) -> bytes:
    """MTH of the whole tree the frontier describes."""
    if not frontier:
        return EMPTY_ROOT
    value = frontier[-1][1]
    for _, left in reversed(frontier[:-1]):
        value = hash_children(left, value)
    return value
