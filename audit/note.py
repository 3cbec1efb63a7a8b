"""C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys, and C2SP
tlog-cosignature (https://c2sp.org/tlog-cosignature) ``cosignature/v1`` signatures.

A signed note is UTF-8 text ending in a newline, a blank line, then one or more
signature lines ``— <key name> <base64(key id || signature)>`` (C2SP signed-note,
"Format"). The text may itself contain empty lines: it is separated from the signatures
by the *last* empty line, as in the spec's own example and in Go's ``note.Open``.

The key id is the first four bytes of SHA-256(key name || 0x0A || signature type ||
public key), with type 0x01 for Ed25519 note signatures and 0x04 for cosignature/v1,
whose signed message is
``cosignature/v1\\ntime <T>\\n`` followed by the checkpoint body and whose signature bytes
are ``T`` (8 bytes, big-endian seconds) followed by the Ed25519 signature.

Keys use the Go ``golang.org/x/mod/sumdb/note`` text encodings: a verifier key is
``<name>+<hex key id>+<base64(0x01 || public key)>`` and a signer key is
``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || private seed)>``. Signers have no
useful ``repr`` and never put key material in errors.

Parsing is canonical, stricter than Go on one point: base64 (signature lines, keys) must
be the standard encoding with zero padding bits, the only one :func:`b64` writes. Go's
``base64.StdEncoding`` also accepts non-zero trailing bits, so one signature has several
spellings; refusing them makes ``parse_note(x).encode() == x`` hold for every note that
parses. Every other check (UTF-8, no control character but newline, key names without
spaces or ``+``, at most 100 signatures) is the spec's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from audit.errors import NoteError

SIG_TYPE_ED25519 = 0x01
SIG_TYPE_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "
MAX_NOTE_BYTES = 1 << 16
MAX_SIGNATURES = 100
COSIGNATURE_V1_HEADER = "cosignature/v1\ntime {}\n"
MAX_TIMESTAMP = (1 << 63) - 1  # C2SP tlog-cosignature: "MUST NOT exceed 2^63 - 1"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Decode canonical standard base64 (RFC 4648 section 4, zero padding bits)."""
    if not isinstance(text, str):
        raise NoteError(f"{what} must be a base64 string, not {type(text).__name__}")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not valid base64") from None
    if b64(raw) != text:
        raise NoteError(f"{what} is not canonical base64 (non-zero padding bits)")
    return raw


def _is_utf8(text: str) -> bool:
    """A ``str`` can hold lone surrogates, which no valid UTF-8 note contains."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_key_name(name: str) -> str:
    if (
        not isinstance(name, str)
        or not name
        or not _is_utf8(name)
        or "+" in name
        or any(ch.isspace() or ord(ch) < 0x20 for ch in name)
        or len(name.encode("utf-8")) > 256
    ):
        raise NoteError("key name must be 1-256 bytes with no spaces, controls or '+'")
    return name


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4] (C2SP signed-note, "Signatures")."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[
        :4
    ]


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name, its 4-byte key id and the signature bytes."""

    name: str
    key_id: bytes
    data: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {b64(self.key_id + self.data)}\n"


class Verifier:
    """Verifies one key's signatures on note text (Ed25519 or cosignature/v1)."""

    def __init__(self, name: str, public_key: bytes, sig_type: int = SIG_TYPE_ED25519) -> None:
        if sig_type not in (SIG_TYPE_ED25519, SIG_TYPE_COSIGNATURE_V1):
            raise NoteError(f"unsupported signature type 0x{sig_type:02x}")
        if len(public_key) != 32:
            raise NoteError("Ed25519 public keys are 32 bytes")
        self.name = check_key_name(name)
        self.public_key = bytes(public_key)
        self.sig_type = sig_type
        self.key_id = key_id(name, sig_type, public_key)
        self._key = Ed25519PublicKey.from_public_bytes(public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse ``<name>+<hex key id>+<base64(type || public key)>``."""
        if not isinstance(vkey, str):
            raise NoteError("verifier key must be a string")
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("verifier key must be <name>+<hex id>+<base64 key>")
        name, hex_id, encoded = parts
        raw = unb64(encoded, "verifier key")
        if len(raw) != 33:
            raise NoteError("verifier key must hold a type byte and a 32-byte key")
        verifier = cls(name, raw[1:], raw[0])
        if verifier.key_id.hex() != hex_id.lower():
            raise NoteError(f"verifier key {name!r}: key id does not match the key")
        return verifier

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([self.sig_type]) + self.public_key)}"

    def matches(self, signature: Signature) -> bool:
        return signature.name == self.name and signature.key_id == self.key_id

    def verify(self, text: str, signature: Signature) -> int | None:
        """Check ``signature`` over note ``text``; return the cosignature time, if any.

        Raises :class:`NoteError` when the signature is invalid.
        """
        data = signature.data
        timestamp = None
        message = text.encode("utf-8")
        if self.sig_type == SIG_TYPE_COSIGNATURE_V1:
            if len(data) != 72:
                raise NoteError(f"cosignature by {self.name!r} has the wrong length")
            (timestamp,) = struct.unpack(">Q", data[:8])
            if timestamp > MAX_TIMESTAMP:
                raise NoteError(f"cosignature by {self.name!r} has a timestamp beyond 2^63 - 1")
            message = COSIGNATURE_V1_HEADER.format(timestamp).encode() + message
            data = data[8:]
        elif len(data) != 64:
            raise NoteError(f"signature by {self.name!r} has the wrong length")
        try:
            self._key.verify(data, message)
        except InvalidSignature:
            raise NoteError(f"invalid signature by key {self.name!r}") from None
        return timestamp


class Signer:
    """An Ed25519 note signer (type 0x01) or witness cosigner (type 0x04)."""

    __slots__ = ("_key", "_now", "name", "sig_type", "verifier")

    def __init__(
        self,
        name: str,
        private_key: Ed25519PrivateKey,
        sig_type: int = SIG_TYPE_ED25519,
        now: Callable[[], float] | None = None,
    ) -> None:
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = Verifier(name, public, sig_type)
        self.name = name
        self.sig_type = sig_type
        self._key = private_key
        if sig_type == SIG_TYPE_COSIGNATURE_V1 and now is None:
            raise NoteError("a cosigner needs a clock (now)")
        self._now = now

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, key_id={self.verifier.key_id.hex()})"

    @classmethod
    def generate(
        cls, name: str, sig_type: int = SIG_TYPE_ED25519, now: Callable[[], float] | None = None
    ) -> Signer:
        return cls(name, Ed25519PrivateKey.generate(), sig_type, now)

    @classmethod
    def from_skey(cls, skey: str, now: Callable[[], float] | None = None) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>``."""
        if not isinstance(skey, str):
            raise NoteError("signer key must be a string")
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("signer key must be PRIVATE+KEY+<name>+<hex id>+<base64 key>")
        raw = unb64(parts[4], "signer key")
        if len(raw) != 33:
            raise NoteError("signer key must hold a type byte and a 32-byte seed")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]), raw[0], now)
        if signer.verifier.key_id.hex() != parts[3].lower():
            raise NoteError(f"signer key {parts[2]!r}: key id does not match the key")
        return signer

    @property
    def skey(self) -> str:
        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return (
            f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+"
            f"{b64(bytes([self.sig_type]) + seed)}"
        )

    @property
    def vkey(self) -> str:
        return self.verifier.vkey

    def sign(self, text: str) -> Signature:
        """Sign note ``text`` (for a cosigner: the checkpoint body, with the current time)."""
        check_text(text)
        message = text.encode("utf-8")
        prefix = b""
        if self.sig_type == SIG_TYPE_COSIGNATURE_V1:
            assert self._now is not None
            timestamp = int(self._now())
            if not 0 <= timestamp <= MAX_TIMESTAMP:
                raise NoteError("cosignature timestamp must be in [0, 2^63 - 1]")
            prefix = struct.pack(">Q", timestamp)
            message = COSIGNATURE_V1_HEADER.format(timestamp).encode() + message
        return Signature(self.name, self.verifier.key_id, prefix + self._key.sign(message))


def check_text(text: str) -> None:
    """Note text: UTF-8 ending in a newline, no control character but newline (C2SP
    signed-note, "Format"); empty lines are allowed ("The note text MAY contain empty
    lines")."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if not _is_utf8(text):
        raise NoteError("note text is not valid UTF-8")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise NoteError("note text must not contain control characters")
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise NoteError("note text is too long")


@dataclass(frozen=True)
class SignedNote:
    """A note's text and its signature lines, in order."""

    text: str
    signatures: tuple[Signature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(sig.line() for sig in self.signatures)

    def with_signatures(self, extra: Iterable[Signature]) -> SignedNote:
        """This note with ``extra`` signatures appended, skipping exact duplicates."""
        sigs = list(self.signatures)
        for sig in extra:
            if sig not in sigs:
                sigs.append(sig)
        if len(sigs) > MAX_SIGNATURES:
            raise NoteError("too many signatures on one note")
        return SignedNote(self.text, tuple(sigs))

    def verify(self, verifiers: Sequence[Verifier]) -> dict[str, int | None]:
        """Verify every signature made by a known key (C2SP signed-note, "Signatures").

        A line whose (name, key id) pair matches no known key is ignored, as the spec
        requires, even if the name or the id alone matches. Every line of a known key is
        verified, duplicates included, and any failure rejects the whole note; a key that
        signed twice still appears once. Returns ``{vkey: cosignature time or None}`` for
        the known keys whose signature verified; raises :class:`NoteError` otherwise.
        """
        verified: dict[str, int | None] = {}
        for sig in self.signatures:
            for verifier in verifiers:
                if verifier.matches(sig):
                    verified[verifier.vkey] = verifier.verify(self.text, sig)
        return verified


def parse_note(encoded: str) -> SignedNote:
    """Parse a signed note strictly (C2SP signed-note, "Format").

    The text ends at the last blank line; it may contain blank lines of its own. Every
    signature line must be ``— <name> <canonical base64>``, so that
    ``parse_note(x).encode() == x`` for every ``x`` accepted.
    """
    if not isinstance(encoded, str) or not _is_utf8(encoded):
        raise NoteError("a signed note is UTF-8 text")
    if len(encoded.encode("utf-8")) > MAX_NOTE_BYTES + 200 * MAX_SIGNATURES:
        raise NoteError("signed note is too long")
    split = encoded.rfind("\n\n")
    if split < 0:
        raise NoteError("signed note has no blank line before its signatures")
    text, sig_block = encoded[: split + 1], encoded[split + 2 :]
    check_text(text)
    if not sig_block.endswith("\n"):
        raise NoteError("signature lines must end with a newline")
    sigs: list[Signature] = []
    for line in sig_block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed signature line")
        name, sep, encoded_sig = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not sep:
            raise NoteError("malformed signature line")
        check_key_name(name)
        raw = unb64(encoded_sig, "signature")
        if len(raw) < 5:
            raise NoteError("signature is too short")
        sigs.append(Signature(name, raw[:4], raw[4:]))
    if not sigs or len(sigs) > MAX_SIGNATURES:
        raise NoteError(f"a signed note carries 1 to {MAX_SIGNATURES} signatures")
    return SignedNote(text, tuple(sigs))
