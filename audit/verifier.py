"""The offline verifier: trust nothing in the database, recompute everything.

:func:`verify_log` reads every leaf and recomputes its RFC 9162 leaf hash, rebuilds every
level of the tree and compares it with every stored interior node, checks each signed
checkpoint's signature and that its root is the root of the recomputed tree at its size,
requires the witness quorum on the latest checkpoint, and checks that a checkpoint the
caller trusted earlier is a prefix of the log (RFC 9162 section 2.1.4). The signed head
kept beside the database (``<log>.head``, :mod:`audit.storage`) counts as one more
signed checkpoint: a database rolled back below it (a damaged WAL, an old copy
restored) fails verification even though its own tables are consistent.

When the trusted checkpoint and the log's latest checkpoint are both validly signed by
the log but inconsistent, it writes a self-contained proof of misbehaviour
(:func:`misbehaviour_evidence`): the two signed notes and the consistency proof the
log's own tree yields. The proof verifies from the root the log's tree has at the old
size (``implied_old_root``) to the new signed root, and that root differs from the one
the log signed earlier: by collision resistance one log cannot have both, so the log
signed two inconsistent views. :func:`check_misbehaviour_evidence` re-checks such a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import strictjson
from audit.checkpoint import Checkpoint
from audit.entries import Entry
from audit.errors import AuditError, ProofError, VerificationError
from audit.note import Verifier, b64, parse_note, unb64
from audit.proof import consistency_proof, subtree_hash, verify_consistency
from audit.quorum import verify_checkpoint
from audit.rfc9162 import EMPTY_ROOT, hash_children, hash_leaf
from audit.storage import LogStore

EVIDENCE_KIND = "escrowlab-audit-misbehaviour/v1"


@dataclass
class VerificationReport:
    origin: str
    size: int = 0
    root: str = ""
    nodes_checked: int = 0
    checkpoints_checked: int = 0
    latest_checkpoint_size: int | None = None
    cosigners: list[str] = field(default_factory=list)
    unwitnessed_entries: int = 0
    trusted_checkpoint_size: int | None = None
    evidence_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Tree:
    """The recomputed tree: complete levels held in memory."""

    def __init__(self, leaf_hashes: list[bytes]) -> None:
        self.levels = [leaf_hashes]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([hash_children(below[i], below[i + 1])
                                for i in range(0, len(below) - 1, 2)])

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else subtree_hash(self.node, 0, size)


def _recompute(store: LogStore, check_entries: bool,
               progress: Callable[[str], None] | None) -> tuple[_Tree, int]:
    hashes: list[bytes] = []
    for idx, data, stored in store.scan_leaves():
        if idx != len(hashes):
            raise VerificationError(f"leaf {len(hashes)} is missing (next stored leaf is {idx}): "
                        "entries were deleted")
        if not isinstance(data, bytes) or not isinstance(stored, bytes):
            raise VerificationError(f"leaf {idx}: stored value is not a blob (database edited)")
        if hash_leaf(data) != stored:
            raise VerificationError(
                f"leaf {idx}: stored hash does not match its bytes (entry edited)")
        if check_entries:
            try:
                Entry.decode(bytes(data))
            except AuditError as exc:
                raise VerificationError(f"leaf {idx}: {exc}") from None
        hashes.append(stored)
        if progress and idx and idx % 200_000 == 0:
            progress(f"checked {idx} leaves")
    if len(hashes) != store.size:
        raise VerificationError(f"log reports {store.size} leaves but {len(hashes)} are stored")
    tree = _Tree(hashes)
    checked = 0
    current_level, stored_level = 0, []

    def compare(level: int, values: list[bytes]) -> None:
        want = tree.levels[level] if level < len(tree.levels) else []
        if values != want:
            for i, (a, b) in enumerate(zip(values, want, strict=False)):
                if a != b:
                    raise VerificationError(
                        f"stored node ({level}, {i}) does not match the recomputed tree")
            raise VerificationError(
                f"level {level} stores {len(values)} nodes, the tree has {len(want)}")

    for level, idx, value in store.scan_nodes():
        if not isinstance(level, int) or level < 1:
            raise VerificationError(f"stored node at invalid level {level!r}")
        if level != current_level:
            if current_level:
                compare(current_level, stored_level)
            for missing in range(current_level + 1, level):
                compare(missing, [])
            current_level, stored_level = level, []
        if idx != len(stored_level):
            raise VerificationError(f"stored node ({level}, {len(stored_level)}) is missing")
        if not isinstance(value, bytes):
            raise VerificationError(f"stored node ({level}, {idx}) is not a blob (database edited)")
        stored_level.append(bytes(value))
        checked += 1
    if current_level:
        compare(current_level, stored_level)
    for level in range(current_level + 1, len(tree.levels)):
        compare(level, [])
    return tree, checked


def verify_log(
    store: LogStore,
    log_key: Verifier,
    witness_keys: Sequence[Verifier] = (),
    threshold: int = 0,
    trusted_checkpoint: str | None = None,
    evidence_path: str | os.PathLike[str] | None = None,
    check_entries: bool = False,
    progress: Callable[[str], None] | None = None,
) -> VerificationReport:
    """Verify a whole log; raise :class:`VerificationError` with a precise message.

    ``trusted_checkpoint`` is a signed note the caller obtained earlier; on inconsistency
    with the log a proof of misbehaviour is written to ``evidence_path`` (if given) and
    its path is in the error message.
    """
    report = VerificationReport(origin=log_key.name)
    tree, report.nodes_checked = _recompute(store, check_entries, progress)
    report.size = tree.size
    report.root = b64(tree.root(tree.size))
    latest_note = None
    for size, root, note in store.checkpoints():
        try:
            cp = verify_checkpoint(note, log_key)
        except AuditError as exc:
            raise VerificationError(f"signed checkpoint of size {size}: {exc}") from None
        if (cp.size, cp.root) != (size, root):
            raise VerificationError(f"checkpoint row of size {size} does not match its signed note")
        if size > tree.size:
            raise VerificationError(f"the log signed a checkpoint of size {size} but holds only "
                        f"{tree.size} entries (rolled back)")
        if tree.root(size) != root:
            raise VerificationError(
                f"signed checkpoint of size {size} has root {b64(root)} but the stored "
                f"entries give {b64(tree.root(size))} (log tampered)")
        report.checkpoints_checked += 1
        latest_note = note
    head = _check_head(store, tree, log_key)
    if head is not None and (latest_note is None or head[0] > Checkpoint.parse(
            parse_note(latest_note).text).size):
        latest_note = head[1]
    if trusted_checkpoint is not None:
        _check_trusted(tree, trusted_checkpoint, latest_note, log_key, evidence_path, report)
    if latest_note is None:
        if threshold or tree.size:
            raise VerificationError("the log holds no signed checkpoint")
    else:
        try:
            latest = verify_checkpoint(latest_note, log_key, witness_keys, threshold)
        except AuditError as exc:
            raise VerificationError(f"latest checkpoint: {exc}") from None
        report.latest_checkpoint_size = latest.size
        report.unwitnessed_entries = tree.size - latest.size
        verified = parse_note(latest_note).verify(list(witness_keys))
        report.cosigners = sorted(v.name for v in witness_keys if v.vkey in verified)
    return report


def _check_head(store: LogStore, tree: _Tree, log_key: Verifier) -> tuple[int, str] | None:
    """Check the head file against the recomputed tree; return (size, note) if there is one."""
    try:
        head = store.head_file()
    except AuditError as exc:
        raise VerificationError(str(exc)) from None
    if head is None:
        return None
    size, root, note = head
    try:
        verify_checkpoint(note, log_key)
    except AuditError as exc:
        raise VerificationError(f"signed head {store.head_path}: {exc}") from None
    if size > tree.size:
        raise VerificationError(
            f"the log signed a checkpoint of size {size} (its signed head {store.head_path}) "
            f"but holds only {tree.size} entries (rolled back)")
    if tree.root(size) != root:
        raise VerificationError(
            f"the signed head {store.head_path} of size {size} has root {b64(root)} but the "
            f"stored entries give {b64(tree.root(size))} (log tampered)")
    return size, note


def _check_trusted(tree: _Tree, trusted_note: str, latest_note: str | None,
                   log_key: Verifier, evidence_path: str | os.PathLike[str] | None,
                   report: VerificationReport) -> None:
    try:
        trusted = verify_checkpoint(trusted_note, log_key)
    except AuditError as exc:
        raise VerificationError(f"trusted checkpoint: {exc}") from None
    report.trusted_checkpoint_size = trusted.size
    if trusted.size > tree.size:
        raise VerificationError(
            f"log rolled back: a checkpoint of size {trusted.size} was signed but the log "
            f"holds {tree.size} entries")
    if tree.root(trusted.size) == trusted.root:
        return
    message = (f"log is inconsistent with the trusted checkpoint of size {trusted.size}: "
               f"it signed root {b64(trusted.root)}, the log's entries give "
               f"{b64(tree.root(trusted.size))}")
    if latest_note is not None and evidence_path is not None:
        evidence = misbehaviour_evidence(tree, trusted_note, latest_note, log_key)
        try:
            with open(evidence_path, "w", encoding="utf-8") as fh:
                json.dump(evidence, fh, indent=2)
        except OSError as exc:
            message += (f"; could not write the proof of misbehaviour to {evidence_path}: "
                        f"{exc.strerror}")
        else:
            report.evidence_file = str(evidence_path)
            message += f"; proof of misbehaviour written to {evidence_path}"
    raise VerificationError(message)


def misbehaviour_evidence(tree: _Tree, old_note: str, new_note: str,
                          log_key: Verifier) -> dict[str, Any]:
    """Two log-signed checkpoints plus the consistency proof the log's tree yields."""
    old = Checkpoint.parse(parse_note(old_note).text)
    new = Checkpoint.parse(parse_note(new_note).text)
    proof = consistency_proof(tree.node, old.size, new.size) if 0 < old.size <= new.size else []
    return {
        "kind": EVIDENCE_KIND,
        "log_key": log_key.vkey,
        "old_checkpoint": old_note,
        "new_checkpoint": new_note,
        "consistency_proof": [b64(p) for p in proof],
        "implied_old_root": b64(tree.root(old.size)),
    }


_EVIDENCE_FIELDS = {"kind": str, "log_key": str, "old_checkpoint": str,
                    "new_checkpoint": str, "consistency_proof": list, "implied_old_root": str}
MAX_EVIDENCE_BYTES = 1 << 20


def check_misbehaviour_evidence(evidence: dict[str, Any] | str | bytes,
                                log_key: Verifier) -> str:
    """Re-check a proof of misbehaviour; return what it proves or raise VerificationError.

    ``evidence`` is the file's JSON text (parsed with :func:`strictjson.loads`) or the
    object it holds; every field's type is checked before use.
    """
    if isinstance(evidence, str | bytes):
        evidence = strictjson.loads(evidence, what="misbehaviour evidence",
                                    error=VerificationError, allow_floats=False,
                                    max_bytes=MAX_EVIDENCE_BYTES)
    strictjson.fields(evidence, _EVIDENCE_FIELDS, what="misbehaviour evidence",
                      error=VerificationError)
    if evidence["kind"] != EVIDENCE_KIND:
        raise VerificationError("not an audit misbehaviour file")
    proof_items = evidence["consistency_proof"]
    if len(proof_items) > 128 or not all(isinstance(p, str) for p in proof_items):
        raise VerificationError("malformed evidence: consistency_proof is a list of at most "
                                "128 base64 strings")
    try:
        old = verify_checkpoint(evidence["old_checkpoint"], log_key)
        new = verify_checkpoint(evidence["new_checkpoint"], log_key)
        proof = [unb64(p, "proof item") for p in proof_items]
        implied = unb64(evidence["implied_old_root"], "implied root")
    except AuditError as exc:
        raise VerificationError(f"malformed evidence: {exc}") from None
    if old.size == new.size:
        if old.root != new.root:
            return f"the log signed two different trees of size {old.size}"
        raise VerificationError("the two checkpoints are identical")
    if old.size > new.size:
        raise VerificationError("old checkpoint is larger than the new one")
    try:
        verify_consistency(old.size, new.size, proof, old.root, new.root)
    except ProofError:
        pass
    else:
        raise VerificationError("the consistency proof verifies: the checkpoints are consistent")
    try:
        verify_consistency(old.size, new.size, proof, implied, new.root)
    except ProofError as exc:
        raise VerificationError(f"the log's proof does not reach its own new root: {exc}") from None
    if implied == old.root:
        raise VerificationError("implied old root equals the signed one")
    return (f"the log signed size {old.size} with root {b64(old.root)}, but its signed "
            f"size {new.size} extends a tree whose size-{old.size} root is {b64(implied)}")
