"""Device identity: an Ed25519 signing key and an X25519 DH key, bound together.

Signal's PQXDH (revision 3, section 2.3) uses one curve key for both signing
(XEdDSA) and Diffie-Hellman. ``cryptography`` offers no XEdDSA, so a device
holds two keys and binds them: the Ed25519 key signs the X25519 public key
under a domain-separation label (:data:`BINDING_LABEL`). The 128-byte encoding
``signing_key || dh_key || binding_signature`` is what PQXDH's ``Encode(IK)``
and the safety number use.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from messaging.errors import HandshakeError, StateError

BINDING_LABEL = b"escrowlab identity binding v1"
KEY_LENGTH = 32
SIGNATURE_LENGTH = 64
IDENTITY_PUBLIC_LENGTH = 2 * KEY_LENGTH + SIGNATURE_LENGTH


@dataclass(frozen=True)
class IdentityPublic:
    """The public half of a device identity; ``decode`` verifies the binding."""

    signing_key: bytes
    dh_key: bytes
    binding_signature: bytes

    def encode(self) -> bytes:
        """``Encode(IK)`` of PQXDH section 2.3: signing key, DH key, binding signature."""
        return self.signing_key + self.dh_key + self.binding_signature

    @classmethod
    def decode(cls, data: bytes) -> IdentityPublic:
        if not isinstance(data, bytes | bytearray) or len(data) != IDENTITY_PUBLIC_LENGTH:
            raise HandshakeError(f"an identity key is {IDENTITY_PUBLIC_LENGTH} bytes")
        data = bytes(data)
        identity = cls(data[:32], data[32:64], data[64:])
        identity.verify(identity.binding_signature, BINDING_LABEL + identity.dh_key)
        return identity

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check an Ed25519 signature by this identity; raise ``HandshakeError`` if it fails."""
        try:
            Ed25519PublicKey.from_public_bytes(self.signing_key).verify(signature, data)
        except (InvalidSignature, ValueError) as exc:
            raise HandshakeError("signature does not verify under the identity key") from exc

    def x25519(self) -> X25519PublicKey:
        return X25519PublicKey.from_public_bytes(self.dh_key)


class IdentityKeyPair:
    """A device's long-term identity. Holds private keys: it has no useful ``repr``."""

    __slots__ = ("_signing", "_dh", "public")

    def __init__(self, signing: Ed25519PrivateKey, dh: X25519PrivateKey) -> None:
        self._signing = signing
        self._dh = dh
        dh_public = dh.public_key().public_bytes_raw()
        self.public = IdentityPublic(
            signing.public_key().public_bytes_raw(),
            dh_public,
            signing.sign(BINDING_LABEL + dh_public),
        )

    def __repr__(self) -> str:
        return f"IdentityKeyPair(public={self.public.signing_key.hex()[:16]}...)"

    @classmethod
    def generate(cls) -> IdentityKeyPair:
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    def sign(self, data: bytes) -> bytes:
        return self._signing.sign(data)

    def dh(self, peer_public: X25519PublicKey) -> bytes:
        return self._dh.exchange(peer_public)

    def private_bytes(self) -> bytes:
        """The 64-byte private encoding (signing seed || DH scalar), for encrypted stores only."""
        return self._signing.private_bytes_raw() + self._dh.private_bytes_raw()

    @classmethod
    def from_private_bytes(cls, data: bytes) -> IdentityKeyPair:
        if len(data) != 2 * KEY_LENGTH:
            raise StateError("a stored identity private key is 64 bytes")
        return cls(
            Ed25519PrivateKey.from_private_bytes(data[:32]),
            X25519PrivateKey.from_private_bytes(data[32:]),
        )
