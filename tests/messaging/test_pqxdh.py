"""PQXDH (revision 3) edge cases: invalid X25519 points, identity binding, prekey handling."""

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from messaging.clock import ManualClock
from messaging.errors import DecryptionError, HandshakeError
from messaging.hooks import NoEscrow, open_message
from messaging.identity import BINDING_LABEL, IdentityKeyPair, IdentityPublic
from messaging.prekey_records import OneTimePrekey, PrekeyBundle, PrekeyUpload
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session
from messaging.wire import parse_envelope
from tests.messaging.helpers import RecordingHook, make_pair
from tests.messaging.mutations import mutated_document

# A small-order X25519 point: every DH with it is all zero (RFC 7748 section 6.1).
ZERO_POINT = bytes(32)
# The other encodings of small-order points (Bernstein's list, as in libsodium's blocklist):
# 1, two points of order 8, p - 1, p, p + 1.
SMALL_ORDER_POINTS = [ZERO_POINT] + [bytes.fromhex(h) for h in (
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
)]


def _device(one_time=1, kem=1):
    identity = IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(identity, "none", one_time, kem)
    return identity, prekeys, prekeys.upload()


def _refused_with_prekeys_kept(**block_changes):
    """Bob refuses Alice's first message with ``block_changes`` in its prekey block, cleanly."""
    bob, prekeys, upload = _device()
    session = Session.initiate(IdentityKeyPair.generate(), "alice:1",
                               upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0]),
                               "bob:1", "C1", NoEscrow(), ManualClock())
    envelope = parse_envelope(session.encrypt(b"hello"))
    forged = dataclasses.replace(
        envelope, prekey=dataclasses.replace(envelope.prekey, **block_changes)).encode()
    before = prekeys.serialize()
    with pytest.raises(HandshakeError, match="X25519"):
        Session.respond(bob, prekeys, "bob:1", forged, NoEscrow(), ManualClock())
    assert prekeys.serialize() == before


def test_relay_substituted_small_order_one_time_prekey_is_a_handshake_error():
    # One-time prekeys are unsigned (PQXDH section 3.2), so the relay can swap one.
    _, _, upload = _device()
    bundle = upload.bundle(OneTimePrekey(upload.one_time_prekeys[0].key_id, ZERO_POINT),
                           upload.kem_prekeys[0])
    with pytest.raises(HandshakeError, match="X25519"):
        Session.initiate(IdentityKeyPair.generate(), "alice:1", bundle, "bob:1", "C1",
                         NoEscrow(), ManualClock())


@pytest.mark.parametrize("point", SMALL_ORDER_POINTS, ids=lambda p: p.hex()[:8])
def test_small_order_ephemeral_key_is_a_handshake_error_and_keeps_the_prekeys(point):
    _refused_with_prekeys_kept(ephemeral_key=point)


@pytest.mark.parametrize("point", SMALL_ORDER_POINTS, ids=lambda p: p.hex()[:8])
def test_small_order_ratchet_key_in_a_header_is_a_decryption_error_and_changes_nothing(point):
    alice, bob, _, _ = make_pair()
    envelope = parse_envelope(bob.encrypt(b"reply"))
    forged = dataclasses.replace(envelope, header=dataclasses.replace(
        envelope.header, ratchet_key=point)).encode()
    before = alice.serialize()
    with pytest.raises(DecryptionError, match="X25519"):
        alice.decrypt(forged)
    assert alice.serialize() == before


def test_identity_with_a_validly_bound_small_order_dh_key_is_a_handshake_error():
    signing = Ed25519PrivateKey.generate()
    rogue = IdentityPublic(signing.public_key().public_bytes_raw(), ZERO_POINT,
                           signing.sign(BINDING_LABEL + ZERO_POINT))
    IdentityPublic.decode(rogue.encode())  # the binding itself verifies
    _refused_with_prekeys_kept(identity=rogue)


def test_a_bundle_whose_identity_dh_key_is_not_bound_is_refused():
    """Prekey signatures are made by the Ed25519 key, so they survive a swapped DH key: the
    binding signature is what stops it, even for a bundle built without ``from_json``."""
    _, _, upload = _device()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    swapped = dataclasses.replace(bundle, identity=dataclasses.replace(
        bundle.identity, dh_key=IdentityKeyPair.generate().public.dh_key))
    with pytest.raises(HandshakeError, match="signature"):
        Session.initiate(IdentityKeyPair.generate(), "alice:1", swapped, "bob:1", "C1",
                         NoEscrow(), ManualClock())


_SAMPLE_UPLOAD = _device(2, 1)[2].to_json()
_SAMPLE_BUNDLE = PrekeyUpload.from_json(_SAMPLE_UPLOAD).bundle(None, None).to_json()
_SAMPLE_BUNDLE_WITH_ONE_TIME = PrekeyUpload.from_json(_SAMPLE_UPLOAD).bundle(
    PrekeyUpload.from_json(_SAMPLE_UPLOAD).one_time_prekeys[0], None).to_json()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_mutated_bundle_or_upload_parses_or_is_a_handshake_error(data):
    """Any value of the JSON replaced by any JSON value (hostile ones included), or a field
    deleted or added anywhere: ``from_json`` either raises ``HandshakeError`` or returns a
    verified object that is exactly the document (no field ignored or coerced)."""
    cls, sample = data.draw(st.sampled_from([(PrekeyBundle, _SAMPLE_BUNDLE),
                                             (PrekeyBundle, _SAMPLE_BUNDLE_WITH_ONE_TIME),
                                             (PrekeyUpload, _SAMPLE_UPLOAD)]))
    doc = data.draw(mutated_document(sample))
    try:
        parsed = cls.from_json(doc)
    except HandshakeError:
        return
    # accepted (e.g. an emptied list of unsigned one-time prekeys): nothing was dropped
    # or coerced on the way
    assert parsed.to_json() == doc


@pytest.mark.parametrize("change", [
    {"identity": "AB" * 64}, {"mode": "\ud800"}, {"kem_last_resort": 1},
    {"signed_prekey": {"id": True, "key": "00" * 32, "sig": "00" * 64}},
    {"signed_prekey": {"id": 1.0, "key": "00" * 32, "sig": "00" * 64}},
    {"signed_prekey": {"id": 10**400, "key": "00" * 32, "sig": "00" * 64}},
    {"one_time_prekey": {"id": 1, "key": "0 " * 32}},
    {"one_time_prekey": {"id": 1, "key": "00" * 32, "\udfff": 1}},
], ids=range(8))
def test_hostile_bundle_fields_are_handshake_errors(change):
    with pytest.raises(HandshakeError):
        PrekeyBundle.from_json({**_SAMPLE_BUNDLE, **change})


def test_the_last_resort_kem_prekey_is_reused_never_consumed_and_its_flag_is_signed():
    bob, prekeys, upload = _device(2, 1)
    for i, one_time in enumerate(upload.one_time_prekeys):
        bundle = upload.bundle(one_time, None)  # the relay ran out of one-time KEM keys
        assert bundle.kem_last_resort
        session = Session.initiate(IdentityKeyPair.generate(), f"alice:{i}", bundle, "bob:1",
                                   "C1", NoEscrow(), ManualClock())
        Session.respond(bob, prekeys, "bob:1", session.encrypt(b"hi"), NoEscrow(),
                        ManualClock())
    assert prekeys.remaining() == (0, 1)  # the one-time ML-KEM key is still there
    flipped = dataclasses.replace(upload.bundle(None, None), kem_last_resort=False)
    with pytest.raises(HandshakeError, match="signature"):
        PrekeyBundle.from_json(flipped.to_json())


# -- the PQXDH block of later prekey messages (PQXDH revision 3 sections 3.3-3.4) ----------

def _later_prekey_messages():
    """Bob has the session (from Alice's first message); Alice, not yet answered, sends her
    second and third messages, each again carrying her PQXDH block."""
    alice, bob, _, _ = make_pair(one_time=2)
    second, third = alice.encrypt(b"second"), alice.encrypt(b"third")
    assert parse_envelope(second).prekey is not None and parse_envelope(third).prekey is not None
    return alice, bob, second, third


BLOCK_ALTERATIONS = {
    "ephemeral key": lambda b: dataclasses.replace(
        b, ephemeral_key=IdentityKeyPair.generate().public.dh_key),
    "signed prekey id": lambda b: dataclasses.replace(b, signed_prekey_id=b.signed_prekey_id + 1),
    "one-time prekey id": lambda b: dataclasses.replace(
        b, one_time_prekey_id=b.one_time_prekey_id + 1),
    "one-time prekey dropped": lambda b: dataclasses.replace(b, one_time_prekey_id=None),
    "ML-KEM prekey id": lambda b: dataclasses.replace(b, kem_prekey_id=b.kem_prekey_id + 1),
    "ML-KEM ciphertext": lambda b: dataclasses.replace(
        b, kem_ciphertext=bytes([b.kem_ciphertext[0] ^ 1]) + b.kem_ciphertext[1:]),
    "identity": lambda b: dataclasses.replace(b, identity=IdentityKeyPair.generate().public),
}


@pytest.mark.parametrize("which", [0, 1], ids=["2nd message", "3rd message"])
@pytest.mark.parametrize("alter", BLOCK_ALTERATIONS.values(), ids=BLOCK_ALTERATIONS)
def test_an_altered_block_in_a_later_prekey_message_is_refused_unchanged(which, alter):
    _, bob, *later = _later_prekey_messages()
    envelope = parse_envelope(later[which])
    altered = dataclasses.replace(envelope, prekey=alter(envelope.prekey)).encode()
    before = bob.serialize()
    with pytest.raises((DecryptionError, HandshakeError)):
        bob.decrypt(altered)
    assert bob.serialize() == before
    assert [bob.decrypt(m) for m in later] == [b"second", b"third"]


@pytest.mark.parametrize("which", [0, 1], ids=["2nd message", "3rd message"])
def test_a_stripped_block_in_a_later_prekey_message_is_refused_unchanged(which):
    _, bob, *later = _later_prekey_messages()
    stripped = dataclasses.replace(parse_envelope(later[which]), prekey=None).encode()
    before = bob.serialize()
    with pytest.raises(DecryptionError, match="authentication"):
        bob.decrypt(stripped)
    assert bob.serialize() == before
    assert [bob.decrypt(m) for m in later] == [b"second", b"third"]


def test_a_block_added_to_a_message_that_had_none_is_refused():
    alice, bob, second, _ = _later_prekey_messages()
    assert bob.decrypt(second) == b"second"
    alice.decrypt(bob.encrypt(b"reply"))  # answered: Alice stops sending her block
    plain = alice.encrypt(b"plain")
    assert parse_envelope(plain).prekey is None
    block = parse_envelope(second).prekey
    with_block = dataclasses.replace(parse_envelope(plain), prekey=block).encode()
    before = bob.serialize()
    with pytest.raises(DecryptionError):
        bob.decrypt(with_block)
    assert bob.serialize() == before
    assert bob.decrypt(plain) == b"plain"


def test_genuine_later_prekey_messages_are_accepted_in_any_order():
    _, bob, second, third = _later_prekey_messages()
    assert bob.decrypt(third) == b"third"
    assert bob.decrypt(second) == b"second"


def test_lawful_access_opens_a_prekey_message_only_with_the_block_it_was_sent_with():
    """``open_message`` (what recovery uses on the archive) binds the block the same way."""
    hook = RecordingHook()
    alice, bob, _, _ = make_pair(hook=hook, one_time=2)
    second = parse_envelope(alice.encrypt(b"second"))
    chain_key = hook.created[0].chain_key  # CK_0 of Alice's first chain, as escrow holds it
    alice_identity, bob_identity = bob.peer_identity, alice.peer_identity
    assert open_message(chain_key, second, alice_identity, bob_identity) == b"second"
    for forged in (dataclasses.replace(second, prekey=None),
                   dataclasses.replace(second, prekey=BLOCK_ALTERATIONS["ephemeral key"](
                       second.prekey))):
        with pytest.raises(DecryptionError):
            open_message(chain_key, forged, alice_identity, bob_identity)


def test_open_chain_reads_a_chain_longer_than_max_skip_and_skips_what_no_recipient_accepts():
    """``open_chain`` follows the chain as a recipient does: message MAX_SKIP + 5 opens after
    the ones before it, alone it is beyond MAX_SKIP and not tried; a renumbered copy far past
    the last opened message is not tried either."""
    from messaging.hooks import open_chain
    from messaging.limits import MAX_SKIP

    hook = RecordingHook()
    alice, bob, _, _ = make_pair(hook=hook, one_time=2)
    envelopes = [parse_envelope(alice.encrypt(str(i).encode())) for i in range(MAX_SKIP + 6)]
    chain_key = hook.created[0].chain_key
    identities = {envelopes[0].sender: bob.peer_identity,
                  envelopes[0].recipient: alice.peer_identity}
    last = envelopes[-1]
    renumbered = dataclasses.replace(last, header=dataclasses.replace(
        last.header, message_number=2**31))
    opened = open_chain(chain_key, [renumbered, *reversed(envelopes)], identities.__getitem__)
    assert opened[0] is None
    assert opened[1:] == [str(i).encode() for i in reversed(range(MAX_SKIP + 6))]
    assert open_chain(chain_key, [last], identities.__getitem__) == [None]
