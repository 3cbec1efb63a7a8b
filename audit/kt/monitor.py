"""A client's monitoring of the directory (docs/key_transparency.md, "Monitoring").

Two jobs, as in CONIKS and the IETF keytrans architecture:

- :class:`History` keeps the last directory checkpoint a client verified and accepts a
  later epoch only if its checkpoint has the quorum and a valid RFC 9162 consistency proof
  leads to it from the one held (append-only history between epochs); an older epoch than
  one already seen is a rollback. Every lookup a client verifies goes through it.
- :class:`SelfMonitor` is run by a user's own device: at every epoch it looks up its own
  entry and compares the devices with the ones the user approved. A device (or an
  identity key) the user did not add is reported (:class:`Alert`) in the epoch it first
  appears; a version that goes down, an entry that disappears, or a history that forks
  raises :class:`audit.kt.errors.KTHistoryError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from audit.errors import ProofError
from audit.kt.errors import KTEpochError, KTHistoryError
from audit.kt.lookup import (
    AbsenceProof,
    CheckpointCache,
    EpochHead,
    KTTrust,
    LookupProof,
    VerifiedLookup,
    verify_absence_proof,
    verify_lookup,
)
from audit.kt.value import DeviceSet
from audit.note import SignedNote
from audit.proof import verify_consistency


class DirectoryServer(Protocol):
    """What a client asks the provider's directory (a :class:`audit.kt.directory.KeyDirectory`
    in process, or any transport in front of one)."""

    @property
    def epoch(self) -> int: ...

    def lookup(self, user: str, epoch: int | None = None) -> LookupProof | AbsenceProof: ...

    def checkpoint(self) -> SignedNote: ...

    def consistency(self, old_size: int, new_size: int) -> list[bytes]: ...


class History:
    """The last verified checkpoint of the directory's log and epoch, kept append-only."""

    def __init__(self) -> None:
        self.size = 0
        self.root = b""
        self.epoch = -1

    def observe(self, head: EpochHead, consistency: Sequence[bytes] | None) -> None:
        """Accept ``head`` if it does not roll back and its checkpoint extends the one held
        (``consistency`` is the proof from :attr:`size` to the head's size; ``None`` when
        nothing is held yet or the sizes are equal)."""
        checkpoint = head.checkpoint
        if head.epoch < self.epoch or checkpoint.size < self.size:
            raise KTHistoryError(f"rollback: epoch {head.epoch} (log size {checkpoint.size}) "
                                 f"after epoch {self.epoch} (log size {self.size})")
        if self.size:
            try:
                verify_consistency(self.size, checkpoint.size,
                                   list(consistency or ()), self.root, checkpoint.root)
            except ProofError as exc:
                raise KTHistoryError(f"the directory's history forked between log sizes "
                                     f"{self.size} and {checkpoint.size}: {exc}") from None
        self.size, self.root = checkpoint.size, checkpoint.root
        self.epoch = max(self.epoch, head.epoch)

    def proof_needed(self, head: EpochHead) -> tuple[int, int] | None:
        """The (old, new) sizes of the consistency proof :meth:`observe` needs, if any."""
        if self.size and head.checkpoint.size > self.size:
            return self.size, head.checkpoint.size
        return None


def checked_lookup(server: DirectoryServer, user: str, trust: KTTrust, history: History,
                   epoch: int | None = None,
                   cache: CheckpointCache | None = None) -> VerifiedLookup | EpochHead:
    """Look ``user`` up, verify the proof and advance ``history`` with the epoch's checkpoint;
    a :class:`VerifiedLookup`, or the :class:`EpochHead` of a verified absence."""
    proof = server.lookup(user, epoch)
    if isinstance(proof, AbsenceProof):
        head = verify_absence_proof(proof, user, trust, cache)
        result: VerifiedLookup | EpochHead = head
    else:
        result = verify_lookup(proof, user, trust, cache)
        head = result.head
    if epoch is not None and head.epoch != epoch:
        raise KTEpochError(f"asked for epoch {epoch}, served epoch {head.epoch}")
    sizes = history.proof_needed(head)
    history.observe(head, server.consistency(*sizes) if sizes else None)
    return result


@dataclass(frozen=True)
class Alert:
    """A change of the user's own entry the user did not make."""

    epoch: int
    version: int
    added: tuple[str, ...]
    removed: tuple[str, ...]


class SelfMonitor:
    """A user's check of its own entry at every epoch since the last check."""

    def __init__(self, server: DirectoryServer, user: str, trust: KTTrust) -> None:
        self.server = server
        self.user = user
        self.trust = trust
        self.history = History()
        self.checked_epoch = -1
        self.version = 0
        self.lookups = 0
        self.cache = CheckpointCache()

    def check(self, approved: Mapping[str, bytes]) -> list[Alert]:
        """Check every epoch since the last check against the devices the user ``approved``
        (address -> identity bytes); return an alert per epoch that shows others."""
        expected = DeviceSet.of(approved)
        alerts = []
        for epoch in range(self.checked_epoch + 1, self.server.epoch + 1):
            result = checked_lookup(self.server, self.user, self.trust, self.history, epoch,
                                    self.cache)
            self.lookups += 1
            self.checked_epoch = epoch
            if isinstance(result, EpochHead):
                if self.version:
                    raise KTHistoryError(f"the entry of {self.user} (version {self.version}) "
                                         f"is omitted at epoch {epoch}")
                continue
            if result.version < self.version:
                raise KTHistoryError(f"the version of {self.user} went down from "
                                     f"{self.version} to {result.version} at epoch {epoch}")
            changed = result.version != self.version
            self.version = result.version
            seen, want = result.devices.as_dict(), expected.as_dict()
            added = tuple(sorted(a for a in seen if want.get(a) != seen[a]))
            if changed and added:
                alerts.append(Alert(epoch, result.version, added,
                                    tuple(sorted(a for a in want if a not in seen))))
        return alerts
