"""The shared parts of our key schedule reproduce libsignal's known answers bit for bit.

Where we differ (ML-KEM-768 instead of Kyber-1024, our own info strings,
AES-256-GCM instead of AES-CBC + HMAC) the KDFs are parameterised, and the
tests pass libsignal's info strings to check the construction itself.
"""

import json

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from messaging.pqxdh import derive_secret
from messaging.ratchet import expand_message_key, kdf_ck, message_key_for


def _vectors(vectors_dir):
    return json.loads((vectors_dir / "libsignal" / "vectors.json").read_text())


def test_kdf_ck_matches_libsignal_chain_key_step(vectors_dir):
    v = _vectors(vectors_dir)["chain_key"]
    next_chain_key, message_key = kdf_ck(bytes.fromhex(v["chain_key"]))
    assert next_chain_key.hex() == v["next_chain_key"]
    material = expand_message_key(message_key, info=b"WhisperMessageKeys", length=80)
    assert material[:32].hex() == v["cipher_key"]
    assert material[32:64].hex() == v["mac_key"]


def test_message_key_for_steps_the_same_chain(vectors_dir):
    v = _vectors(vectors_dir)["chain_key"]
    chain_key = bytes.fromhex(v["chain_key"])
    assert message_key_for(chain_key, 1) == kdf_ck(bytes.fromhex(v["next_chain_key"]))[1]


def test_pqxdh_kdf_reproduces_libsignal_x3dh_key_schedule(vectors_dir):
    v = _vectors(vectors_dir)["x3dh_classic"]

    def private(name):
        return X25519PrivateKey.from_private_bytes(bytes.fromhex(v[name]))

    def public(name):
        return X25519PublicKey.from_public_bytes(bytes.fromhex(v[name])[1:])  # strip 0x05

    key_material = (
        private("alice_identity_priv").exchange(public("bob_signed_prekey_pub"))
        + private("alice_base_priv").exchange(public("bob_identity_pub"))
        + private("alice_base_priv").exchange(public("bob_signed_prekey_pub"))
    )
    derived = derive_secret(key_material, info=b"WhisperText", length=96)
    assert derived[32:64].hex() == v["chain_key"]
