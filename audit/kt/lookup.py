"""What a client is served, and how it checks it offline (docs/key_transparency.md,
"Lookups").

A :class:`LookupProof` says: at epoch ``epoch`` the directory maps ``user`` to
``(version, commitment(devices))``. It carries the prefix-tree path of the user's label
(:mod:`audit.kt.prefix_tree`) and the audit-log receipt (:mod:`audit.receipt`) of the
epoch's entry: that entry is leaf number ``epoch`` of the directory's own RFC 9162 log and
names the epoch's tree root, and the receipt proves it is included under a C2SP
checkpoint the witness quorum cosigned. Because the tree holds one leaf per label, a
valid membership under the epoch's root shows the value is *the latest* at that epoch:
there is no other version of the user in that tree to be stale against. An
:class:`AbsenceProof` shows a user has no entry at an epoch.

:func:`verify_lookup` and :func:`verify_absence_proof` are pure: they raise a
:class:`audit.kt.errors.KTError` subclass on any failure (another user's proof, a leaf
or a device edited, the wrong epoch, a stale version, a truncated path, a checkpoint
without the quorum) and return what was proven.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.checkpoint import Checkpoint
from audit.entries import Entry
from audit.errors import AuditError
from audit.kt.errors import KTEpochError, KTError, KTProofError
from audit.kt.prefix_tree import Leaf, PathProof, label, verify_absence, verify_membership
from audit.kt.value import DeviceSet, check_user, commitment
from audit.note import Verifier
from audit.proof import verify_inclusion
from audit.quorum import verify_checkpoint
from audit.receipt import Receipt, verify_receipt
from audit.rfc9162 import hash_leaf

EPOCH_ENTRY_TYPE = "kt.epoch"


@dataclass(frozen=True)
class KTTrust:
    """What a client pins: the directory log's key, the witnesses' keys and the quorum."""

    log_key: Verifier
    witness_keys: tuple[Verifier, ...] = ()
    threshold: int = 0


@dataclass(frozen=True)
class EpochHead:
    """A verified epoch: its number, its tree root, and the checkpoint that covers it."""

    epoch: int
    root: bytes
    checkpoint: Checkpoint


@dataclass(frozen=True)
class LookupProof:
    user: str
    epoch: int
    version: int
    devices: DeviceSet
    path: PathProof
    receipt: Receipt

    def size(self) -> int:
        """Bytes of the proof proper: tree path plus the log inclusion proof."""
        return self.path.size() + 32 * len(self.receipt.proof) + len(self.receipt.entry)


@dataclass(frozen=True)
class AbsenceProof:
    user: str
    epoch: int
    path: PathProof
    receipt: Receipt


@dataclass(frozen=True)
class VerifiedLookup:
    """What :func:`verify_lookup` proved."""

    user: str
    epoch: int
    version: int
    devices: DeviceSet
    head: EpochHead


class CheckpointCache:
    """Checkpoints a client already verified under its trust, by their exact note text: a
    checkpoint covers every lookup of its epoch, so its signatures are checked once."""

    MAX_ENTRIES = 64

    def __init__(self) -> None:
        self._verified: dict[str, Checkpoint] = {}

    def verified(self, note: str, trust: KTTrust) -> Checkpoint:
        checkpoint = self._verified.get(note)
        if checkpoint is None:
            checkpoint = verify_checkpoint(note, trust.log_key, trust.witness_keys,
                                           trust.threshold)
            if len(self._verified) >= self.MAX_ENTRIES:
                self._verified.clear()
            self._verified[note] = checkpoint
        return checkpoint


def verify_epoch(receipt: Receipt, epoch: int, trust: KTTrust,
                 cache: CheckpointCache | None = None) -> EpochHead:
    """Check that ``receipt`` is the entry of ``epoch`` (leaf ``epoch`` of the directory's
    log) under a checkpoint with the quorum; return the epoch's root. A ``cache`` holds
    checkpoints verified before under the same ``trust``."""
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise KTEpochError("an epoch is a non-negative integer")
    if not isinstance(receipt, Receipt):
        raise KTEpochError("the epoch's receipt is missing")
    try:
        if cache is None:
            checkpoint = verify_receipt(receipt, trust.log_key, trust.witness_keys,
                                        trust.threshold)
        else:
            checkpoint = cache.verified(receipt.checkpoint, trust)
            if receipt.index >= checkpoint.size:
                raise KTEpochError(f"entry {receipt.index} is beyond the checkpoint")
            verify_inclusion(receipt.index, checkpoint.size, hash_leaf(receipt.entry),
                             receipt.proof, checkpoint.root)
        entry = Entry.decode(receipt.entry)
    except KTError:
        raise
    except AuditError as exc:
        raise KTEpochError(f"epoch {epoch} is not under a witnessed checkpoint: {exc}") \
            from None
    if receipt.index != epoch:
        raise KTEpochError(f"the receipt is of log entry {receipt.index}, not epoch {epoch}")
    payload = entry.payload
    if entry.type != EPOCH_ENTRY_TYPE or payload.get("epoch") != epoch or \
            not isinstance(payload.get("root"), str):
        raise KTEpochError(f"log entry {receipt.index} is not the entry of epoch {epoch}")
    try:
        root = bytes.fromhex(payload["root"])
    except ValueError:
        raise KTEpochError("the epoch entry's root is not hex") from None
    if len(root) != 32:
        raise KTEpochError("the epoch entry's root is not 32 bytes")
    return EpochHead(epoch, root, checkpoint)


def verify_lookup(proof: LookupProof, user: str, trust: KTTrust,
                  cache: CheckpointCache | None = None) -> VerifiedLookup:
    """Check that ``proof`` shows ``user``'s latest entry at its epoch (module docstring)."""
    check_user(user)
    if not isinstance(proof, LookupProof):
        raise KTProofError("not a lookup proof")
    if proof.user != user:
        raise KTProofError(f"the proof is for user {proof.user!r}, not {user!r}")
    if not isinstance(proof.devices, DeviceSet):
        raise KTProofError("the proof's device set is malformed")
    head = verify_epoch(proof.receipt, proof.epoch, trust, cache)
    leaf = Leaf(label(user), proof.version, commitment(user, proof.version, proof.devices))
    verify_membership(head.root, leaf, proof.path)
    return VerifiedLookup(user, proof.epoch, proof.version, proof.devices, head)


def verify_absence_proof(proof: AbsenceProof, user: str, trust: KTTrust,
                         cache: CheckpointCache | None = None) -> EpochHead:
    """Check that ``user`` has no entry at the proof's epoch."""
    check_user(user)
    if not isinstance(proof, AbsenceProof):
        raise KTProofError("not an absence proof")
    if proof.user != user:
        raise KTProofError(f"the proof is for user {proof.user!r}, not {user!r}")
    head = verify_epoch(proof.receipt, proof.epoch, trust, cache)
    verify_absence(head.root, label(user), proof.path)
    return head
