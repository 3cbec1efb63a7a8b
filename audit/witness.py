"""A witness (C2SP tlog-witness, https://c2sp.org/tlog-witness, "add-checkpoint").

For each log it knows (origin -> the log's verifier key) a witness keeps the last
checkpoint it cosigned. It cosigns a new checkpoint only when the log's signature
verifies and a valid RFC 9162 consistency proof leads from its stored checkpoint to the
new one; it never cosigns a smaller tree (:class:`WitnessRollbackError`) or a tree
inconsistent with its state (:class:`WitnessInconsistencyError`), and it tells a caller
whose idea of its state is stale its latest size (:class:`WitnessConflictError`, the
protocol's 409). The first checkpoint seen for a log is trusted on first use (old size
0, empty proof), as the protocol specifies.

The checks run in the spec's order, each with its own error (and HTTP status, see
:mod:`audit.http.witness_api`): malformed request (400), unknown origin (404), no valid
log signature (403), old size beyond the checkpoint's size (400, a rollback when that
old size is the witness's own), old size not the witness's latest (409 naming the
latest), same size but another root (409), proof that does not verify (422).

Trust on first use makes the state file precious: a witness that lost it would cosign
a fork. So a witness never starts from nothing by accident: its state file is created
only when the caller says so (``create=True``) and the path does not exist yet, and an
existing file must carry the witness schema (an empty or foreign file is refused,
unchanged; :mod:`audit.sqlitefile`).

State atomicity, in order: the check and the update run in one ``BEGIN IMMEDIATE``
transaction (a compare-and-swap on the stored size: two concurrent requests cannot both
advance it); the commit fsyncs the WAL (``synchronous=FULL``); only then is the
checkpoint cosigned and the answer sent. A crash before the commit leaves the previous
state (SQLite discards the uncommitted WAL frames). A crash after the commit and before
the answer loses only the answer: the witness never cosigned anything it has not
recorded, and the caller's retry gets a 409 naming the new size, then, from that size
with an empty proof, the same checkpoint cosigned again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from audit.checkpoint import Checkpoint
from audit.clock import Clock, SystemClock
from audit.errors import (
    NoteError,
    ProofError,
    StorageError,
    WitnessConflictError,
    WitnessError,
    WitnessForkError,
    WitnessInconsistencyError,
    WitnessRequestError,
    WitnessRollbackError,
    WitnessSignatureError,
    WitnessUnknownLogError,
)
from audit.note import SIG_TYPE_COSIGNATURE_V1, Signature, Signer, Verifier, parse_note
from audit.proof import verify_consistency
from audit.rfc9162 import HASH_SIZE
from audit.sqlitefile import open_owned, sqlite_errors

MAX_PROOF_HASHES = 128
STATE_FORMAT = "escrowlab-witness-state/1"
_STATE_SCHEMA = ("CREATE TABLE witnessed(origin TEXT PRIMARY KEY, size INTEGER NOT NULL, "
                 "root BLOB NOT NULL, note TEXT NOT NULL);")


class CosignedTree(NamedTuple):
    """Size and root hash of the last checkpoint a witness cosigned for one log."""

    size: int
    root: bytes


class Witness:
    """An in-process witness with its own cosigning key and its own state database.

    ``logs`` maps each origin to the log's verifier key (a sequence of keys maps each
    key's name). ``state_path`` must be an existing witness state, unless ``create`` is
    true and nothing exists at that path yet; ``":memory:"`` is always new.
    """

    def __init__(
        self,
        signer: Signer,
        logs: Mapping[str, Verifier] | Sequence[Verifier],
        state_path: str | os.PathLike[str] = ":memory:",
        clock: Clock | None = None,
        *,
        create: bool = False,
    ) -> None:
        if signer.sig_type != SIG_TYPE_COSIGNATURE_V1:
            raise WitnessError("a witness signs with a cosignature/v1 key")
        if not isinstance(logs, Mapping):
            logs = {v.name: v for v in logs}
        self.signer = signer
        self.logs = dict(logs)
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self.state_path = str(state_path)
        self._db = open_owned(self.state_path, STATE_FORMAT, _STATE_SCHEMA,
                              what="witness state", create=create,
                              pragmas={"synchronous": "FULL"})

    @classmethod
    def generate(cls, name: str, logs: Mapping[str, Verifier] | Sequence[Verifier],
                 state_path: str | os.PathLike[str] = ":memory:",
                 clock: Clock | None = None, *, create: bool = True) -> Witness:
        """A witness with a new key, so by default with a new state file too."""
        clock = clock or SystemClock()
        return cls(Signer.generate(name, SIG_TYPE_COSIGNATURE_V1, clock.now), logs,
                   state_path, clock, create=create)

    @property
    def name(self) -> str:
        return self.signer.name

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    def close(self) -> None:
        self._db.close()

    def latest(self, origin: str) -> CosignedTree | None:
        """The tree of the last checkpoint cosigned for ``origin``, if any."""
        with self._lock, sqlite_errors(f"witness state {self.state_path}"):
            return self._stored(origin)

    def _stored(self, origin: str) -> CosignedTree | None:
        """The stored (size, root), type-checked: an edited state is a StorageError."""
        row = self._db.execute(
            "SELECT size, root FROM witnessed WHERE origin=?", (origin,)
        ).fetchone()
        if row is None:
            return None
        size, root = row
        if type(size) is not int or size < 0 or not isinstance(root, bytes) or len(
                root) != HASH_SIZE:
            raise StorageError(f"witness state {self.state_path} is corrupt: the row of "
                               f"{origin!r} is not (size, 32-byte root)")
        return CosignedTree(size, root)

    def add_checkpoint(self, old_size: int, proof: Sequence[bytes], note: str) -> Signature:
        """Cosign ``note`` if it is consistent with this witness's state for its log.

        ``old_size`` is the size the caller believes this witness last cosigned (0 for
        none) and ``proof`` the consistency proof from that size to the note's size.
        Returns the cosignature; raises a :class:`WitnessError` subclass otherwise, with
        the state unchanged.
        """
        if type(old_size) is not int or old_size < 0:
            raise WitnessRequestError("old size must be a non-negative integer")
        if len(proof) > MAX_PROOF_HASHES:
            raise WitnessRequestError("consistency proof is too long")
        if not all(isinstance(p, bytes) and len(p) == HASH_SIZE for p in proof):
            raise WitnessRequestError(f"each consistency proof line is a {HASH_SIZE}-byte hash")
        try:
            signed = parse_note(note)
            checkpoint = Checkpoint.parse(signed.text)
        except NoteError as exc:
            raise WitnessRequestError(f"malformed checkpoint: {exc}") from None
        log_key = self.logs.get(checkpoint.origin)
        if log_key is None:
            raise WitnessUnknownLogError(f"unknown log {checkpoint.origin!r}")
        try:
            verified = signed.verify([log_key])
        except NoteError as exc:
            raise WitnessSignatureError(f"checkpoint signature: {exc}") from None
        if log_key.vkey not in verified:
            raise WitnessSignatureError(
                f"checkpoint is not signed by the log {checkpoint.origin!r}")
        with self._lock:
            self._advance(checkpoint, old_size, proof, signed.encode())
        return self.signer.sign(signed.text)

    def _advance(self, cp: Checkpoint, old_size: int, proof: Sequence[bytes], note: str) -> None:
        db = self._db
        with sqlite_errors(f"witness state {self.state_path}"):
            db.execute("BEGIN IMMEDIATE")
            try:
                stored = self._stored(cp.origin)
                size, root = (0, b"") if stored is None else stored
                if old_size > cp.size:
                    if old_size == size:
                        raise WitnessRollbackError(size, cp.size)
                    raise WitnessRequestError(
                        f"old size {old_size} is larger than the checkpoint's size {cp.size}")
                if old_size != size:
                    raise WitnessConflictError(size, old_size)
                if stored is not None and size == cp.size and root != cp.root:
                    raise WitnessForkError(
                        f"checkpoint of size {cp.size} has another root than the one this "
                        f"witness cosigned at that size")
                if size == 0 or size == cp.size:
                    if proof:
                        raise WitnessInconsistencyError(
                            f"a consistency proof from size {size} to {cp.size} is empty")
                else:
                    try:
                        verify_consistency(size, cp.size, proof, root, cp.root)
                    except ProofError as exc:
                        raise WitnessInconsistencyError(
                            f"checkpoint of size {cp.size} is inconsistent with the cosigned "
                            f"checkpoint of size {size}: {exc}"
                        ) from None
                db.execute(
                    "INSERT INTO witnessed VALUES(?, ?, ?, ?) ON CONFLICT(origin) DO UPDATE "
                    "SET size=excluded.size, root=excluded.root, note=excluded.note",
                    (cp.origin, cp.size, cp.root, note),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
