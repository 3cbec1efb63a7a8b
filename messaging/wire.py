"""The wire format: a versioned binary envelope with explicit lengths.

All integers are big-endian. ``str`` fields are UTF-8 (ids) or ASCII (mode)::

    u8   version                  (1)
    u8   type                     (1 = message, 2 = prekey message)
    u8   n, n bytes               conversation id   (1..255)
    u8   n, n bytes               sender address    (1..255)
    u8   n, n bytes               recipient address (1..255)
    -- prekey messages only (PQXDH section 3.3) --
    128  bytes                    initiator identity (messaging.identity encoding)
    32   bytes                    initiator ephemeral key EK_A
    u32                           signed prekey id
    u8   flag, [u32]              one-time prekey id (flag 1) or none (flag 0)
    u32                           ML-KEM prekey id
    1088 bytes                    ML-KEM-768 ciphertext
    -- header (Double Ratchet section 3.4, plus the escrow fields) --
    u8   n, n bytes               escrow mode id (1..32)
    u32                           chain number (this sender's sending chains, from 0)
    u64                           chain time (sender's clock at chain start, seconds)
    32   bytes                    ratchet public key DHs
    u32                           PN (length of the sender's previous chain)
    u32                           N  (message number in this chain)
    u32  n, n bytes               escrow record (0..16384)
    -- body --
    u32  n, n bytes               AEAD ciphertext (16..2^20)

Nothing may follow. :func:`parse_envelope` rejects unknown versions and types,
out-of-range lengths, truncation and trailing bytes with a
:class:`~messaging.errors.WireFormatError`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from messaging.errors import HandshakeError, WireFormatError
from messaging.identity import IDENTITY_PUBLIC_LENGTH, IdentityPublic
from messaging.limits import (
    AEAD_TAG_LENGTH,
    MAX_CIPHERTEXT_LENGTH,
    MAX_ID_LENGTH,
    MAX_MODE_ID_LENGTH,
    MAX_RECORD_LENGTH,
)
from messaging.pqxdh import MLKEM768_CIPHERTEXT_LENGTH, PrekeyBlock

WIRE_VERSION = 1
TYPE_MESSAGE = 1
TYPE_PREKEY_MESSAGE = 2
RATCHET_KEY_LENGTH = 32

_HEADER_FIXED = struct.Struct(">IQ32sII")
_U32 = struct.Struct(">I")


@dataclass(frozen=True)
class Header:
    """The ratchet header with the escrow fields (chain number, time, record)."""

    mode: str
    chain_number: int
    chain_time: int
    ratchet_key: bytes
    previous_chain_length: int
    message_number: int
    record: bytes

    def encode(self) -> bytes:
        return self._encode(self.record)

    def authenticated_bytes(self, record_hash: bytes | None = None) -> bytes:
        """The header as bound into the AEAD: the record replaced by its SHA-256
        (``record_hash``, when the caller already has it)."""
        if record_hash is None:
            record_hash = hashlib.sha256(self.record).digest()
        return self._encode(record_hash)

    def _encode(self, record_field: bytes) -> bytes:
        mode = self.mode.encode("ascii")
        return (
            bytes((len(mode),)) + mode
            + _HEADER_FIXED.pack(self.chain_number, self.chain_time, self.ratchet_key,
                                 self.previous_chain_length, self.message_number)
            + _U32.pack(len(record_field)) + record_field
        )


@dataclass(frozen=True)
class Envelope:
    version: int
    conversation_id: str
    sender: str
    recipient: str
    prekey: PrekeyBlock | None
    header: Header
    ciphertext: bytes

    def encode(self) -> bytes:
        kind = TYPE_PREKEY_MESSAGE if self.prekey is not None else TYPE_MESSAGE
        parts = [bytes((self.version, kind)), _short(self.conversation_id),
                 _short(self.sender), _short(self.recipient)]
        if self.prekey is not None:
            parts.append(_encode_prekey(self.prekey))
        parts += [self.header.encode(), _U32.pack(len(self.ciphertext)), self.ciphertext]
        return b"".join(parts)


def _short(text: str) -> bytes:
    raw = text.encode("utf-8")
    if not 1 <= len(raw) <= MAX_ID_LENGTH:
        raise WireFormatError(f"ids and addresses are 1..{MAX_ID_LENGTH} bytes of UTF-8")
    return bytes((len(raw),)) + raw


def _encode_prekey(block: PrekeyBlock) -> bytes:
    one_time = (b"\x00" if block.one_time_prekey_id is None
                else b"\x01" + _U32.pack(block.one_time_prekey_id))
    return (block.identity.encode() + block.ephemeral_key + _U32.pack(block.signed_prekey_id)
            + one_time + _U32.pack(block.kem_prekey_id) + block.kem_ciphertext)


class _Reader:
    """A bounds-checked cursor over the envelope bytes."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise WireFormatError(f"envelope truncated in {what}")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u32(self, what: str) -> int:
        return _U32.unpack(self.take(4, what))[0]

    def short_text(self, what: str, limit: int = MAX_ID_LENGTH, ascii_only: bool = False) -> str:
        n = self.u8(what)
        if not 1 <= n <= limit:
            raise WireFormatError(f"{what} length {n} is outside 1..{limit}")
        raw = self.take(n, what)
        try:
            text = raw.decode("ascii" if ascii_only else "utf-8")
        except UnicodeDecodeError as exc:
            raise WireFormatError(f"{what} is not valid {'ASCII' if ascii_only else 'UTF-8'}") \
                from exc
        if not text.isprintable():
            raise WireFormatError(f"{what} contains control characters")
        return text


def parse_envelope(data: bytes) -> Envelope:
    """Parse ``data`` strictly into an :class:`Envelope` (layout in the module docstring)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WireFormatError("an envelope is bytes")
    reader = _Reader(bytes(data))
    version = reader.u8("version")
    if version != WIRE_VERSION:
        raise WireFormatError(f"unknown envelope version {version} (this build reads 1)")
    kind = reader.u8("type")
    if kind not in (TYPE_MESSAGE, TYPE_PREKEY_MESSAGE):
        raise WireFormatError(f"unknown envelope type {kind}")
    conversation_id = reader.short_text("conversation id")
    sender = reader.short_text("sender address")
    recipient = reader.short_text("recipient address")
    prekey = _parse_prekey(reader) if kind == TYPE_PREKEY_MESSAGE else None
    mode = reader.short_text("escrow mode", MAX_MODE_ID_LENGTH, ascii_only=True)
    chain_number, chain_time, ratchet_key, previous, number = _HEADER_FIXED.unpack(
        reader.take(_HEADER_FIXED.size, "header")
    )
    record_length = reader.u32("record length")
    if record_length > MAX_RECORD_LENGTH:
        raise WireFormatError(f"escrow record of {record_length} bytes exceeds {MAX_RECORD_LENGTH}")
    record = reader.take(record_length, "escrow record")
    ciphertext_length = reader.u32("ciphertext length")
    if not AEAD_TAG_LENGTH <= ciphertext_length <= MAX_CIPHERTEXT_LENGTH:
        raise WireFormatError(
            f"ciphertext length {ciphertext_length} is outside "
            f"{AEAD_TAG_LENGTH}..{MAX_CIPHERTEXT_LENGTH}"
        )
    ciphertext = reader.take(ciphertext_length, "ciphertext")
    if reader.pos != len(reader.data):
        raise WireFormatError(f"{len(reader.data) - reader.pos} trailing bytes after the envelope")
    header = Header(mode, chain_number, chain_time, ratchet_key, previous, number, record)
    return Envelope(version, conversation_id, sender, recipient, prekey, header, ciphertext)


def _parse_prekey(reader: _Reader) -> PrekeyBlock:
    try:
        identity = IdentityPublic.decode(reader.take(IDENTITY_PUBLIC_LENGTH, "identity"))
    except HandshakeError as exc:
        raise WireFormatError(f"initiator identity is invalid: {exc}") from exc
    ephemeral = reader.take(RATCHET_KEY_LENGTH, "ephemeral key")
    signed_prekey_id = reader.u32("signed prekey id")
    flag = reader.u8("one-time prekey flag")
    if flag not in (0, 1):
        raise WireFormatError(f"one-time prekey flag must be 0 or 1, not {flag}")
    one_time_id = reader.u32("one-time prekey id") if flag else None
    kem_id = reader.u32("ML-KEM prekey id")
    kem_ciphertext = reader.take(MLKEM768_CIPHERTEXT_LENGTH, "ML-KEM ciphertext")
    return PrekeyBlock(identity, ephemeral, signed_prekey_id, one_time_id, kem_id, kem_ciphertext)
