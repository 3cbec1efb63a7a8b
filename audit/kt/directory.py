"""The provider's key-transparency directory (docs/key_transparency.md, "Epochs").

:class:`KeyDirectory` keeps every user's entry (:mod:`audit.kt.value`), takes device
lists as they change (:meth:`KeyDirectory.stage`) and publishes an *epoch*
(:meth:`KeyDirectory.publish_epoch`): the staged lists become new versions, a new
prefix tree (:mod:`audit.kt.prefix_tree`) is built, and its root is appended as entry
``kt.epoch`` to the directory's own :class:`audit.log.AuditLog`, where epoch ``e`` is leaf
``e``. The log signs a C2SP checkpoint of it and its witness quorum cosigns it after a
consistency check, so the history of roots is append-only for anyone holding a
checkpoint. Lookups (:meth:`KeyDirectory.lookup`) answer with the proofs of
:mod:`audit.kt.lookup` for the latest or any earlier epoch, under the log's latest
checkpoint.

State is kept in memory (one tree per epoch); the log is the durable record. The
directory is the provider's: it publishes whatever lists the provider hands it, a ghost
device included. What makes that visible is the client side (:mod:`audit.kt.monitor`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from audit.kt.errors import KTEpochError, KTError
from audit.kt.lookup import EPOCH_ENTRY_TYPE, AbsenceProof, LookupProof
from audit.kt.prefix_tree import Leaf, PrefixTree, label
from audit.kt.value import DeviceSet, check_user, commitment
from audit.log import AuditLog
from audit.note import SignedNote, parse_note


@dataclass(frozen=True)
class Epoch:
    """One published epoch: every user's (version, devices), and the tree over them."""

    number: int
    entries: Mapping[str, tuple[int, DeviceSet]]
    tree: PrefixTree
    leaves: Mapping[str, Leaf]


class KeyDirectory:
    """A key-transparency directory whose epochs are the entries of ``log``."""

    def __init__(self, log: AuditLog, name: str = "kt-directory") -> None:
        if log.size != 0:
            raise KTError(f"the directory's log must start empty (it holds {log.size} "
                          "entries): epoch e is leaf e")
        self.log = log
        self.name = name
        self._entries: dict[str, tuple[int, DeviceSet]] = {}
        self._pending: dict[str, DeviceSet] = {}
        self._epochs: list[Epoch] = []

    @property
    def epoch(self) -> int:
        """The latest published epoch (-1 before the first)."""
        return len(self._epochs) - 1

    def stage(self, user: str, devices: Mapping[str, bytes]) -> None:
        """Record ``user``'s new device list for the next epoch (a later call replaces it)."""
        check_user(user)
        self._pending[user] = DeviceSet.of(devices)

    def pending(self) -> int:
        return len(self._pending)

    def publish_epoch(self) -> int:
        """Apply the staged lists, append the new root to the log; return the epoch.

        A list equal to the user's current one does not change the version. If the log
        refuses (e.g. the witnesses refuse a quorum), the directory keeps its state.
        """
        entries = dict(self._entries)
        for user, devices in self._pending.items():
            current = entries.get(user)
            if current is None or current[1] != devices:
                version = 1 if current is None else current[0] + 1
                entries[user] = (version, devices)
        previous = self._epochs[-1].leaves if self._epochs else {}
        leaves = {}
        for user, (version, devices) in entries.items():
            leaf = previous.get(user)  # an unchanged entry keeps its leaf (and commitment)
            if leaf is None or leaf.version != version:
                leaf = Leaf(label(user), version, commitment(user, version, devices))
            leaves[user] = leaf
        tree = PrefixTree(leaves.values())
        number = len(self._epochs)
        if self.log.size != number:
            raise KTEpochError(f"the directory's log holds {self.log.size} entries, expected "
                               f"{number}: something else was appended to it")
        self.log.append_event(EPOCH_ENTRY_TYPE, self.name,
                              {"epoch": number, "root": tree.root.hex(), "labels": len(tree)})
        self._epochs.append(Epoch(number, entries, tree, leaves))
        self._entries = entries
        self._pending = {}
        return number

    def _epoch(self, epoch: int | None) -> Epoch:
        if not self._epochs:
            raise KTEpochError("the directory has published no epoch yet")
        number = self.epoch if epoch is None else epoch
        if isinstance(number, bool) or not isinstance(number, int) or \
                not 0 <= number <= self.epoch:
            raise KTEpochError(f"epoch {epoch!r} is not published (latest {self.epoch})")
        return self._epochs[number]

    def lookup(self, user: str, epoch: int | None = None) -> LookupProof | AbsenceProof:
        """``user``'s entry at ``epoch`` (default the latest) with its proofs."""
        check_user(user)
        state = self._epoch(epoch)
        receipt = self.log.receipt(state.number)
        path = state.tree.prove(label(user))
        entry = state.entries.get(user)
        if entry is None:
            return AbsenceProof(user, state.number, path, receipt)
        version, devices = entry
        return LookupProof(user, state.number, version, devices, path, receipt)

    def checkpoint(self) -> SignedNote:
        """The log's latest (witnessed) checkpoint."""
        latest = self.log.store.latest_checkpoint()
        if latest is None:
            raise KTEpochError("the directory has published no epoch yet")
        return parse_note(latest.note)

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """The RFC 9162 consistency proof between two sizes of the directory's log."""
        return self.log.store.consistency_proof(old_size, new_size)

    def replicate(self, log: AuditLog, epochs: int | None = None) -> KeyDirectory:
        """A copy of the first ``epochs`` epochs (default all) of this directory on another,
        empty ``log`` signed by the same key: the same leaves, then epochs of its own. An
        honest mirror never diverges; a provider that makes one diverge has forked its log
        (the split view of docs/ghost.md)."""
        count = len(self._epochs) if epochs is None else epochs
        if isinstance(count, bool) or not isinstance(count, int) or \
                not 0 <= count <= len(self._epochs):
            raise KTEpochError(f"cannot replicate {epochs!r} of {len(self._epochs)} epochs")
        copy = KeyDirectory(log, self.name)
        for number in range(count):
            log.append(self.log.store.leaf(number))
        copy._epochs = self._epochs[:count]
        copy._entries = dict(copy._epochs[-1].entries) if count else {}
        return copy
