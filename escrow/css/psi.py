"""The private-set-intersection layer of the safety vouchers: a blinded cuckoo table over
ristretto255 and the per-voucher keys derived from it (docs/css_matcher.md, "PSI layer").

This is the construction of Bhowmick, Boneh, Myers, Talwar and Tarbe, "The Apple PSI System"
(2021), section 4 (the protocol), and Apple's "CSAM Detection — Technical Summary" (2021),
"Private Set Intersection (PSI)": the server holds a secret scalar alpha and publishes
L = alpha*G. Each database hash x is mapped into the group by a hash-to-group function H
(``crypto_core_ristretto255_from_hash`` of SHA-512 over a domain-separated input; never x*G,
whose discrete logarithm would be known) and stored as P = alpha*H(x) in one of its two
cuckoo slots h_1(x), h_2(x). Slots no entry occupies hold points derived from the server's
table seed, indistinguishable from blinded entries without alpha, so the table shows only
its size, which is rounded up.

For an image hash y and each candidate slot w = h_i(y) the device picks random beta, gamma
and sends Q = beta*H(y) + gamma*G; it keeps S = beta*P_w + gamma*L and derives the voucher
key from S with HKDF-SHA256 (RFC 5869). The server computes S' = alpha*Q = beta*alpha*H(y)
+ gamma*L, which equals S exactly when P_w = alpha*H(y), that is when y is in the database
(and otherwise is independent of S). A synthetic voucher uses Q = gamma*G, for which
S' = gamma*L is a key the device knows, so its outer layer opens like a match.

The table is built deterministically from the database and the :class:`ServerSecret`, so an
auditor entrusted with the secret can rebuild it from the suppliers' intersection and compare
roots; :meth:`BlindedTable.leaves` are the RFC 9162 leaves whose root is published per
version (:mod:`escrowlab.css.publish`).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import struct
from dataclasses import dataclass

import rbcl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from escrow.css.database import MAX_ENTRIES, MAX_VERSION, HashDatabase
from escrow.css.errors import PointError, TableError

POINT_BYTES = 32
SCALAR_BYTES = 32
KEY_BYTES = 32
SEED_BYTES = 32
CUCKOO_FUNCTIONS = 2
LOAD_FACTOR = 1.5  # slots per entry before rounding
SIZE_QUANTUM = 64  # the table's size is a multiple of this: it hides the count within it
MIN_SLOTS = SIZE_QUANTUM
MAX_SLOTS = math.ceil(MAX_ENTRIES * LOAD_FACTOR / SIZE_QUANTUM) * SIZE_QUANTUM
MAX_KICKS = 500  # evictions per insertion before the table is re-keyed
MAX_REKEYS = 8

_HASH_TO_GROUP = b"escrowlab/css/psi/hash-to-group/v1\x00"
_SLOT = b"escrowlab/css/psi/cuckoo-slot/v1\x00"
_FILLER = b"escrowlab/css/psi/filler/v1\x00"
_SLOT_KEY = b"escrowlab/css/psi/slot-key/v1\x00"
_KICKS = b"escrowlab/css/psi/kicks/v1\x00"
_KEY_INFO = b"escrowlab/css/psi/voucher-key/v1\x00"
_TABLE_MAGIC = b"ELCSPT"
_TABLE_FORMAT = 1
_SECRET_MAGIC = b"ELCSPS"
_IDENTITY = bytes(POINT_BYTES)


def check_point(point: bytes) -> bytes:
    """``point`` if it is a valid non-identity ristretto255 encoding (:class:`PointError`)."""
    if not isinstance(point, bytes) or len(point) != POINT_BYTES or point == _IDENTITY \
            or not rbcl.crypto_core_ristretto255_is_valid_point(point):
        raise PointError("not a valid ristretto255 point")
    return point


def hash_to_point(image_hash: bytes) -> bytes:
    """H(y): ristretto255 hash-to-group of SHA-512 over the domain and ``image_hash``."""
    digest = hashlib.sha512(_HASH_TO_GROUP + len(image_hash).to_bytes(2, "big")
                            + image_hash).digest()
    return rbcl.crypto_core_ristretto255_from_hash(digest)


def _mul(scalar: bytes, point: bytes) -> bytes:
    return rbcl.crypto_scalarmult_ristretto255(scalar, point)


def _random_scalar() -> bytes:
    return rbcl.crypto_core_ristretto255_scalar_random()


def derive_key(shared: bytes, query: bytes, context: bytes) -> bytes:
    """The voucher key from S (or S'), bound to Q and the voucher's ``context``."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=_KEY_INFO + query + context).derive(shared)


@dataclass(frozen=True)
class ServerSecret:
    """The provider's blinding scalar alpha and the seed of its table's slot key, kicks and
    filler points."""

    alpha: bytes
    table_seed: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.alpha, bytes) or len(self.alpha) != SCALAR_BYTES \
                or not isinstance(self.table_seed, bytes) or len(self.table_seed) != SEED_BYTES:
            raise TableError("a server secret is a 32-byte scalar and a 32-byte seed")
        try:
            rbcl.crypto_scalarmult_ristretto255_base(self.alpha)
        except RuntimeError as exc:
            raise TableError("the server's scalar is zero or not reduced") from exc

    @classmethod
    def generate(cls) -> ServerSecret:
        return cls(_random_scalar(), hashlib.sha256(_random_scalar()).digest())

    @property
    def public(self) -> bytes:
        """L = alpha*G."""
        return rbcl.crypto_scalarmult_ristretto255_base(self.alpha)

    def blind(self, image_hash: bytes) -> bytes:
        """alpha*H(x): what a database entry's slot holds."""
        return _mul(self.alpha, hash_to_point(image_hash))

    def shared_point(self, query: bytes) -> bytes:
        """S' = alpha*Q (:class:`PointError` if Q is not a valid point)."""
        return _mul(self.alpha, check_point(query))

    def encode(self) -> bytes:
        return _SECRET_MAGIC + self.alpha + self.table_seed

    @classmethod
    def decode(cls, data: bytes) -> ServerSecret:
        if not isinstance(data, bytes) or len(data) != len(_SECRET_MAGIC) + 64 \
                or not data.startswith(_SECRET_MAGIC):
            raise TableError("not an encoded server secret")
        body = data[len(_SECRET_MAGIC):]
        return cls(body[:32], body[32:])


def slots(slot_key: bytes, size: int, image_hash: bytes) -> tuple[int, int]:
    """The two candidate slots h_1(y) != h_2(y) of ``image_hash``: h_2 is drawn from the other
    size-1 slots, so that a match never opens both of a voucher's candidates (which a
    synthetic voucher, opening one, could not imitate)."""
    first, second = (
        int.from_bytes(hashlib.sha256(_SLOT + slot_key + bytes([i]) + image_hash).digest(),
                       "big") for i in range(CUCKOO_FUNCTIONS))
    w1 = first % size
    w2 = second % (size - 1)
    return w1, w2 + (w2 >= w1)


def table_size(entries: int) -> int:
    """The number of slots for ``entries`` entries: LOAD_FACTOR per entry, rounded up to a
    multiple of SIZE_QUANTUM."""
    return max(MIN_SLOTS, math.ceil(entries * LOAD_FACTOR / SIZE_QUANTUM) * SIZE_QUANTUM)


@dataclass(frozen=True)
class BlindedTable:
    """The public table a device holds: version, L, the slot key and one point per slot."""

    version: int
    public: bytes
    slot_key: bytes
    points: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) \
                or not 1 <= self.version <= MAX_VERSION:
            raise TableError(f"a table version is in 1..{MAX_VERSION}")
        if not isinstance(self.slot_key, bytes) or len(self.slot_key) != SEED_BYTES:
            raise TableError("a table's slot key is 32 bytes")
        size = len(self.points)
        if not MIN_SLOTS <= size <= MAX_SLOTS or size % SIZE_QUANTUM:
            raise TableError(f"a table has a multiple of {SIZE_QUANTUM} slots, at most "
                             f"{MAX_SLOTS}")
        try:
            check_point(self.public)
            for point in self.points:
                check_point(point)
        except PointError as exc:
            raise TableError(f"table version {self.version} holds an invalid point") from exc

    @property
    def size(self) -> int:
        return len(self.points)

    def slots(self, image_hash: bytes) -> tuple[int, int]:
        return slots(self.slot_key, self.size, image_hash)

    def _header(self) -> bytes:
        return (_TABLE_MAGIC + struct.pack(">BI", _TABLE_FORMAT, self.version) + self.public
                + self.slot_key + struct.pack(">I", self.size))

    def encode(self) -> bytes:
        """``ELCSPT`` | format | version u32 | L | slot key | size u32 | the points."""
        return self._header() + b"".join(self.points)

    def leaves(self) -> list[bytes]:
        """The RFC 9162 leaves whose Merkle root identifies this table: the header, then
        each slot's index (u32) and point."""
        return [self._header()] + [struct.pack(">I", i) + point
                                   for i, point in enumerate(self.points)]


def decode_table(data: bytes) -> BlindedTable:
    """The table ``data`` encodes (:class:`TableError` for any other bytes)."""
    head = len(_TABLE_MAGIC) + 5 + 2 * 32 + 4
    if not isinstance(data, bytes) or len(data) < head or not data.startswith(_TABLE_MAGIC):
        raise TableError("not an encoded blinded table")
    offset = len(_TABLE_MAGIC)
    fmt, version = struct.unpack_from(">BI", data, offset)
    if fmt != _TABLE_FORMAT:
        raise TableError(f"unknown blinded table format {fmt}")
    offset += 5
    public, slot_key = data[offset:offset + 32], data[offset + 32:offset + 64]
    (size,) = struct.unpack_from(">I", data, offset + 64)
    if size > MAX_SLOTS or len(data) != head + size * POINT_BYTES:
        raise TableError("the blinded table's length does not match its size")
    points = tuple(data[head + i * 32:head + (i + 1) * 32] for i in range(size))
    return BlindedTable(version, public, slot_key, points)


def _seeded(secret: ServerSecret, label: bytes, version: int, attempt: int) -> bytes:
    return hmac.new(secret.table_seed, label + struct.pack(">IB", version, attempt),
                    hashlib.sha512).digest()


def _place(hashes: tuple[bytes, ...], slot_key: bytes, size: int,
           rng: random.Random) -> list[bytes | None] | None:
    """Cuckoo placement (Pagh and Rodler 2004, random-walk eviction): each hash in one of its
    two slots, or ``None`` if an insertion needs more than MAX_KICKS evictions."""
    table: list[bytes | None] = [None] * size
    for entry in hashes:
        current = entry
        for _ in range(MAX_KICKS):
            candidates = slots(slot_key, size, current)
            free = [w for w in candidates if table[w] is None]
            if free:
                table[free[0]] = current
                current = None
                break
            victim_slot = candidates[rng.randrange(CUCKOO_FUNCTIONS)]
            current, table[victim_slot] = table[victim_slot], current
        if current is not None:
            return None
    return table


def build_table(database: HashDatabase, secret: ServerSecret) -> BlindedTable:
    """The blinded cuckoo table of ``database`` (deterministic given the secret)."""
    size = table_size(len(database))
    for attempt in range(MAX_REKEYS):
        slot_key = _seeded(secret, _SLOT_KEY, database.version, attempt)[:SEED_BYTES]
        kicks = random.Random(_seeded(secret, _KICKS, database.version, attempt))
        placed = _place(database.hashes, slot_key, size, kicks)
        if placed is not None:
            break
    else:
        raise TableError(f"cuckoo placement of database version {database.version} failed")
    points = tuple(
        secret.blind(entry) if entry is not None else filler_point(secret, database.version, i)
        for i, entry in enumerate(placed))
    return BlindedTable(database.version, secret.public, slot_key, points)


def filler_point(secret: ServerSecret, version: int, index: int) -> bytes:
    """The point an empty slot ``index`` of table ``version`` holds: hash-to-group of a keyed
    digest, so nobody without the table seed can tell it from a blinded entry."""
    return rbcl.crypto_core_ristretto255_from_hash(
        hmac.new(secret.table_seed, _FILLER + struct.pack(">II", version, index),
                 hashlib.sha512).digest())


@dataclass(frozen=True)
class Query:
    """One candidate slot's PSI material: Q is sent, ``key`` (from S) stays on the device."""

    query: bytes
    key: bytes


def client_queries(table: BlindedTable, image_hash: bytes, context: bytes) -> tuple[Query, ...]:
    """For each candidate slot w = h_i(y): Q = beta*H(y) + gamma*G, key from
    S = beta*P_w + gamma*L (fresh beta, gamma per slot)."""
    point = hash_to_point(image_hash)
    out = []
    for w in table.slots(image_hash):
        beta, gamma = _random_scalar(), _random_scalar()
        query = rbcl.crypto_core_ristretto255_add(
            _mul(beta, point), rbcl.crypto_scalarmult_ristretto255_base(gamma))
        shared = rbcl.crypto_core_ristretto255_add(_mul(beta, table.points[w]),
                                                   _mul(gamma, table.public))
        out.append(Query(query, derive_key(shared, query, context)))
    return tuple(out)


def synthetic_queries(table: BlindedTable, context: bytes) -> tuple[Query, ...]:
    """A synthetic voucher's PSI material: the first candidate has Q = gamma*G (the server's
    S' = gamma*L, whose key the device knows), the second a random Q and a random key. The
    caller shuffles the candidates, as it does a real voucher's."""
    out = []
    for i in range(CUCKOO_FUNCTIONS):
        gamma = _random_scalar()
        query = rbcl.crypto_scalarmult_ristretto255_base(gamma)
        if i == 0:
            key = derive_key(_mul(gamma, table.public), query, context)
        else:
            key = hashlib.sha256(_random_scalar()).digest()
        out.append(Query(query, key))
    return tuple(out)


def server_key(secret: ServerSecret, query: bytes, context: bytes) -> bytes:
    """The server's key for one candidate: from S' = alpha*Q (:class:`PointError`)."""
    return derive_key(secret.shared_point(query), query, context)
