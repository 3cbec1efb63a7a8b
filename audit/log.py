"""The audit log: appends entries, signs checkpoints, gets them witnessed, hands out receipts.

``AuditLog`` ties the pieces together: :mod:`audit.storage` (leaves and nodes),
:mod:`audit.entries` (canonical events), :mod:`audit.checkpoint` / :mod:`audit.note`
(C2SP signed checkpoints) and :mod:`audit.quorum` (witness cosignatures).

The log never signs two inconsistent checkpoints (C2SP tlog-checkpoint, "Signatures": "A
log MUST not sign any checkpoint which is inconsistent with any checkpoint it previously
signed"): before signing it checks that the last checkpoint it signed is a prefix of the
current tree, by recomputing that checkpoint's root from the stored nodes; a smaller
tree (rollback) or a different root (fork) raises :class:`LogSigningError` and nothing
is signed. "The last checkpoint it signed" is :meth:`LogStore.signed_head`: the head
file beside the database as well as the database's own table, so a database that a
damaged WAL recovered to an older state cannot make the log forget what it signed
(:mod:`audit.storage`, "The signed head"); the head's signature is checked too.

Appends check the same before writing anything: the stored right edge must still give
the signed root (a damaged node or leaf hash on the edge, or a rolled-back database, is
refused with :class:`LogSigningError` and nothing is appended), and a log whose database
records a witness quorum refuses appends from an ``AuditLog`` without one
(:class:`QuorumError`), since their checkpoints could never verify.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from audit.checkpoint import Checkpoint
from audit.clock import Clock, SystemClock
from audit.entries import Entry
from audit.errors import AuditError, LogSigningError, QuorumError, StorageError
from audit.note import SIG_TYPE_ED25519, SignedNote, Signer, parse_note
from audit.quorum import WitnessQuorum
from audit.receipt import Receipt
from audit.storage import DEFAULT_DURABILITY, LogStore


class AuditLog:
    """A signed, optionally witnessed, append-only log of :class:`Entry` events."""

    def __init__(self, store: LogStore, signer: Signer, *, clock: Clock | None = None,
                 quorum: WitnessQuorum | None = None) -> None:
        if signer.sig_type != SIG_TYPE_ED25519:
            raise LogSigningError("a log signs checkpoints with an Ed25519 note key")
        origin = store.get_meta("origin")
        if origin is None:
            store.set_meta("origin", signer.name)
            store.set_meta("log_key", signer.vkey)
        elif origin != signer.name or store.get_meta("log_key") != signer.vkey:
            raise StorageError(f"log {store.path} belongs to {origin!r}, not this key")
        self.store = store
        self.signer = signer
        self.clock = clock or SystemClock()
        self.quorum = quorum

    @classmethod
    def open(cls, path: str | os.PathLike[str], signer: Signer, *, create: bool = True,
             durability: str = DEFAULT_DURABILITY, clock: Clock | None = None,
             quorum: WitnessQuorum | None = None) -> AuditLog:
        return cls(LogStore(path, create=create, durability=durability), signer,
                   clock=clock, quorum=quorum)

    def close(self) -> None:
        self.store.close()

    @property
    def origin(self) -> str:
        return self.signer.name

    @property
    def size(self) -> int:
        return self.store.size

    # -- appends -------------------------------------------------------------

    def event(self, type: str, actor: str, payload: Mapping[str, Any]) -> Entry:
        """An entry stamped with the log's clock (milliseconds)."""
        return Entry(type, actor, int(self.clock.now() * 1000), payload)

    def append_event(self, type: str, actor: str, payload: Mapping[str, Any]) -> Receipt:
        """Append one event durably, sign (and witness) a checkpoint, return its receipt."""
        return self.append_events([(type, actor, payload)])[0]

    def append_events(
        self, events: Iterable[tuple[str, str, Mapping[str, Any]]]
    ) -> list[Receipt]:
        """Append events in one atomic transaction; one checkpoint covers them all.

        The entries are durable once appended ("log, then act"): if the witnesses then
        refuse a quorum, :class:`QuorumError` is raised with the entries in the log but
        no receipt, and :meth:`receipt` can be retried later.
        """
        data = [self.event(t, a, p).encode() for t, a, p in events]
        self.check_appendable()
        first = self.store.append_batch(data)
        note = self.checkpoint()
        size = Checkpoint.parse(note.text).size
        return [self.receipt(first + i, note, size) for i in range(len(data))]

    def receipt(self, index: int, note: SignedNote | None = None,
                size: int | None = None) -> Receipt:
        """A receipt for entry ``index`` under ``note`` (default: the latest checkpoint)."""
        if note is None:
            latest = self.store.latest_checkpoint()
            if latest is None or latest.size <= index:
                note = self.checkpoint()
            else:
                note = parse_note(latest.note)
        size = Checkpoint.parse(note.text).size if size is None else size
        return Receipt(index, self.store.leaf(index),
                       tuple(self.store.inclusion_proof(index, size)), note.encode())

    def check_appendable(self) -> None:
        """Raise unless appending now keeps the log verifiable; nothing is written.

        :class:`QuorumError` if the log records a witness quorum and this handle has
        none; :class:`LogSigningError` if the tree no longer extends the signed head, or
        a node on its right edge does not match the nodes or leaf bytes below it
        (:meth:`LogStore.check_right_edge`).
        """
        recorded = self.store.get_meta("quorum")
        if self.quorum is None and recorded not in (None, "0"):
            raise QuorumError(
                f"log {self.store.path} records a quorum of {recorded} witness cosignatures; "
                "appending without witnesses would sign checkpoints that never verify")
        self._check_extends_head(self.store.refresh())
        try:
            self.store.check_right_edge()
        except StorageError as exc:
            raise LogSigningError(f"refusing to append: {exc}") from None

    def _check_extends_head(self, size: int) -> SignedNote | None:
        """The signed head, after checking that the current tree of ``size`` extends it."""
        head = self.store.signed_head()
        if head is None:
            return None
        old_size, old_root, old_note = head
        where = f"log {self.store.path}"
        try:
            signed = parse_note(old_note)
            verified = signed.verify([self.signer.verifier])
        except AuditError as exc:
            raise LogSigningError(f"{where}: the recorded signed head is damaged ({exc})") \
                from None
        if self.signer.verifier.vkey not in verified:
            raise LogSigningError(f"{where}: the recorded signed head is not signed by this "
                                  "log's key")
        if old_size > size:
            raise LogSigningError(
                f"{where}: refusing to sign size {size}: the log already signed size "
                f"{old_size} (the database was rolled back, e.g. recovered from a damaged "
                f"WAL, or restored from an old copy; restore the lost entries)")
        if self.store.root(old_size) != old_root:
            raise LogSigningError(
                f"{where}: refusing to sign size {size}: the stored tree no longer gives the "
                f"root of the signed checkpoint of size {old_size} (damaged or rewritten "
                f"nodes or leaves)")
        return signed

    # -- checkpoints -----------------------------------------------------------

    def sign_checkpoint(self) -> SignedNote:
        """Sign the current tree head, refusing one inconsistent with the last signed."""
        size = self.store.refresh()
        root = self.store.root()
        signed = self._check_extends_head(size)
        if signed is not None and Checkpoint.parse(signed.text).size == size:
            return signed
        body = Checkpoint(self.origin, size, root).body()
        note = SignedNote(body, (self.signer.sign(body),))
        self.store.save_checkpoint(size, root, note.encode())
        return note

    def checkpoint(self) -> SignedNote:
        """The signed checkpoint of the current tree, cosigned by the quorum if any."""
        note = self.sign_checkpoint()
        if self.quorum is not None:
            note = self.quorum.cosign(note.encode(), self.store.consistency_proof)
            cp = Checkpoint.parse(note.text)
            self.store.save_checkpoint(cp.size, cp.root, note.encode())
            self._record_quorum()
        return note

    def _record_quorum(self) -> None:
        """Record the witness keys and threshold (the verifier's defaults) once they cosigned."""
        assert self.quorum is not None
        keys = "\n".join(v.vkey for v in self.quorum.verifiers)
        if self.store.get_meta("witness_keys") != keys:
            self.store.set_meta("witness_keys", keys)
        if self.store.get_meta("quorum") != str(self.quorum.threshold):
            self.store.set_meta("quorum", str(self.quorum.threshold))

    def append(self, data: bytes) -> int:
        """Append one raw leaf (already-encoded entry bytes); return its index."""
        return self.store.append(data)

    def append_batch(self, items: Sequence[bytes]) -> int:
        return self.store.append_batch(items)
