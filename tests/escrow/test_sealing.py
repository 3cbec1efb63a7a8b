"""Sealing to several custodians under one ephemeral key (escrow.sealing.seal_to_each):
each recipient's index and public key are in its key derivation, so no ciphertext opens
for another recipient, under another index or with another claimed key."""

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from escrow import sealing

LABEL = b"test label\x00"


def _recipient():
    key = X25519PrivateKey.generate()
    return key, (key.public_key(), key.public_key().public_bytes_raw())


def _exchange(key):
    return lambda peer: key.exchange(X25519PublicKey.from_public_bytes(peer))


def test_one_ephemeral_key_seals_to_each_recipient_and_only_to_it():
    keys, recipients = zip(*(_recipient() for _ in range(4)), strict=True)
    plaintexts = [os.urandom(32) for _ in keys]
    ads = [b"ad %d" % i for i in range(4)]
    ephemeral = X25519PrivateKey.generate()
    epk, ciphertexts = sealing.seal_to_each(ephemeral, recipients, plaintexts, ads, LABEL)
    assert epk == ephemeral.public_key().public_bytes_raw() and len(ciphertexts) == 4
    for i, ciphertext in enumerate(ciphertexts):
        for j, key in enumerate(keys):
            for claimed in range(4):
                opened = sealing.open_for(claimed, epk, ciphertext, _exchange(key),
                                          recipients[j][1], ads[claimed], LABEL)
                assert opened == (plaintexts[i] if i == j == claimed else None)


def test_the_index_separates_two_recipients_with_the_same_key_and_input():
    key, recipient = _recipient()
    _, (first, second) = sealing.seal_to_each(X25519PrivateKey.generate(), [recipient] * 2,
                                              [b"same" * 8] * 2, [b"ad"] * 2, LABEL)
    assert first != second


def test_a_claimed_public_key_other_than_the_recipients_opens_nothing():
    key, recipient = _recipient()
    epk, (ciphertext,) = sealing.seal_to_each(X25519PrivateKey.generate(), [recipient],
                                              [b"x" * 32], [b"ad"], LABEL)
    other = X25519PrivateKey.generate().public_key().public_bytes_raw()
    assert sealing.open_for(0, epk, ciphertext, _exchange(key), other, b"ad", LABEL) is None
    assert sealing.open_for(0, epk, ciphertext, _exchange(key), recipient[1], b"ad",
                            b"other label\x00") is None


def test_mismatched_lists_and_out_of_range_indices_are_refused():
    _, recipient = _recipient()
    ephemeral = X25519PrivateKey.generate()
    with pytest.raises(ValueError, match="one plaintext"):
        sealing.seal_to_each(ephemeral, [recipient] * 2, [b"x"], [b"ad"] * 2, LABEL)
    with pytest.raises(ValueError, match="0..255"):
        sealing.open_for(256, bytes(32), b"", _exchange(ephemeral), recipient[1], b"", LABEL)
