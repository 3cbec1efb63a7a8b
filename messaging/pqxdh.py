"""PQXDH key agreement, the handshake (Signal, "The PQXDH Key Agreement Protocol", revision 3).

Parameters (section 2.2): curve X25519, hash SHA-256, KEM ML-KEM-768 (FIPS 203,
from ``cryptography``), info :data:`PQXDH_INFO`. escrowlab differs from the
spec's example parameters in two documented ways: ML-KEM-768 instead of
Kyber-1024, and identities that are an Ed25519/X25519 pair bound by a signature
(see :mod:`messaging.identity`) instead of one XEdDSA key.

- Prekeys (section 3.2): the public records a device publishes and an initiator
  fetches are in :mod:`messaging.prekey_records`, the device's private prekeys in
  :mod:`messaging.prekey_state`.
- Sending the initial message (section 3.3, :func:`initiate`): DH1 = DH(IK_A, SPK_B),
  DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B) when a
  one-time prekey was handed out (bundles without one are accepted, as the spec
  allows), (CT, SS) = ML-KEM-768.Encaps(PQPK_B), and
  SK = KDF(DH1 || DH2 || DH3 [|| DH4] || SS).
- Receiving the initial message (section 3.4, :func:`respond`): the same SK from
  the prekey block and the device's private prekeys.
- KDF (section 2.2): HKDF-SHA-256 with a zero-filled 32-byte salt over
  ``F || KM`` where F is 32 0xFF bytes, 32 bytes of output.
- AD = Encode(IK_A) || Encode(IK_B) (section 3.3); the ratchet binds more
  context on top of it (see :mod:`messaging.session`), among it the bytes of
  this block (:meth:`PrekeyBlock.encode`) in every message that repeats it,
  since only the first message authenticates the block through SK (section
  3.4; see :mod:`messaging.ratchet`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from messaging.errors import HandshakeError
from messaging.identity import IdentityKeyPair, IdentityPublic
from messaging.prekey_records import PrekeyBundle
from messaging.prekey_state import DevicePrekeys

PQXDH_INFO = b"escrowlab_PQXDH_CURVE25519_SHA-256_ML-KEM-768"
KDF_F = b"\xff" * 32
KDF_SALT = b"\x00" * 32
MLKEM768_CIPHERTEXT_LENGTH = 1088


def derive_secret(key_material: bytes, info: bytes = PQXDH_INFO, length: int = 32) -> bytes:
    """PQXDH section 2.2 ``KDF(KM)``: HKDF-SHA-256(salt = 0^32, IKM = F || KM, info)."""
    return HKDF(hashes.SHA256(), length, KDF_SALT, info).derive(KDF_F + key_material)


@dataclass(frozen=True)
class PrekeyBlock:
    """The PQXDH part of an initial message (section 3.3): who, EK_A, which prekeys, CT."""

    identity: IdentityPublic
    ephemeral_key: bytes
    signed_prekey_id: int
    one_time_prekey_id: int | None
    kem_prekey_id: int
    kem_ciphertext: bytes

    def encode(self) -> bytes:
        """The block's bytes as the wire carries them (layout in :mod:`messaging.wire`):
        what a prekey message's associated data binds (:mod:`messaging.ratchet`)."""
        one_time = (b"\x00" if self.one_time_prekey_id is None
                    else b"\x01" + struct.pack(">I", self.one_time_prekey_id))
        return (self.identity.encode() + self.ephemeral_key
                + struct.pack(">I", self.signed_prekey_id) + one_time
                + struct.pack(">I", self.kem_prekey_id) + self.kem_ciphertext)


@dataclass(frozen=True)
class Agreement:
    """The result of PQXDH for one side: the shared secret and the spec's AD."""

    shared_secret: bytes
    associated_data: bytes


def initiate(identity: IdentityKeyPair, bundle: PrekeyBundle) -> tuple[Agreement, PrekeyBlock]:
    """Section 3.3, the initiator: verify the bundle, compute SK, build the prekey block."""
    bundle.verify()
    ephemeral = X25519PrivateKey.generate()
    try:
        spk = X25519PublicKey.from_public_bytes(bundle.signed_prekey.public_key)
        key_material = (
            identity.dh(spk)
            + ephemeral.exchange(bundle.identity.x25519())
            + ephemeral.exchange(spk)
        )
        if bundle.one_time_prekey is not None:
            key_material += ephemeral.exchange(
                X25519PublicKey.from_public_bytes(bundle.one_time_prekey.public_key)
            )
    except ValueError as exc:  # all-zero output: a small-order point (RFC 7748 section 6.1)
        raise HandshakeError("the bundle holds an invalid X25519 public key") from exc
    try:
        kem_public = mlkem.MLKEM768PublicKey.from_public_bytes(bundle.kem_prekey.public_key)
    except ValueError as exc:
        raise HandshakeError("the bundle's ML-KEM-768 prekey is not a valid public key") from exc
    kem_secret, kem_ciphertext = kem_public.encapsulate()
    key_material += kem_secret
    agreement = Agreement(
        derive_secret(key_material), identity.public.encode() + bundle.identity.encode()
    )
    block = PrekeyBlock(
        identity.public,
        ephemeral.public_key().public_bytes_raw(),
        bundle.signed_prekey.key_id,
        bundle.one_time_prekey.key_id if bundle.one_time_prekey else None,
        bundle.kem_prekey.key_id,
        kem_ciphertext,
    )
    return agreement, block


def respond(prekeys: DevicePrekeys, block: PrekeyBlock) -> tuple[Agreement, X25519PrivateKey]:
    """Section 3.4, the responder: recompute SK from the prekey block with ``prekeys``.

    Returns the agreement and the signed prekey's private key, which becomes
    the responder's first ratchet key pair (Double Ratchet section 7.1).
    Raises ``HandshakeError`` for an unknown or already-used prekey id; deletes
    nothing (:meth:`~messaging.prekey_state.DevicePrekeys.consume` does, once the
    initial message decrypted).
    """
    IdentityPublic.decode(block.identity.encode())  # verifies the key binding
    identity = prekeys.identity
    spk = prekeys.signed_prekey(block.signed_prekey_id)
    one_time = None
    if block.one_time_prekey_id is not None:
        one_time = prekeys.one_time_prekey(block.one_time_prekey_id)
    try:
        ephemeral = X25519PublicKey.from_public_bytes(block.ephemeral_key)
        key_material = (
            spk.exchange(block.identity.x25519())
            + identity.dh(ephemeral)
            + spk.exchange(ephemeral)
        )
        if one_time is not None:
            key_material += one_time.exchange(ephemeral)
    except ValueError as exc:  # all-zero output: a small-order point (RFC 7748 section 6.1)
        raise HandshakeError("the initial message holds an invalid X25519 public key") from exc
    kem = prekeys.kem_prekey(block.kem_prekey_id)
    key_material += kem.decapsulate(block.kem_ciphertext)
    agreement = Agreement(
        derive_secret(key_material), block.identity.encode() + identity.public.encode()
    )
    return agreement, spk
