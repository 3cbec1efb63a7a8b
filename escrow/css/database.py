"""The provider's hash database: the intersection of two or more independent suppliers' hash
lists, one version at a time (docs/css_matcher.md, "Database"; Apple, "Security Threat Model
Review of Apple's Child Safety Features", 2021: the on-device database holds only hashes
submitted independently by two or more child-safety organisations operating in separate
sovereign jurisdictions).

A :class:`HashDatabase` is the sorted, de-duplicated intersection, the supplier names it came
from and its version. Its encoding is strict (:func:`decode` refuses anything
:meth:`HashDatabase.encode` would not write), so an auditor can compare one version byte for
byte with the intersection recomputed from the suppliers' lists.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from escrow.css.errors import DatabaseError

MIN_SUPPLIERS = 2
MAX_SUPPLIERS = 16
MAX_SUPPLIER_NAME = 64
MIN_HASH_BYTES = 4
MAX_HASH_BYTES = 64
MAX_ENTRIES = 1 << 16
MAX_VERSION = (1 << 32) - 1

_MAGIC = b"ELCSDB"
_FORMAT = 1


@dataclass(frozen=True)
class HashDatabase:
    """One version of the database: sorted distinct hashes of ``hash_bytes`` bytes each."""

    version: int
    hash_bytes: int
    suppliers: tuple[str, ...]
    hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) \
                or not 1 <= self.version <= MAX_VERSION:
            raise DatabaseError(f"a database version is in 1..{MAX_VERSION}")
        if not MIN_HASH_BYTES <= self.hash_bytes <= MAX_HASH_BYTES:
            raise DatabaseError(f"hashes are {MIN_HASH_BYTES}..{MAX_HASH_BYTES} bytes")
        _check_suppliers(self.suppliers)
        if len(self.hashes) > MAX_ENTRIES:
            raise DatabaseError(f"a database holds at most {MAX_ENTRIES} hashes")
        if any(not isinstance(h, bytes) or len(h) != self.hash_bytes for h in self.hashes):
            raise DatabaseError(f"every hash of this database is {self.hash_bytes} bytes")
        if list(self.hashes) != sorted(set(self.hashes)):
            raise DatabaseError("a database's hashes are sorted and distinct")

    def __contains__(self, image_hash: object) -> bool:
        if not isinstance(image_hash, bytes):
            return False
        index = bisect.bisect_left(self.hashes, image_hash)
        return index < len(self.hashes) and self.hashes[index] == image_hash

    def __len__(self) -> int:
        return len(self.hashes)

    def encode(self) -> bytes:
        """``ELCSDB`` | format | version u32 | hash bytes | supplier count | (name length,
        name) per supplier | entry count u32 | the hashes."""
        out = bytearray(_MAGIC)
        out += struct.pack(">BIBB", _FORMAT, self.version, self.hash_bytes, len(self.suppliers))
        for name in self.suppliers:
            raw = name.encode()
            out += bytes([len(raw)]) + raw
        out += struct.pack(">I", len(self.hashes))
        for h in self.hashes:
            out += h
        return bytes(out)


def _check_suppliers(suppliers: tuple[str, ...]) -> None:
    if not isinstance(suppliers, tuple) or not MIN_SUPPLIERS <= len(suppliers) <= MAX_SUPPLIERS:
        raise DatabaseError(f"a database comes from {MIN_SUPPLIERS}..{MAX_SUPPLIERS} suppliers")
    for name in suppliers:
        if not isinstance(name, str) or not name or not name.isprintable() \
                or len(name.encode()) > MAX_SUPPLIER_NAME:
            raise DatabaseError(f"a supplier name is 1..{MAX_SUPPLIER_NAME} printable bytes")
    if list(suppliers) != sorted(set(suppliers)):
        raise DatabaseError("supplier names are sorted and distinct")


def build(version: int, supplier_lists: Mapping[str, Iterable[bytes]]) -> HashDatabase:
    """The database of the hashes every supplier lists (at least two suppliers, every hash of
    one length)."""
    if len(supplier_lists) < MIN_SUPPLIERS:
        raise DatabaseError(f"a database needs at least {MIN_SUPPLIERS} independent suppliers")
    lists = {name: set(hashes) for name, hashes in supplier_lists.items()}
    lengths = {len(h) for hashes in lists.values() for h in hashes}
    if any(not isinstance(h, bytes) for hashes in lists.values() for h in hashes):
        raise DatabaseError("supplier lists hold hash bytes")
    if len(lengths) != 1:
        raise DatabaseError("every supplier hash must have the same length")
    common = set.intersection(*lists.values())
    return HashDatabase(version, lengths.pop(), tuple(sorted(lists)), tuple(sorted(common)))


def decode(data: bytes) -> HashDatabase:
    """The database ``data`` encodes (:class:`DatabaseError` for any other bytes)."""
    if not isinstance(data, bytes) or not data.startswith(_MAGIC) \
            or len(data) < len(_MAGIC) + 7:
        raise DatabaseError("not an encoded hash database")
    offset = len(_MAGIC)
    fmt, version, hash_bytes, count = struct.unpack_from(">BIBB", data, offset)
    offset += 7
    if fmt != _FORMAT:
        raise DatabaseError(f"unknown hash database format {fmt}")
    suppliers = []
    for _ in range(count):
        if offset >= len(data):
            raise DatabaseError("truncated hash database")
        length = data[offset]
        raw = data[offset + 1:offset + 1 + length]
        if len(raw) != length:
            raise DatabaseError("truncated hash database")
        try:
            suppliers.append(raw.decode())
        except UnicodeDecodeError as exc:
            raise DatabaseError("a supplier name is not UTF-8") from exc
        offset += 1 + length
    if len(data) < offset + 4:
        raise DatabaseError("truncated hash database")
    (entries,) = struct.unpack_from(">I", data, offset)
    offset += 4
    if entries > MAX_ENTRIES:
        raise DatabaseError(f"a database holds at most {MAX_ENTRIES} hashes")
    if not MIN_HASH_BYTES <= hash_bytes <= MAX_HASH_BYTES:
        raise DatabaseError(f"hashes are {MIN_HASH_BYTES}..{MAX_HASH_BYTES} bytes")
    if len(data) != offset + entries * hash_bytes:
        raise DatabaseError("the hash database's length does not match its entry count")
    hashes = tuple(data[offset + i * hash_bytes:offset + (i + 1) * hash_bytes]
                   for i in range(entries))
    return HashDatabase(version, hash_bytes, tuple(suppliers), hashes)
