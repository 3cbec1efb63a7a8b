"""Compact ranges: the frontier gives every root and emits each complete node once."""

from __future__ import annotations

from audit import compact
from audit.rfc9162 import hash_leaf, root_from_leaf_hashes


def test_frontier_roots_positions_and_emitted_nodes():
    leaves = [hash_leaf(b"%d" % i) for i in range(200)]
    frontier: compact.Frontier = []
    emitted: list[tuple[int, int, bytes]] = []
    for i, leaf in enumerate(leaves):
        compact.append(frontier, i, leaf, emitted.append)
        size = i + 1
        assert compact.root(frontier) == root_from_leaf_hashes(leaves[:size])
        assert [lvl for lvl, _ in frontier] == [lvl for lvl, _ in
                                                 compact.frontier_positions(size)]
        assert len(emitted) == size - bin(size).count("1")
    assert len({(lvl, idx) for lvl, idx, _ in emitted}) == len(emitted)
    assert compact.frontier_positions(0) == [] and compact.root([]) == root_from_leaf_hashes([])
    assert compact.frontier_positions(13) == [(3, 0), (2, 2), (0, 12)]
