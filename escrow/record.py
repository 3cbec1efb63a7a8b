"""The threshold escrow record: its binary layout and strict parser (docs/formats.md; the
mode: docs/architecture.md, "Escrow modes"). All integers are big-endian::

    u8   record version            (3)
    u8   n, n bytes                mode id (ASCII, 1..32): "threshold", or a subclass's
    32   bytes                     custodian set fingerprint
    u32                            custodian set epoch
    u8                             threshold t
    u8                             number of shares n (= the set's size)
    u16                            SLIP-39 identifier (15 bits)
    u8                             secret length L (16..32, even)
    u8   p, p bytes                mode parameters (0..16 bytes; none for "threshold",
                                   the puzzle size k for "crumple")
    32   bytes                     the record's ephemeral X25519 public key
    n times, in custodian order:
      L + 16 bytes                 AES-256-GCM ciphertext of the share value

Nothing may follow. :func:`parse_record` rejects anything else with a
:class:`~escrow.errors.RecordFormatError`. The share's custodian index is its
position, and is bound in the share's key derivation and associated data.

Version 3 seals every share under the one ephemeral key
(:func:`escrow.sealing.seal_to_each`); version 2 had one ephemeral key before each
share. A version 2 record is refused with an error that says so (docs/formats.md,
"Threshold records"): no build of this version makes one, and a recipient, a custodian
and the recovery all check a record by recomputing it. The mode parameters carry what a
mode needs beyond the layout, so that a record states every parameter it was made with
(docs/architecture.md, "Bind the whole context"); the whole header, parameters and
ephemeral key included, is in every share's associated data.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from escrow.errors import RecordFormatError
from escrow.shares import MAX_SECRET_LENGTH, MAX_SHARES, MIN_SECRET_LENGTH

RECORD_VERSION = 3
RETIRED_VERSIONS = {2: "one ephemeral key per share"}
MAX_PARAMETERS_LENGTH = 16
FINGERPRINT_LENGTH = 32
EPHEMERAL_LENGTH = 32
TAG_LENGTH = 16
MAX_MODE_LENGTH = 32
_FIXED = struct.Struct(">32sIBBHB")


@dataclass(frozen=True)
class EscrowRecord:
    version: int
    mode: str
    set_fingerprint: bytes
    set_epoch: int
    threshold: int
    identifier: int
    secret_length: int
    parameters: bytes
    ephemeral_public: bytes
    shares: tuple[bytes, ...]  # share i sealed to custodian i: its AES-256-GCM ciphertext

    def header(self) -> bytes:
        """The bytes before the first sealed share (what every share's associated data
        starts with, :func:`escrow.threshold.hook.share_associated_data`)."""
        return encode_header(self.version, self.mode, self.set_fingerprint, self.set_epoch,
                             self.threshold, len(self.shares), self.identifier,
                             self.secret_length, self.parameters, self.ephemeral_public)

    def encode(self) -> bytes:
        return self.header() + b"".join(self.shares)


def encode_header(version: int, mode: str, set_fingerprint: bytes, set_epoch: int,
                  threshold: int, count: int, identifier: int, secret_length: int,
                  parameters: bytes, ephemeral_public: bytes) -> bytes:
    """A record's header: every field of the layout up to and including the ephemeral key."""
    mode_id = mode.encode("ascii")
    return b"".join((bytes((version, len(mode_id))), mode_id,
                     _FIXED.pack(set_fingerprint, set_epoch, threshold, count, identifier,
                                 secret_length),
                     bytes((len(parameters),)), parameters, ephemeral_public))


def record_digest(record: bytes) -> bytes:
    """How authorisations and releases name a record: SHA-256 of its bytes."""
    return hashlib.sha256(record).digest()


def parse_record(data: bytes) -> EscrowRecord:
    """Parse ``data`` strictly (layout in the module docstring)."""
    if not isinstance(data, bytes):
        raise RecordFormatError("an escrow record is bytes")
    if not data:
        raise RecordFormatError("the escrow record is missing (empty)")
    if data[0] in RETIRED_VERSIONS:
        raise RecordFormatError(
            f"escrow record version {data[0]} ({RETIRED_VERSIONS[data[0]]}) is no longer "
            f"read; this build reads version {RECORD_VERSION}")
    if data[0] != RECORD_VERSION:
        raise RecordFormatError(f"unknown escrow record version {data[0]} (this build reads "
                                f"version {RECORD_VERSION})")
    if len(data) < 2 or not 1 <= data[1] <= MAX_MODE_LENGTH:
        raise RecordFormatError("escrow record mode id is missing or too long")
    mode_end = 2 + data[1]
    if len(data) < mode_end + _FIXED.size:
        raise RecordFormatError("escrow record is truncated")
    try:
        mode = data[2:mode_end].decode("ascii")
    except UnicodeDecodeError:
        raise RecordFormatError("escrow record mode id is not ASCII") from None
    if not mode.isprintable():
        raise RecordFormatError("escrow record mode id has control characters")
    fingerprint, epoch, threshold, count, identifier, length = _FIXED.unpack_from(data, mode_end)
    if not 2 <= threshold <= count <= MAX_SHARES:
        raise RecordFormatError(f"escrow record has t={threshold}, n={count}: need 2 <= t <= n "
                                f"<= {MAX_SHARES}")
    if identifier >> 15:
        raise RecordFormatError("escrow record identifier exceeds 15 bits")
    if not MIN_SECRET_LENGTH <= length <= MAX_SECRET_LENGTH or length % 2:
        raise RecordFormatError(f"escrow record secret length {length} is not allowed")
    share_size = length + TAG_LENGTH
    parameters_at = mode_end + _FIXED.size
    if len(data) <= parameters_at:
        raise RecordFormatError("escrow record is truncated")
    if data[parameters_at] > MAX_PARAMETERS_LENGTH:
        raise RecordFormatError(f"escrow record mode parameters exceed "
                                f"{MAX_PARAMETERS_LENGTH} bytes")
    ephemeral_at = parameters_at + 1 + data[parameters_at]
    body = ephemeral_at + EPHEMERAL_LENGTH
    if len(data) != body + count * share_size:
        raise RecordFormatError(
            f"escrow record is {len(data)} bytes; its ephemeral key and {count} shares need "
            f"{body + count * share_size}"
        )
    shares = tuple(data[off:off + share_size] for off in range(body, len(data), share_size))
    return EscrowRecord(RECORD_VERSION, mode, fingerprint, epoch, threshold, identifier, length,
                        data[parameters_at + 1:ephemeral_at], data[ephemeral_at:body], shares)
