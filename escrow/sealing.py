"""Encrypting to X25519 public keys: ECIES with X25519, HKDF-SHA256 and AES-256-GCM (the
DHKEM + HKDF + AEAD composition of RFC 9180, base mode, with the ephemeral key supplied by
the caller), to one recipient (:func:`seal`) or to several under one ephemeral key
(:func:`seal_to_each`).

``cryptography``'s HPKE draws its ephemeral key internally; the threshold record
must be recomputable from the chain key, so the record supplies its ephemeral
private key (derived with HKDF, see :mod:`escrow.threshold.hook`). Releases use a
fresh random ephemeral key. The AEAD key and nonce are HKDF outputs of the DH
secret with a domain label, the ephemeral public key and the recipient's public key
in ``info`` (RFC 9180, section 4.1: ``kem_context = enc || pkRm``); the caller's
associated data binds the whole context.

Several recipients, one ephemeral key (:func:`seal_to_each`): the multi-recipient
ElGamal / KEM construction of Bellare, Boldyreva, Kurosawa and Staddon
("Multirecipient encryption schemes: how to save on bandwidth and computation
without sacrificing security", IEEE Trans. Inf. Theory 53(11), 2007): one ephemeral
``e``, and recipient i's key and nonce from ``HKDF(DH(e, pk_i), info = label || epk
|| pk_i || i)``. Reusing ``e`` across recipients is safe because each recipient's DH
secret is a different value (the recipients' keys are distinct, as every custodian
set guarantees), and the index and public key in ``info`` make every
recipient's key and nonce distinct even if two keys were equal. It costs one
ephemeral key and n exchanges instead of n of each.

:func:`is_small_order` refuses the public keys whose X25519 output is the
all-zero value whatever the private key (RFC 7748, section 6.1: such a
"shared secret" is known to everyone, and ``cryptography`` refuses the
exchange with a bare ``ValueError``). Every X25519 public key the escrow layer
encrypts to (custodian share keys, recovery keys) is checked with it first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_LENGTH = 32
NONCE_LENGTH = 12
MAX_RECIPIENTS = 255  # the index is one byte of the KDF input
_SHA256 = hashes.SHA256()
_P = 2**255 - 19
# The u-coordinates of the points of order 1, 2, 4 and 8 on Curve25519 and its twist
# (the list libsodium and RFC 7748 implementations refuse), reduced mod p.
SMALL_ORDER_U = frozenset({
    0, 1, _P - 1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
})

Exchange = Callable[[bytes], bytes]
"""A recipient's X25519 function: a peer's raw public key -> the shared secret."""


@dataclass(frozen=True)
class EncryptedShare:
    """A value sealed to one recipient: the ephemeral public key and the AEAD ciphertext."""

    ephemeral_public: bytes
    ciphertext: bytes


def is_small_order(public: bytes) -> bool:
    """True when ``public`` (raw 32 bytes) is a small-order X25519 point in any encoding: the
    most significant bit is ignored and u is taken mod p (RFC 7748, section 5), so each of
    the 5 points has 2 or 4 encodings (14 in all)."""
    u = int.from_bytes(public, "little") & ((1 << 255) - 1)
    return u % _P in SMALL_ORDER_U


def _key_and_nonce(shared: bytes, info: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(_SHA256, KEY_LENGTH + NONCE_LENGTH, None, info).derive(shared)
    return okm[:KEY_LENGTH], okm[KEY_LENGTH:]


def _recipient_info(label: bytes, ephemeral_public: bytes, recipient_public: bytes,
                    index: int) -> bytes:
    if not 0 <= index <= MAX_RECIPIENTS:
        raise ValueError(f"a recipient index is 0..{MAX_RECIPIENTS}")
    return label + ephemeral_public + recipient_public + bytes((index,))


def seal(ephemeral: X25519PrivateKey, recipient: X25519PublicKey, recipient_public: bytes,
         plaintext: bytes, associated_data: bytes, label: bytes) -> EncryptedShare:
    """Encrypt ``plaintext`` to ``recipient`` (whose raw key is ``recipient_public``)."""
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    key, nonce = _key_and_nonce(ephemeral.exchange(recipient),
                                label + ephemeral_public + recipient_public)
    return EncryptedShare(ephemeral_public,
                          AESGCM(key).encrypt(nonce, plaintext, associated_data))


def seal_to_each(ephemeral: X25519PrivateKey,
                 recipients: Sequence[tuple[X25519PublicKey, bytes]],
                 plaintexts: Sequence[bytes], associated_data: Sequence[bytes],
                 label: bytes) -> tuple[bytes, tuple[bytes, ...]]:
    """(ephemeral public key, ciphertexts): ``plaintexts[i]`` encrypted to recipient i
    (``recipients[i]`` is its key and raw key) under ``associated_data[i]``, all under the
    one ``ephemeral`` key (module docstring)."""
    if not len(recipients) == len(plaintexts) == len(associated_data):
        raise ValueError("one plaintext and one associated data per recipient")
    if len(recipients) > MAX_RECIPIENTS + 1:
        raise ValueError(f"at most {MAX_RECIPIENTS + 1} recipients")
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    prefix = label + ephemeral_public
    ciphertexts = []
    for index, ((recipient, recipient_public), plaintext, ad) in enumerate(
            zip(recipients, plaintexts, associated_data, strict=True)):
        okm = HKDF(_SHA256, KEY_LENGTH + NONCE_LENGTH, None,
                   prefix + recipient_public + bytes((index,))).derive(
            ephemeral.exchange(recipient))
        ciphertexts.append(AESGCM(okm[:KEY_LENGTH]).encrypt(okm[KEY_LENGTH:], plaintext, ad))
    return ephemeral_public, tuple(ciphertexts)


def _decrypt(exchange: Exchange, ephemeral_public: bytes, info: bytes, ciphertext: bytes,
             associated_data: bytes) -> bytes | None:
    try:
        shared = exchange(ephemeral_public)
    except ValueError:
        return None
    key, nonce = _key_and_nonce(shared, info)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, associated_data)
    except InvalidTag:
        return None


def open_sealed(share: EncryptedShare, exchange: Exchange, recipient_public: bytes,
                associated_data: bytes, label: bytes) -> bytes | None:
    """Decrypt ``share`` (made by :func:`seal`) with ``exchange``, the recipient's X25519
    function; ``None`` if the key, the associated data or the ciphertext is wrong."""
    return _decrypt(exchange, share.ephemeral_public,
                    label + share.ephemeral_public + recipient_public, share.ciphertext,
                    associated_data)


def open_for(index: int, ephemeral_public: bytes, ciphertext: bytes, exchange: Exchange,
             recipient_public: bytes, associated_data: bytes, label: bytes) -> bytes | None:
    """Decrypt recipient ``index``'s ciphertext of :func:`seal_to_each`; ``None`` if the
    key, the index, the associated data or the ciphertext is wrong."""
    return _decrypt(exchange, ephemeral_public,
                    _recipient_info(label, ephemeral_public, recipient_public, index),
                    ciphertext, associated_data)
