"""RFC 9162 interoperability: transparency-dev/merkle's vectors and real CT (Argon2020) data."""

from __future__ import annotations

import base64
import json

import pytest

from audit.errors import ProofError
from audit.proof import verify_consistency, verify_inclusion
from audit.rfc9162 import hash_leaf, root_from_leaf_hashes
from tests.paths import VECTORS_DIR

# Every proof file, the 12 under ``inclusion/additional/<n>/`` (one level deeper) included.
VECTORS = sorted((VECTORS_DIR / "rfc9162").glob("*/**/*.json"))
EXPECTED_VECTOR_FILES = 196


def _b(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _check(vector: dict) -> None:
    proof = [_b(p) for p in vector.get("proof") or []]
    if "leafIdx" in vector:
        verify_inclusion(vector["leafIdx"], vector["treeSize"], _b(vector["leafHash"]), proof,
                         _b(vector["root"]))
    else:
        verify_consistency(vector["size1"], vector["size2"], proof, _b(vector["root1"]),
                           _b(vector["root2"]))


def test_every_vector_file_is_present():
    assert len(VECTORS) == EXPECTED_VECTOR_FILES
    assert sum(p.parts[-4:-2] == ("inclusion", "additional") for p in VECTORS) == 12
    assert any(json.loads(p.read_text())["wantErr"] is False for p in VECTORS)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: "/".join(p.parts[-3:]))
def test_vector(path):
    vector = json.loads(path.read_text())
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            _check(vector)
    else:
        _check(vector)


def test_tree_roots_for_every_size(vectors_dir):
    tree = json.loads((vectors_dir / "rfc9162" / "tree.json").read_text())
    leaves = [hash_leaf(bytes.fromhex(x)) for x in tree["leaf_inputs_hex"]]
    for size, want in enumerate(tree["root_by_tree_size_hex"]):
        assert root_from_leaf_hashes(leaves[:size]).hex() == want


def _ct(vectors_dir, name):
    return json.loads((vectors_dir / "ct-argon2020" / name).read_text())


def test_real_ct_inclusion_proof_against_sth(vectors_dir):
    sth, proof = _ct(vectors_dir, "sth.json"), _ct(vectors_dir, "proof.json")
    (entry,) = _ct(vectors_dir, "entries.json")["entries"]  # leaf 10000
    index, size = proof["leaf_index"], sth["tree_size"]
    root = _b(sth["sha256_root_hash"])
    path = [_b(p) for p in proof["audit_path"]]
    leaf = hash_leaf(_b(entry["leaf_input"]))
    assert len(path) >= 28
    verify_inclusion(index, size, leaf, path, root)
    with pytest.raises(ProofError):
        verify_inclusion(index + 1, size, leaf, path, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, hash_leaf(_b(entry["leaf_input"]) + b"x"), path, root)


def test_real_ct_consistency_proof_against_sth(vectors_dir):
    sth, old = _ct(vectors_dir, "sth.json"), _ct(vectors_dir, "old_tree.json")
    proof = [_b(p) for p in _ct(vectors_dir, "consistency.json")["consistency"]]
    root1, root2 = _b(old["sha256_root_hash"]), _b(sth["sha256_root_hash"])
    verify_consistency(old["tree_size"], sth["tree_size"], proof, root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(old["tree_size"] + 1, sth["tree_size"], proof, root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(old["tree_size"], sth["tree_size"], proof, root2, root2)
