"""Double Ratchet key derivation and message sealing (Signal, "The Double Ratchet
Algorithm", revision 4, sections 2.2-2.4, 3.1 and 5.2).

- ``KDF_RK(rk, dh_out)``: HKDF-SHA-256 with ``rk`` as salt, ``dh_out`` as input
  key material and :data:`ROOT_KDF_INFO`, 64 bytes: new root key, chain key
  (section 5.2's recommendation).
- ``KDF_CK(ck)``: message key = HMAC-SHA-256(ck, 0x01), next chain key =
  HMAC-SHA-256(ck, 0x02) (section 5.2; identical to libsignal, tested against
  its known answers).
- ``ENCRYPT(mk, plaintext, ad)``: AES-256-GCM. Section 5.2 recommends
  AES-256-CBC + HMAC and allows other choices; we use an AEAD: HKDF-SHA-256
  (salt = 0^32, IKM = mk, info = :data:`MESSAGE_KEY_INFO`) gives 44 bytes,
  the AES-256 key and the 96-bit nonce. Each message key is used for exactly
  one message and deleted, so a nonce derived from it never repeats under its key.

The associated data of every message (:func:`message_associated_data`) is
:func:`associated_data_prefix` (protocol version, escrow mode, conversation,
sender and recipient addresses and identities) followed by the header with the
escrow record replaced by its hash
(:meth:`messaging.wire.Header.authenticated_bytes`), in a prekey message
only, :data:`PREKEY_BLOCK_LABEL` and the bytes of its PQXDH block
(:meth:`messaging.pqxdh.PrekeyBlock.encode`) and, in a message that carries a
safety voucher only (a version-2 envelope, :mod:`messaging.wire`),
:data:`VOUCHER_LABEL` and the voucher's SHA-256. It contains PQXDH's
``AD = Encode(IK_A) || Encode(IK_B)`` (in sender, recipient order, as
libsignal's message MAC does) and binds everything else a record or message
could be lifted from.

Why the block is bound (Signal, "The PQXDH Key Agreement Protocol", revision 3):
section 3.3 has Alice send IK_A, EK_A, the KEM ciphertext CT, the identifiers of
Bob's prekeys she used and an initial ciphertext under a key derived from SK;
section 3.4 has Bob recompute SK from exactly those values and abort if the
initial ciphertext does not decrypt. In the first message the block is therefore
authenticated through SK. But the initiator keeps sending the block with every
message until the first reply (so that the responder can start the session from
whichever arrives first), and once the responder has a session it decrypts the
later ones with ratchet keys that no longer depend on the block: without this
binding a relay could alter or strip the block of the second and later prekey
messages, the recipient would still accept them, and the archive would hold
bytes the sender never sent.

Why the voucher is bound (docs/css.md): the voucher travels in clear, for the
provider, and is the only thing that tells it what the sender's device found. A
relay that could strip a voucher, or swap in another account's, would make the
report say what it liked; with its digest in the associated data a voucher
stripped, swapped or added fails at the recipient as a bad tag, like any other
altered byte, and the recipient's policy sees only vouchers the sender made.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from messaging.errors import DecryptionError
from messaging.identity import IdentityPublic
from messaging.limits import PROTOCOL_VERSION

ROOT_KDF_INFO = b"escrowlab v1 root ratchet"
MESSAGE_KEY_INFO = b"escrowlab v1 message keys"
MESSAGE_KEY_SALT = b"\x00" * 32
AD_LABEL = b"escrowlab message v1"
PREKEY_BLOCK_LABEL = b"escrowlab pqxdh block v1"
VOUCHER_LABEL = b"escrowlab safety voucher v1"
_MESSAGE_KEY_CONSTANT = b"\x01"
_CHAIN_KEY_CONSTANT = b"\x02"


def kdf_rk(root_key: bytes, dh_output: bytes) -> tuple[bytes, bytes]:
    """Section 5.2 ``KDF_RK``: return (new root key, new chain key)."""
    out = HKDF(hashes.SHA256(), 64, root_key, ROOT_KDF_INFO).derive(dh_output)
    return out[:32], out[32:]


def kdf_ck(chain_key: bytes) -> tuple[bytes, bytes]:
    """Section 5.2 ``KDF_CK``: return (next chain key, message key)."""
    return (
        hmac.digest(chain_key, _CHAIN_KEY_CONSTANT, "sha256"),
        hmac.digest(chain_key, _MESSAGE_KEY_CONSTANT, "sha256"),
    )


def message_key_for(chain_key: bytes, message_number: int) -> bytes:
    """The message key of message ``message_number`` of the chain starting at ``chain_key``.

    Requires ``0 <= message_number < 2**32`` (the wire format's bound).
    """
    if not 0 <= message_number < 2**32:
        raise DecryptionError(f"message number {message_number} is outside 0..2^32-1")
    for _ in range(message_number):
        chain_key = hmac.digest(chain_key, _CHAIN_KEY_CONSTANT, "sha256")
    return hmac.digest(chain_key, _MESSAGE_KEY_CONSTANT, "sha256")


def expand_message_key(
    message_key: bytes, info: bytes = MESSAGE_KEY_INFO, length: int = 44
) -> bytes:
    """HKDF-SHA-256(salt = 0^32, IKM = message key, info): the AEAD key material."""
    return HKDF(hashes.SHA256(), length, MESSAGE_KEY_SALT, info).derive(message_key)


def seal(message_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """``ENCRYPT(mk, plaintext, ad)`` with AES-256-GCM (module docstring)."""
    material = expand_message_key(message_key)
    return AESGCM(material[:32]).encrypt(material[32:], plaintext, associated_data)


def open_sealed(message_key: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
    """``DECRYPT(mk, ciphertext, ad)``; a bad tag raises ``DecryptionError``."""
    material = expand_message_key(message_key)
    try:
        return AESGCM(material[:32]).decrypt(material[32:], ciphertext, associated_data)
    except InvalidTag as exc:
        raise DecryptionError("message authentication failed") from exc


def associated_data_prefix(
    mode: str,
    conversation_id: str,
    sender: str,
    recipient: str,
    sender_identity: IdentityPublic,
    recipient_identity: IdentityPublic,
) -> bytes:
    """The per-direction part of every message's associated data (module docstring)."""
    fields = [mode.encode("ascii"), conversation_id.encode("utf-8"),
              sender.encode("utf-8"), recipient.encode("utf-8")]
    encoded = b"".join(struct.pack(">H", len(f)) + f for f in fields)
    return (AD_LABEL + struct.pack(">B", PROTOCOL_VERSION) + encoded
            + sender_identity.encode() + recipient_identity.encode())


def message_associated_data(
    prefix: bytes, authenticated_header: bytes, prekey_block: bytes | None,
    voucher: bytes | None = None,
) -> bytes:
    """One message's associated data (module docstring): ``prefix`` from
    :func:`associated_data_prefix`, the header's authenticated bytes, for a prekey
    message its PQXDH block's bytes and, for a message with a safety voucher, the voucher's
    SHA-256. The header and the block are self-delimiting and each optional part starts
    with its own label, so no two of these combinations share their associated data."""
    data = prefix + authenticated_header
    if prekey_block is not None:
        data += PREKEY_BLOCK_LABEL + prekey_block
    if voucher is not None:
        data += VOUCHER_LABEL + hashlib.sha256(voucher).digest()
    return data
