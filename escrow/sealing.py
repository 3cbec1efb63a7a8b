"""Encrypting a share to one X25519 public key: ECIES with X25519, HKDF-SHA256 and
AES-256-GCM (the DHKEM + HKDF + AEAD composition of RFC 9180, base mode, with the
ephemeral key supplied by the caller).

``cryptography``'s HPKE draws its ephemeral key internally; the threshold record
must be recomputable from the chain key, so the record supplies its ephemeral
private key (derived with HKDF, see :mod:`escrow.threshold`). Releases use a
fresh random ephemeral key. The AEAD key and nonce are HKDF outputs of the DH
secret with both public keys and a domain label in ``info``; the caller's
associated data binds the whole context.
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
