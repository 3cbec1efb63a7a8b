"""A witness (C2SP tlog-witness, https://c2sp.org/tlog-witness, "add-checkpoint").

For each log it knows (origin -> the log's verifier key) a witness keeps the last
checkpoint it cosigned. It cosigns a new checkpoint only when the log's signature
verifies and a valid RFC 9162 consistency proof leads from its stored checkpoint to the
new one; it never cosigns a smaller tree (:class:`WitnessRollbackError`) or a tree
inconsistent with its state (:class:`WitnessInconsistencyError`), and it tells a caller
whose idea of its state is stale its latest size (:class:`WitnessConflictError`, the
protocol's 409). The first checkpoint seen for a log is trusted on first use (old size
0, empty proof), as the protocol specifies.

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

from audit.checkpoint import Checkpoint
from audit.clock import Clock, SystemClock
from audit.errors import (
    NoteError,
    ProofError,
    WitnessConflictError,
    WitnessError,
    WitnessInconsistencyError,
    WitnessRollbackError,
)
from audit.note import SIG_TYPE_COSIGNATURE_V1, Signature, Signer, Verifier, parse_note
from audit.proof import verify_consistency
from audit.sqlitefile import open_owned, sqlite_errors

MAX_PROOF_HASHES = 128
STATE_FORMAT = "escrowlab-witness-state/1"
_STATE_SCHEMA = ("CREATE TABLE witnessed(origin TEXT PRIMARY KEY, size INTEGER NOT NULL, "
                 "root BLOB NOT NULL, note TEXT NOT NULL);")


class Witness:
    """An in-process witness with its own cosigning key and its own state database."""

    def __init__(
        self,
        signer: Signer,
        logs: Mapping[str, Verifier] | Sequence[Verifier],
        state_path: str | os.PathLike[str] = ":memory:",
        clock: Clock | None = None,
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
                              what="witness state", create=True, pragmas={"synchronous": "FULL"})

    @classmethod
    def generate(cls, name: str, logs: Mapping[str, Verifier] | Sequence[Verifier],
                 state_path: str | os.PathLike[str] = ":memory:",
                 clock: Clock | None = None) -> Witness:
        clock = clock or SystemClock()
        return cls(Signer.generate(name, SIG_TYPE_COSIGNATURE_V1, clock.now), logs,
                   state_path, clock)

    @property
    def name(self) -> str:
        return self.signer.name

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    def close(self) -> None:
        self._db.close()

    def latest(self, origin: str) -> tuple[int, bytes] | None:
        """(size, root) of the last checkpoint cosigned for ``origin``, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT size, root FROM witnessed WHERE origin=?", (origin,)
            ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def add_checkpoint(self, old_size: int, proof: Sequence[bytes], note: str) -> Signature:
        """Cosign ``note`` if it is consistent with this witness's state for its log.

        ``old_size`` is the size the caller believes this witness last cosigned (0 for
        none) and ``proof`` the consistency proof from that size to the note's size.
        Returns the cosignature; raises a :class:`WitnessError` subclass otherwise, with
        the state unchanged.
        """
        if not isinstance(old_size, int) or old_size < 0:
            raise WitnessError("old size must be a non-negative integer")
        if len(proof) > MAX_PROOF_HASHES:
            raise WitnessError("consistency proof is too long")
        try:
            signed = parse_note(note)
            checkpoint = Checkpoint.parse(signed.text)
        except NoteError as exc:
            raise WitnessError(f"malformed checkpoint: {exc}") from None
        log_key = self.logs.get(checkpoint.origin)
        if log_key is None:
            raise WitnessError(f"unknown log {checkpoint.origin!r}")
        try:
            verified = signed.verify([log_key])
        except NoteError as exc:
            raise WitnessError(f"checkpoint signature: {exc}") from None
        if log_key.vkey not in verified:
            raise WitnessError(f"checkpoint is not signed by the log {checkpoint.origin!r}")
        with self._lock:
            self._advance(checkpoint, old_size, proof, signed.encode())
        return self.signer.sign(signed.text)

    def _advance(self, cp: Checkpoint, old_size: int, proof: Sequence[bytes], note: str) -> None:
        db = self._db
        with sqlite_errors(f"witness state {self.state_path}"):
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT size, root FROM witnessed WHERE origin=?", (cp.origin,)
                ).fetchone()
                size, root = (0, b"") if row is None else (row[0], bytes(row[1]))
                if cp.size < size:
                    raise WitnessRollbackError(size, cp.size)
                if old_size != size:
                    raise WitnessConflictError(size, old_size)
                if size == 0:
                    if proof:
                        raise WitnessInconsistencyError("old size 0 takes an empty proof")
                else:
                    try:
                        verify_consistency(size, cp.size, root, cp.root, proof)
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
