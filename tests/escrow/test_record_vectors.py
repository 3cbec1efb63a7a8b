"""Version 3 threshold records, pinned (docs/formats.md, "Threshold records"): a known
answer from fixed custodian keys and a fixed chain, and the same record recomputed here from
the documented derivation with ``cryptography`` calls alone -- one ephemeral key per record,
each share's key and nonce from HKDF over its DH secret with the label, the ephemeral key,
the custodian's key and index."""

import hashlib
import struct

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from escrow import shares
from escrow.context import RecordContext
from escrow.custodian import Custodian, CustodianKeys, CustodianPublic
from escrow.custodian_set import CustodianSet
from escrow.record import parse_record
from escrow.threshold.hook import ThresholdEscrow, share_associated_data
from messaging.hooks import PROTOCOL_VERSION, ChainContext

HEADER_LENGTH = 2 + 9 + 41 + 1 + 32  # version, mode id, fixed fields, no parameters, epk
CHAIN_KEY = hashlib.sha256(b"escrowlab record vector chain key").digest()
RATCHET_KEY = hashlib.sha256(b"escrowlab record vector ratchet key").digest()
# SHA-256 of the 3-of-5 record below, made by this build (format version 3).
RECORD_SHA256 = "da991812a77e5af1f87ddce0777d342b22ecc42b63ee3b5825cb931e2fb091f9"


def _custodian(i: int) -> Custodian:
    keys = CustodianKeys.from_private_bytes(
        hashlib.sha256(b"vector share %d" % i).digest()
        + hashlib.sha256(b"vector signing %d" % i).digest())
    return Custodian(CustodianPublic(f"K{i + 1}", f"Custodian {i + 1}", "JA",
                                     keys.share_public, keys.signing_public), keys)


CUSTODIANS = [_custodian(i) for i in range(5)]
SET = CustodianSet(1, 3, tuple(c.public for c in CUSTODIANS))
CONTEXT = ChainContext(PROTOCOL_VERSION, "threshold", "vector", "alice:1", "bob:1", 7,
                       CHAIN_KEY, RATCHET_KEY, 1_700_000_000)


@pytest.fixture(scope="module")
def record() -> bytes:
    return ThresholdEscrow(SET).record_for_chain(CONTEXT)


def test_the_known_answer(record):
    assert len(record) == HEADER_LENGTH + 5 * 48
    assert hashlib.sha256(record).hexdigest() == RECORD_SHA256


def test_the_record_is_the_documented_derivation(record):
    parsed = parse_record(record)
    encoded = RecordContext.of_chain(CONTEXT).encode()
    stream = HKDF(hashes.SHA256(), 2 + 32 + shares.random_length(3, 32),
                  b"escrowlab threshold record randomness v2",
                  b"threshold" + SET.fingerprint + b"\x00" + encoded).derive(CHAIN_KEY)
    assert parsed.identifier == int.from_bytes(stream[:2], "big") >> 1
    ephemeral = X25519PrivateKey.from_private_bytes(stream[2:34])
    assert parsed.ephemeral_public == ephemeral.public_key().public_bytes_raw()
    values = {}
    for index, (custodian, sealed) in enumerate(zip(CUSTODIANS, parsed.shares, strict=True)):
        share_key = custodian.public.share_key
        okm = HKDF(hashes.SHA256(), 44, None,
                   b"escrowlab threshold share v2\x00" + parsed.ephemeral_public + share_key
                   + bytes((index,))).derive(
            ephemeral.exchange(X25519PublicKey.from_public_bytes(share_key)))
        header = record[:HEADER_LENGTH]  # every byte before the first share
        associated_data = header + struct.pack(">I", len(header)) + encoded + bytes((index,))
        assert associated_data == share_associated_data(parsed, RecordContext.of_chain(CONTEXT),
                                                        index)
        values[index] = AESGCM(okm[:32]).decrypt(okm[32:], sealed, associated_data)
    assert values == dict(enumerate(shares.split(CHAIN_KEY, 3, 5, stream[34:])))
    assert shares.combine(parsed.identifier, 3, {i: values[i] for i in (0, 2, 4)}) == CHAIN_KEY


def test_a_share_key_derived_without_its_index_opens_nothing(record):
    parsed = parse_record(record)
    custodian = CUSTODIANS[1]
    okm = HKDF(hashes.SHA256(), 44, None,
               b"escrowlab threshold share v2\x00" + parsed.ephemeral_public
               + custodian.public.share_key).derive(
        custodian.keys.exchange(parsed.ephemeral_public))
    with pytest.raises(InvalidTag):
        AESGCM(okm[:32]).decrypt(okm[32:], parsed.shares[1], share_associated_data(
            parsed, RecordContext.of_chain(CONTEXT), 1))
