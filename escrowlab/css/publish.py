"""Each database version's table root in the witnessed audit log, and the device's check of
the table it holds (docs/css_matcher.md, "Published roots").

Apple, "Security Threat Model Review of Apple's Child Safety Features" (2021): a root hash of
the encrypted database of each OS version is published in a Knowledge Base article, users
can compare it with the root of the database on their device, and an auditor can be shown,
on Apple's premises, that the database is exactly the suppliers' intersection. Here the
root is the RFC 9162 Merkle tree hash of :meth:`escrow.css.psi.BlindedTable.leaves`
(:func:`audit.rfc9162.root_from_leaf_hashes`), appended as an entry ``css.database``
(version, root, slots) to an :class:`audit.log.AuditLog` whose checkpoints the witness
quorum cosigns, like the key-transparency epochs
(:mod:`audit.kt.directory`). A device given a table and the receipt of its version's entry
accepts the table only if the receipt is under a checkpoint with the quorum
(:func:`audit.receipt.verify_receipt`) and names that version and the table's root
(:func:`check_table`); anything else is a :class:`TableRootError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.entries import Entry
from audit.errors import AuditError
from audit.log import AuditLog
from audit.receipt import Receipt, verify_receipt
from audit.rfc9162 import hash_leaf, root_from_leaf_hashes
from audit.trust import Trust
from escrow.css.errors import CssError
from escrow.css.psi import BlindedTable

DATABASE_ENTRY_TYPE = "css.database"


class TableRootError(CssError):
    """A table whose root is not the published, witnessed root of its version."""


def table_root(table: BlindedTable) -> bytes:
    """The RFC 9162 Merkle tree hash over the table's leaves."""
    return root_from_leaf_hashes([hash_leaf(leaf) for leaf in table.leaves()])


@dataclass(frozen=True)
class PublishedRoot:
    """A version's root as the log holds it, with the receipt a device checks."""

    version: int
    root: bytes
    receipt: Receipt


class DatabasePublisher:
    """The provider's side: one log entry per database version, never two for one."""

    def __init__(self, log: AuditLog, name: str = "css-matcher") -> None:
        self.log = log
        self.name = name
        self._published: dict[int, int] = {}

    def publish(self, table: BlindedTable) -> PublishedRoot:
        """Append ``table``'s root for its version; return the receipt."""
        if table.version in self._published:
            raise TableRootError(f"database version {table.version} is already published")
        root = table_root(table)
        receipt = self.log.append_event(DATABASE_ENTRY_TYPE, self.name,
                                        {"version": table.version, "root": root.hex(),
                                         "slots": table.size})
        self._published[table.version] = receipt.index
        return PublishedRoot(table.version, root, receipt)

    def receipt(self, version: int) -> Receipt:
        """The receipt of ``version``'s entry under the log's latest checkpoint."""
        index = self._published.get(version)
        if index is None:
            raise TableRootError(f"database version {version} is not published")
        return self.log.receipt(index)


def check_table(table: BlindedTable, receipt: Receipt, trust: Trust) -> bytes:
    """The table's root if ``receipt`` proves it is the published, witnessed root of the
    table's version (:class:`TableRootError` otherwise)."""
    try:
        verify_receipt(receipt, trust.log_key, trust.witness_keys, trust.quorum)
        entry = Entry.decode(receipt.entry)
    except AuditError as exc:
        raise TableRootError(f"the receipt of database version {table.version} does not "
                             f"verify: {exc}") from None
    payload = entry.payload
    if entry.type != DATABASE_ENTRY_TYPE or payload.get("version") != table.version:
        raise TableRootError(f"the receipt is not the entry of database version "
                             f"{table.version}")
    root = table_root(table)
    if payload.get("root") != root.hex() or payload.get("slots") != table.size:
        raise TableRootError(f"the table held for database version {table.version} is not "
                             "the published one")
    return root
