"""Encrypting a share to one X25519 public key: ECIES with X25519, HKDF-SHA256 and
AES-256-GCM (the DHKEM + HKDF + AEAD composition of RFC 9180, base mode, with the
ephemeral key supplied by the caller).

``cryptography``'s HPKE draws its ephemeral key internally; the threshold record
must be recomputable from the chain key, so the record supplies its ephemeral
private key (derived with HKDF, see :mod:`escrow.threshold.hook`). Releases use a
fresh random ephemeral key. The AEAD key and nonce are HKDF outputs of the DH
secret with both public keys and a domain label in ``info``; the caller's
associated data binds the whole context.

:func:`is_small_order` refuses the public keys whose X25519 output is the
all-zero value whatever the private key (RFC 7748, section 6.1: such a
"shared secret" is known to everyone, and ``cryptography`` refuses the
exchange with a bare ``ValueError``). Every X25519 public key the escrow layer
encrypts to (custodian share keys, recovery keys) is checked with it first.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from escrow.record import EncryptedShare

KEY_LENGTH = 32
NONCE_LENGTH = 12
_P = 2**255 - 19
# The u-coordinates of the points of order 1, 2, 4 and 8 on Curve25519 and its twist
# (the list libsodium and RFC 7748 implementations refuse), reduced mod p.
SMALL_ORDER_U = frozenset({
    0, 1, _P - 1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
})


def is_small_order(public: bytes) -> bool:
    """True when ``public`` (raw 32 bytes) is a small-order X25519 point in any encoding: the
    most significant bit is ignored and u is taken mod p (RFC 7748, section 5), so each of
    the 5 points has 2 or 4 encodings (14 in all)."""
    u = int.from_bytes(public, "little") & ((1 << 255) - 1)
    return u % _P in SMALL_ORDER_U


def _key_and_nonce(shared: bytes, label: bytes, ephemeral_public: bytes,
                   recipient_public: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(hashes.SHA256(), KEY_LENGTH + NONCE_LENGTH, None,
               label + ephemeral_public + recipient_public).derive(shared)
    return okm[:KEY_LENGTH], okm[KEY_LENGTH:]


def seal(ephemeral: X25519PrivateKey, recipient: X25519PublicKey, recipient_public: bytes,
         plaintext: bytes, associated_data: bytes, label: bytes) -> EncryptedShare:
    """Encrypt ``plaintext`` to ``recipient`` (whose raw key is ``recipient_public``)."""
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    key, nonce = _key_and_nonce(ephemeral.exchange(recipient), label, ephemeral_public,
                                recipient_public)
    return EncryptedShare(ephemeral_public,
                          AESGCM(key).encrypt(nonce, plaintext, associated_data))


def open_sealed(share: EncryptedShare, exchange, recipient_public: bytes,
                associated_data: bytes, label: bytes) -> bytes | None:
    """Decrypt ``share`` with ``exchange`` (the recipient's X25519 function of a peer's raw
    public key); ``None`` if the key, the associated data or the ciphertext is wrong."""
    try:
        shared = exchange(share.ephemeral_public)
    except ValueError:
        return None
    key, nonce = _key_and_nonce(shared, label, share.ephemeral_public, recipient_public)
    try:
        return AESGCM(key).decrypt(nonce, share.ciphertext, associated_data)
    except InvalidTag:
        return None
