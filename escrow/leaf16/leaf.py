"""The LEAF (Law Enforcement Access Field) of the ``leaf16`` mode, after FIPS 185 (1994).

FIPS 185's LEAF is 128 bits, encrypted under the family key KF and sent with a
64-bit IV::

    LEAF = E_KF( UID (32) | E_KU(KS) (80) | EA (16) )

UID is the chip's unit id, ``E_KU(KS)`` the 80-bit session key under the unit
key, and EA the 16-bit escrow authenticator (the "checksum"), a function of the
session key and the IV. A receiving chip recomputed EA from the session key it
already had and refused a LEAF whose EA differed; it could not check
``E_KU(KS)``, which needs the unit key. Blaze (1994) showed that a random
128-bit string passes that check with probability 2^-16.

Our chain keys are 256 bits, so the escrowed-key field is larger. The record is::

    u8   version (2)
    u8   checksum width w in bits (8, 16, 24 or 32; 16 models EES)
    16   IV, in clear (the EES IV; random per chain)
    48   body = E_KF(IV)(
             u32  UID                                   (FIPS 185: UID, 32 bits)
             40   RFC 3394 AES key wrap of CK_0 under KU (FIPS 185: E_KU(KS), 80 bits)
             4    checksum slot; its first w bits are    (FIPS 185: EA, 16 bits)
                  the checksum, the rest are ignored )

``E_KF(IV)`` enciphers the whole 48-byte body as one block, as EES enciphered
its whole 128-bit LEAF: a tweakable wide-block permutation, the 4-round
Luby-Rackoff (balanced Feistel) construction over two 24-byte halves, whose
round functions are HMAC-SHA256 (RFC 2104) under four round keys, with the IV
as the tweak in every round (as NIST SP 800-38G's FF1 puts its tweak into each
round), truncated to 24 bytes. Four rounds with pseudorandom round functions
make a strong pseudorandom permutation (Luby and Rackoff, SIAM J. Comput.
17(2), 1988): without the family key, changing any byte of the IV or the body
changes the whole decrypted body unpredictably. So a sender cannot redirect
its LEAF to another unit id by editing it (as it could under CBC, where the
clear IV XORs straight into the first block): every edited LEAF names a random
unit, like a random LEAF. There is no integrity check beyond the checksum,
so the Blaze model is unchanged: the recipient checks only the w-bit
checksum, and a random LEAF passes with probability 2^-w.

The checksum is HMAC-SHA256 under a key derived from the family key (the EA
algorithm was secret, inside the chip) over the width, the IV, the UID, the
wrapped key, the chain key and the whole chain context, truncated to w bits.
FIPS 185 computes EA over the session key and IV only; covering the UID and the
wrapped key as well makes every altered or random LEAF a fresh 2^-w trial,
exactly the cost Blaze measured. The recipient still checks only the
checksum: it cannot tell whether the wrapped key is the chain key (the escrow
agents can: :func:`escrow.leaf16.unit.release_unit_key`).

The four round keys and the checksum key (256 bits each) are HKDF-SHA256
(RFC 5869) outputs of the 256-bit family key.
"""

from __future__ import annotations

import hmac
import os
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from escrow.leaf16.errors import Leaf16Error, LeafFormatError
from escrow.leaf16.unit import check_unit_id
from messaging.hooks import ChainContext

LEAF_VERSION = 2
FEISTEL_ROUNDS = 4
CHECKSUM_WIDTHS = (8, 16, 24, 32)
DEFAULT_CHECKSUM_WIDTH = 16
FAMILY_KEY_LENGTH = 32
CHAIN_KEY_LENGTH = 32
IV_LENGTH = 16
UNIT_ID_LENGTH = 4
WRAPPED_KEY_LENGTH = 40
CHECKSUM_SLOT_LENGTH = 4
BODY_LENGTH = UNIT_ID_LENGTH + WRAPPED_KEY_LENGTH + CHECKSUM_SLOT_LENGTH
HEADER_LENGTH = 2
LEAF_LENGTH = HEADER_LENGTH + IV_LENGTH + BODY_LENGTH

_CHECKSUM_LABEL = b"escrowlab leaf16 checksum v1"
_U32 = struct.Struct(">I")
_HALF = BODY_LENGTH // 2


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def check_width(width: int) -> int:
    """Return ``width`` if it is a supported checksum width in bits."""
    if isinstance(width, bool) or width not in CHECKSUM_WIDTHS:
        raise Leaf16Error(f"the checksum width is one of {CHECKSUM_WIDTHS} bits")
    return width


class FamilyKey:
    """The family key KF common to all units. Secret: no ``repr`` shows it, it cannot be pickled."""

    __slots__ = ("_checksum", "_rounds")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != FAMILY_KEY_LENGTH:
            raise Leaf16Error(f"a family key is {FAMILY_KEY_LENGTH} bytes")
        self._rounds = tuple(
            crypto_hmac.HMAC(_derive(key, b"escrowlab leaf16 family round %d v2" % i),
                             hashes.SHA256())
            for i in range(FEISTEL_ROUNDS)
        )
        self._checksum = crypto_hmac.HMAC(
            _derive(key, b"escrowlab leaf16 family checksum v1"), hashes.SHA256()
        )

    @classmethod
    def generate(cls) -> FamilyKey:
        return cls(os.urandom(FAMILY_KEY_LENGTH))

    def __repr__(self) -> str:
        return "FamilyKey(<secret>)"

    def __reduce__(self):
        raise TypeError("a family key cannot be serialised")

    def _round(self, i: int, iv: bytes, half: bytes) -> bytes:
        mac = self._rounds[i].copy()
        mac.update(iv + half)
        return mac.finalize()[:_HALF]

    def seal(self, iv: bytes, plaintext: bytes) -> bytes:
        """Encipher a body (module docstring: 4 Feistel rounds, the IV as tweak)."""
        left, right = plaintext[:_HALF], plaintext[_HALF:]
        for i in range(FEISTEL_ROUNDS):
            left, right = right, _xor(left, self._round(i, iv, right))
        return left + right

    def open(self, iv: bytes, body: bytes) -> bytes:
        """Decipher a body: the rounds of :meth:`seal` in reverse."""
        left, right = body[:_HALF], body[_HALF:]
        for i in reversed(range(FEISTEL_ROUNDS)):
            left, right = _xor(right, self._round(i, iv, left)), left
        return left + right

    def checksum_slot(self, data: bytes) -> bytes:
        mac = self._checksum.copy()
        mac.update(data)
        return mac.finalize()[:CHECKSUM_SLOT_LENGTH]


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def context_binding(context: ChainContext) -> bytes:
    """The chain context as unambiguous bytes (every field length-prefixed or fixed-size)."""
    parts = [context.mode, context.conversation_id, context.sender, context.recipient]
    out = bytearray(
        struct.pack(">IIQ", context.protocol_version, context.chain_number, context.time)
    )
    for text in parts:
        raw = text.encode("utf-8")
        out += _U32.pack(len(raw)) + raw
    out += _U32.pack(len(context.ratchet_public_key)) + context.ratchet_public_key
    return bytes(out)


@dataclass(frozen=True)
class Leaf:
    """A parsed LEAF record: header fields, the clear IV and the family-key-encrypted body."""

    width: int
    iv: bytes
    body: bytes

    def encode(self) -> bytes:
        return bytes((LEAF_VERSION, self.width)) + self.iv + self.body


def parse_leaf(record: bytes) -> Leaf:
    """Parse a LEAF record strictly; raise :class:`LeafFormatError` on any deviation."""
    if not isinstance(record, bytes | bytearray):
        raise LeafFormatError("a LEAF is bytes")
    if len(record) != LEAF_LENGTH:
        raise LeafFormatError(f"a LEAF is {LEAF_LENGTH} bytes, this record has {len(record)}")
    if record[0] != LEAF_VERSION:
        raise LeafFormatError(f"unknown LEAF version {record[0]} (expected {LEAF_VERSION})")
    if record[1] not in CHECKSUM_WIDTHS:
        raise LeafFormatError(f"unknown LEAF checksum width {record[1]}")
    return Leaf(record[1], bytes(record[2 : 2 + IV_LENGTH]), bytes(record[2 + IV_LENGTH :]))


@dataclass(frozen=True)
class LeafFields:
    """The decrypted body: unit id, wrapped chain key and checksum slot (the key material
    has no ``repr``)."""

    unit_id: int
    wrapped_chain_key: bytes = field(repr=False)
    checksum_slot: bytes = field(repr=False)


def open_body(family_key: FamilyKey, leaf: Leaf) -> LeafFields:
    plain = family_key.open(leaf.iv, leaf.body)
    return LeafFields(
        _U32.unpack_from(plain)[0],
        plain[UNIT_ID_LENGTH : UNIT_ID_LENGTH + WRAPPED_KEY_LENGTH],
        plain[UNIT_ID_LENGTH + WRAPPED_KEY_LENGTH :],
    )


def seal_leaf(
    family_key: FamilyKey,
    context: ChainContext,
    width: int,
    iv: bytes,
    unit_id: int,
    wrapped_chain_key: bytes,
) -> bytes:
    """Build the LEAF record for ``context`` carrying ``unit_id`` and ``wrapped_chain_key``."""
    check_width(width)
    check_unit_id(unit_id)
    if len(iv) != IV_LENGTH or len(wrapped_chain_key) != WRAPPED_KEY_LENGTH:
        raise Leaf16Error("a LEAF carries a 16-byte IV and a 40-byte wrapped key")
    slot = expected_slot(family_key, context, width, iv, unit_id, wrapped_chain_key)
    body = family_key.seal(iv, _U32.pack(unit_id) + wrapped_chain_key + slot)
    return Leaf(width, iv, body).encode()


def expected_slot(
    family_key: FamilyKey,
    context: ChainContext,
    width: int,
    iv: bytes,
    unit_id: int,
    wrapped_chain_key: bytes,
) -> bytes:
    """The checksum slot an honest unit writes for these fields and this chain."""
    check_chain_key(context)
    return family_key.checksum_slot(
        _CHECKSUM_LABEL
        + bytes((width,))
        + iv
        + _U32.pack(unit_id)
        + wrapped_chain_key
        + context.chain_key
        + context_binding(context)
    )


def checksum_matches(width: int, expected: bytes, found: bytes) -> bool:
    """Compare the first ``width`` bits of two checksum slots in constant time."""
    n = width // 8
    return hmac.compare_digest(expected[:n], found[:n])


def check_chain_key(context: ChainContext) -> None:
    if not isinstance(context.chain_key, bytes) or len(context.chain_key) != CHAIN_KEY_LENGTH:
        raise Leaf16Error(f"a chain key is {CHAIN_KEY_LENGTH} bytes")
