"""The wire format: a versioned binary envelope with explicit lengths.

All integers are big-endian. ``str`` fields are UTF-8 (ids) or ASCII (mode)::

    u8   version                  (1, or 2 for an envelope that carries a safety voucher)
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
    -- version 2 only --
    u32  n, n bytes               safety voucher (1..16384)
    -- body --
    u32  n, n bytes               AEAD ciphertext (16..2^20)

Nothing may follow. Version 1 is the envelope of every mode that attaches nothing to a
message; version 2 adds one field, the safety voucher the sender's content hook made for
this message (:mod:`messaging.content_hook`, docs/css.md). It rides in clear beside the
ciphertext, so that the provider can read it (:func:`read_voucher`), and its SHA-256 is in
the message's associated data (:func:`messaging.ratchet.message_associated_data`), so that a
voucher stripped, swapped or added in transit fails as a bad tag. Each message has one
encoding: a voucher is never empty (no voucher is version 1), so a version-2 envelope with a
zero-length voucher is refused. :func:`parse_envelope` rejects unknown versions and types,
out-of-range lengths, truncation and trailing bytes with a
:class:`~messaging.errors.WireFormatError`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from messaging.errors import WireFormatError
from messaging.identity import IDENTITY_PUBLIC_LENGTH, IdentityPublic
from messaging.limits import (
    AEAD_TAG_LENGTH,
    MAX_CIPHERTEXT_LENGTH,
    MAX_ID_LENGTH,
    MAX_MODE_ID_LENGTH,
    MAX_RECORD_LENGTH,
    MAX_VOUCHER_LENGTH,
)
from messaging.pqxdh import MLKEM768_CIPHERTEXT_LENGTH, PrekeyBlock

WIRE_VERSION = 1
WIRE_VERSION_VOUCHER = 2
WIRE_VERSIONS = (WIRE_VERSION, WIRE_VERSION_VOUCHER)
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
    """One envelope; ``voucher`` is the safety voucher of a version-2 envelope, else ``None``."""

    version: int
    conversation_id: str
    sender: str
    recipient: str
    prekey: PrekeyBlock | None
    header: Header
    ciphertext: bytes
    voucher: bytes | None = None

    def encode(self) -> bytes:
        if self.version != envelope_version(self.voucher):
            raise WireFormatError("an envelope with a voucher is version 2, one without version 1")
        kind = TYPE_PREKEY_MESSAGE if self.prekey is not None else TYPE_MESSAGE
        parts = [bytes((self.version, kind)), _short(self.conversation_id),
                 _short(self.sender), _short(self.recipient)]
        if self.prekey is not None:
            parts.append(self.prekey.encode())
        parts.append(self.header.encode())
        if self.voucher is not None:
            parts += [_U32.pack(len(self.voucher)), self.voucher]
        parts += [_U32.pack(len(self.ciphertext)), self.ciphertext]
        return b"".join(parts)


def envelope_version(voucher: bytes | None) -> int:
    """The version of an envelope that carries ``voucher`` (``None``: no voucher); a voucher
    that is not 1..MAX_VOUCHER_LENGTH bytes raises :class:`~messaging.errors.WireFormatError`."""
    if voucher is None:
        return WIRE_VERSION
    if not isinstance(voucher, bytes) or not 1 <= len(voucher) <= MAX_VOUCHER_LENGTH:
        raise WireFormatError(f"a safety voucher is 1..{MAX_VOUCHER_LENGTH} bytes")
    return WIRE_VERSION_VOUCHER


def read_voucher(data: bytes) -> bytes | None:
    """The safety voucher an envelope carries outside its ciphertext (``None``: none), as the
    relay or the provider reads it from an archived envelope; raises
    :class:`~messaging.errors.WireFormatError` if ``data`` is not an envelope."""
    return parse_envelope(data).voucher


def validate_id(text: str) -> str:
    """Check that ``text`` is an id the wire can carry (1..255 bytes of printable UTF-8)."""
    try:
        raw = text.encode("utf-8") if isinstance(text, str) else b""
    except UnicodeEncodeError:
        raw = b""
    if not 1 <= len(raw) <= MAX_ID_LENGTH or not text.isprintable():
        raise WireFormatError(f"ids and addresses are 1..{MAX_ID_LENGTH} bytes of printable UTF-8")
    return text


def _short(text: str) -> bytes:
    raw = text.encode("utf-8")
    if not 1 <= len(raw) <= MAX_ID_LENGTH:
        raise WireFormatError(f"ids and addresses are 1..{MAX_ID_LENGTH} bytes of UTF-8")
    return bytes((len(raw),)) + raw


def _need(data: bytes, end: int, what: str) -> None:
    if end > len(data):
        raise WireFormatError(f"envelope truncated in {what}")


def _short_at(data: bytes, pos: int, what: str, limit: int = MAX_ID_LENGTH,
              ascii_only: bool = False) -> tuple[str, int]:
    """Read a u8-length-prefixed text field at ``pos``; return it and the next offset."""
    _need(data, pos + 1, what)
    n = data[pos]
    if not 1 <= n <= limit:
        raise WireFormatError(f"{what} length {n} is outside 1..{limit}")
    end = pos + 1 + n
    _need(data, end, what)
    try:
        text = data[pos + 1:end].decode("ascii" if ascii_only else "utf-8")
    except UnicodeDecodeError as exc:
        kind = "ASCII" if ascii_only else "UTF-8"
        raise WireFormatError(f"{what} is not valid {kind}") from exc
    if not text.isprintable():
        raise WireFormatError(f"{what} contains control characters")
    return text, end


def parse_envelope(data: bytes) -> Envelope:
    """Parse ``data`` strictly into an :class:`Envelope` (layout in the module docstring)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WireFormatError("an envelope is bytes")
    data = bytes(data)
    _need(data, 2, "version and type")
    version, kind = data[0], data[1]
    if version not in WIRE_VERSIONS:
        raise WireFormatError(f"unknown envelope version {version} (this build reads 1 and 2)")
    if kind not in (TYPE_MESSAGE, TYPE_PREKEY_MESSAGE):
        raise WireFormatError(f"unknown envelope type {kind}")
    conversation_id, pos = _short_at(data, 2, "conversation id")
    sender, pos = _short_at(data, pos, "sender address")
    recipient, pos = _short_at(data, pos, "recipient address")
    prekey = None
    if kind == TYPE_PREKEY_MESSAGE:
        prekey, pos = _parse_prekey(data, pos)
    mode, pos = _short_at(data, pos, "escrow mode", MAX_MODE_ID_LENGTH, ascii_only=True)
    end = pos + _HEADER_FIXED.size + 4
    _need(data, end, "header")
    chain_number, chain_time, ratchet_key, previous, number = _HEADER_FIXED.unpack_from(data, pos)
    record_length = _U32.unpack_from(data, end - 4)[0]
    if record_length > MAX_RECORD_LENGTH:
        raise WireFormatError(f"escrow record of {record_length} bytes exceeds {MAX_RECORD_LENGTH}")
    pos, end = end, end + record_length
    _need(data, end + 4, "escrow record")
    record = data[pos:end]
    voucher = None
    if version == WIRE_VERSION_VOUCHER:
        voucher_length = _U32.unpack_from(data, end)[0]
        if not 1 <= voucher_length <= MAX_VOUCHER_LENGTH:
            raise WireFormatError(f"safety voucher length {voucher_length} is outside "
                                  f"1..{MAX_VOUCHER_LENGTH}")
        pos, end = end + 4, end + 4 + voucher_length
        _need(data, end + 4, "safety voucher")
        voucher = data[pos:end]
    ciphertext_length = _U32.unpack_from(data, end)[0]
    if not AEAD_TAG_LENGTH <= ciphertext_length <= MAX_CIPHERTEXT_LENGTH:
        raise WireFormatError(
            f"ciphertext length {ciphertext_length} is outside "
            f"{AEAD_TAG_LENGTH}..{MAX_CIPHERTEXT_LENGTH}"
        )
    pos, end = end + 4, end + 4 + ciphertext_length
    _need(data, end, "ciphertext")
    if end != len(data):
        raise WireFormatError(f"{len(data) - end} trailing bytes after the envelope")
    header = Header(mode, chain_number, chain_time, ratchet_key, previous, number, record)
    return Envelope(version, conversation_id, sender, recipient, prekey, header, data[pos:end],
                    voucher)


_PREKEY_FIXED = struct.Struct(f">{IDENTITY_PUBLIC_LENGTH}s{RATCHET_KEY_LENGTH}sIB")


def _parse_prekey(data: bytes, pos: int) -> tuple[PrekeyBlock, int]:
    """The PQXDH block. The identity's binding signature is checked by the responder
    (``DevicePrekeys.respond``), not here: parsing stays cheap and side-effect free."""
    end = pos + _PREKEY_FIXED.size
    _need(data, end, "prekey block")
    identity, ephemeral, signed_prekey_id, flag = _PREKEY_FIXED.unpack_from(data, pos)
    if flag not in (0, 1):
        raise WireFormatError(f"one-time prekey flag must be 0 or 1, not {flag}")
    one_time_id = None
    if flag:
        _need(data, end + 4, "one-time prekey id")
        one_time_id = _U32.unpack_from(data, end)[0]
        end += 4
    _need(data, end + 4 + MLKEM768_CIPHERTEXT_LENGTH, "ML-KEM prekey")
    kem_id = _U32.unpack_from(data, end)[0]
    kem_ciphertext = data[end + 4:end + 4 + MLKEM768_CIPHERTEXT_LENGTH]
    block = PrekeyBlock(IdentityPublic(identity[:32], identity[32:64], identity[64:]),
                        ephemeral, signed_prekey_id, one_time_id, kem_id, kem_ciphertext)
    return block, end + 4 + MLKEM768_CIPHERTEXT_LENGTH
