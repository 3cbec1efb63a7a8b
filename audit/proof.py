"""RFC 9162 section 2.1.3 (inclusion) and 2.1.4 (consistency) proofs.

Generation (sections 2.1.3.1 and 2.1.4.1) works from a *node getter*
``node(level, index) -> bytes`` returning the hash of the complete subtree covering
leaves ``[index * 2**level, (index + 1) * 2**level)``; a log that stores those nodes
(:mod:`audit.storage`) answers any proof with O(log n) reads and never rescans leaves.
Subtrees on the right edge of a tree that is not a power of two ("ephemeral" nodes) are
folded from at most log2(n) stored complete nodes.

Verification (sections 2.1.3.2 and 2.1.4.2) is a set of pure functions, shaped like
transparency-dev/merkle's ``proof/verify.go`` and taking their arguments in its order:
``verify_inclusion(index, size, leaf_hash, proof, root)`` and
``verify_consistency(size1, size2, proof, root1, root2)``. They raise
:class:`ProofShapeError` when the parameters are impossible and :class:`RootMismatchError`
(carrying both roots) when the recomputed root differs. A ``proof`` is a sequence of
hashes; a single ``bytes`` in its place (a root passed where the proof goes) is a
caller's mistake and raises ``TypeError``, never a :class:`ProofError` that a caller
expecting a refusal would take for one.

Cases RFC 9162 leaves open, decided here (and pinned by the shared test vectors):

* Consistency from old size 0 is rejected (``ProofShapeError``): every tree is
  consistent with the empty tree, so such a "proof" proves nothing, and accepting it
  would let a caller believe it checked something. A party with no previous state
  (a witness seeing a log for the first time) simply has nothing to check.
* Equal sizes (``size1 == size2 > 0``): the proof must be empty and the two roots must be
  byte-for-byte equal; nothing else about them is checked.
* ``size1 > size2`` is always rejected.
* Hashes other than 32 bytes are rejected everywhere else (leaf hash, roots, proof items).

What a proof binds: the leaf index and the old size are bound by the proof; the tree
size (inclusion) and the new size (consistency) are bound only up to sizes that give the
verifier exactly the same hashing schedule. That is inherent to RFC 9162 proofs; the
size is bound by the signed checkpoint that carries the root, so always verify against a
checkpoint's (size, root) pair, never a size taken from elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from audit.errors import ProofShapeError, RootMismatchError
from audit.rfc9162 import HASH_SIZE, hash_children, split_point

NodeGetter = Callable[[int, int], bytes]


# ---------------------------------------------------------------------------
# Generation (RFC 9162 sections 2.1.3.1 and 2.1.4.1)
# ---------------------------------------------------------------------------


def subtree_hash(node: NodeGetter, begin: int, end: int) -> bytes:
    """MTH(D[begin:end]) for a range that is a subtree of some larger Merkle tree.

    Requires ``0 <= begin < end`` and ``begin`` a multiple of the largest power of two
    not smaller than ``end - begin`` (true of every range the RFC's recursion produces).
    """
    size = end - begin
    if size <= 0:
        raise ProofShapeError(f"empty subtree [{begin}, {end})")
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return node(level, begin >> level)
    k = split_point(size)
    level = k.bit_length() - 1
    return hash_children(node(level, begin >> level), subtree_hash(node, begin + k, end))


def inclusion_proof(node: NodeGetter, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) (RFC 9162 section 2.1.3.1). Requires 0 <= index < size."""
    if not 0 <= index < size:
        raise ProofShapeError(f"index {index} out of range for tree size {size}")
    path: list[bytes] = []
    begin, end, m = 0, size, index
    while end - begin > 1:
        k = split_point(end - begin)
        if m < k:
            path.append(subtree_hash(node, begin + k, end))
            end = begin + k
        else:
            path.append(subtree_hash(node, begin, begin + k))
            begin, m = begin + k, m - k
    path.reverse()
    return path


def consistency_proof(node: NodeGetter, size1: int, size2: int) -> list[bytes]:
    """PROOF(size1, D[0:size2]) (RFC 9162 section 2.1.4.1).

    Requires ``0 < size1 <= size2``; for ``size1 == size2`` the proof is empty.
    """
    if not 0 < size1 <= size2:
        raise ProofShapeError(f"no consistency proof from size {size1} to size {size2}")
    path: list[bytes] = []
    begin, end, m, complete = 0, size2, size1, True
    while m != end - begin:
        k = split_point(end - begin)
        if m <= k:
            path.append(subtree_hash(node, begin + k, end))
            end = begin + k
        else:
            path.append(subtree_hash(node, begin, begin + k))
            begin, m, complete = begin + k, m - k, False
    if not complete:
        path.append(subtree_hash(node, begin, end))
    path.reverse()
    return path


# ---------------------------------------------------------------------------
# Verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2)
# ---------------------------------------------------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofShapeError(f"{what} must be {HASH_SIZE} bytes")


def _check_proof_type(proof: Sequence[bytes]) -> None:
    """A proof is a sequence of hashes: one ``bytes`` here is an argument in the wrong place."""
    if isinstance(proof, bytes | bytearray | memoryview | str):
        raise TypeError("proof must be a sequence of hashes, not a single bytes value (the "
                        "order is verify_inclusion(index, size, leaf_hash, proof, root), "
                        "verify_consistency(size1, size2, proof, root1, root2))")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 section 2.1.3.2, steps 1-4).

    Requires ``0 <= index < size``, a 32-byte ``leaf_hash`` and 32-byte proof items; the
    proof length must be exactly the one the RFC's algorithm consumes.
    """
    _check_proof_type(proof)
    if not 0 <= index < size:
        raise ProofShapeError(f"index {index} out of range for tree size {size}")
    _check_hash(leaf_hash, "leaf hash")
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    for p in proof:
        _check_hash(p, "proof item")
        if sn == 0:
            raise ProofShapeError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofShapeError("inclusion proof is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Requires ``0 <= index < size`` and 32-byte hashes. Raises :class:`ProofShapeError`
    or :class:`RootMismatchError`; returns None on success.
    """
    _check_proof_type(proof)
    _check_hash(root, "root")
    calculated = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if calculated != root:
        raise RootMismatchError(bytes(root), calculated)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree (size1, root1) is a prefix of the tree (size2, root2).

    Preconditions and the open cases (see the module docstring): ``0 < size1 <= size2``;
    for equal sizes the proof must be empty and the roots equal; otherwise the proof is
    non-empty and every hash is 32 bytes. Raises :class:`ProofShapeError` or
    :class:`RootMismatchError` (``what`` says which root); returns None on success.
    """
    _check_proof_type(proof)
    if size1 < 0 or size2 < 0:
        raise ProofShapeError("tree sizes must not be negative")
    if size1 > size2:
        raise ProofShapeError(f"size1 {size1} is greater than size2 {size2}")
    if size1 == 0:
        raise ProofShapeError("consistency with the empty tree proves nothing (size1 is 0)")
    if size1 == size2:
        if proof:
            raise ProofShapeError("sizes are equal but the proof is not empty")
        if root1 != root2:
            raise RootMismatchError(bytes(root1), bytes(root2), "equal-size root")
        return
    if not proof:
        raise ProofShapeError("sizes differ but the proof is empty")
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    for p in proof:
        _check_hash(p, "proof item")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 1: size1 is a power of two
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:  # step 3
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 4
    for c in path[1:]:  # step 5
        if sn == 0:
            raise ProofShapeError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 6
        raise ProofShapeError("consistency proof is too short")
    if fr != root1:
        raise RootMismatchError(bytes(root1), fr, "root1")
    if sr != root2:
        raise RootMismatchError(bytes(root2), sr, "root2")

