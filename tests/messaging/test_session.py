"""Double Ratchet sessions: delivery, out-of-order, replay, limits, transactions, the hook."""

import random

import pytest

from messaging.clock import ManualClock
from messaging.errors import (
    ContentError,
    DecryptionError,
    HandshakeError,
    HookRefusedError,
    MessagingError,
    ModeMismatchError,
    ReplayError,
    StateError,
    TooManySkippedError,
    WireFormatError,
)
from messaging.hooks import NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.limits import MAX_SKIP, MAX_SKIPPED_KEYS_TOTAL
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session
from messaging.wire import parse_envelope
from tests.messaging.helpers import RecordingHook, make_pair


def assert_rejected_unchanged(session, envelope, error=MessagingError, operation=None):
    before = session.serialize()
    with pytest.raises(error):
        (operation or session.decrypt)(envelope)
    assert session.serialize() == before


def test_conversation_both_ways_with_dh_steps():
    alice, bob, _, _ = make_pair()
    for i in range(20):
        assert bob.decrypt(alice.encrypt(b"a%d" % i)) == b"a%d" % i
        for j in range(i % 3 + 1):
            assert alice.decrypt(bob.encrypt(b"b%d.%d" % (i, j))) == b"b%d.%d" % (i, j)


def test_out_of_order_within_max_skip():
    alice, bob, _, _ = make_pair()
    envelopes = [alice.encrypt(b"m%d" % i) for i in range(30)]
    order = list(range(30))
    random.Random(7).shuffle(order)
    for i in order:
        assert bob.decrypt(envelopes[i]) == b"m%d" % i


def test_out_of_order_across_a_dh_step():
    alice, bob, _, _ = make_pair()
    late = [alice.encrypt(b"old%d" % i) for i in range(3)]
    assert bob.decrypt(late[2]) == b"old2"
    assert alice.decrypt(bob.encrypt(b"reply")) == b"reply"
    new = alice.encrypt(b"new chain")
    assert bob.decrypt(new) == b"new chain"
    assert bob.decrypt(late[0]) == b"old0"
    assert bob.decrypt(late[1]) == b"old1"


def test_replay_rejected_and_state_unchanged():
    alice, bob, _, _ = make_pair()
    envelope = alice.encrypt(b"once")
    assert bob.decrypt(envelope) == b"once"
    assert_rejected_unchanged(bob, envelope, ReplayError)


def test_replayed_skipped_key_is_deleted_after_use():
    alice, bob, _, _ = make_pair()
    first, second = alice.encrypt(b"1"), alice.encrypt(b"2")
    bob.decrypt(second)
    bob.decrypt(first)
    assert_rejected_unchanged(bob, first, ReplayError)


def test_too_many_skipped_keys_rejected():
    alice, bob, _, _ = make_pair()
    envelopes = [alice.encrypt(b"x") for _ in range(MAX_SKIP + 2)]
    assert_rejected_unchanged(bob, envelopes[-1], TooManySkippedError)
    assert bob.decrypt(envelopes[MAX_SKIP]) == b"x"


def test_global_skipped_cap_evicts_oldest_first():
    alice, bob, _, _ = make_pair()
    old = alice.encrypt(b"oldest")
    chains = MAX_SKIPPED_KEYS_TOTAL // (MAX_SKIP // 2) + 1
    for _ in range(chains):
        batch = [alice.encrypt(b"x") for _ in range(MAX_SKIP // 2 + 1)]
        bob.decrypt(batch[-1])
        alice.decrypt(bob.encrypt(b"step"))
    assert len(bob._state.skipped) <= MAX_SKIPPED_KEYS_TOTAL
    assert_rejected_unchanged(bob, old, ReplayError)


def test_tampered_ciphertext_rejected_unchanged():
    alice, bob, _, _ = make_pair()
    envelope = bytearray(alice.encrypt(b"secret"))
    envelope[-1] ^= 1
    assert_rejected_unchanged(bob, bytes(envelope), DecryptionError)


def test_message_for_other_conversation_or_device_rejected():
    alice, bob, _, _ = make_pair()
    carol_session, _, _, _ = make_pair()
    assert_rejected_unchanged(bob, carol_session.encrypt(b"x"), MessagingError)


def test_serialise_restore_continues_the_conversation():
    alice, bob, clock, _ = make_pair()
    alice.decrypt(bob.encrypt(b"r"))
    restored = Session.deserialize(alice.serialize(), NoEscrow(), clock)
    assert restored.serialize() == alice.serialize()
    assert bob.decrypt(restored.encrypt(b"after restore")) == b"after restore"


def test_corrupt_serialised_state_is_a_state_error():
    alice, _, clock, _ = make_pair()
    with pytest.raises(StateError):
        Session.deserialize(alice.serialize()[:-5], NoEscrow(), clock)
    with pytest.raises(StateError):
        Session.deserialize(b'{"v": 99}', NoEscrow(), clock)


def test_one_time_prekeys_consumed_once():
    hook, clock = NoEscrow(), ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, "none", 1, 1)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    first = Session.initiate(alice, "alice:1", bundle, "bob:1", "C1", hook, clock).encrypt(b"1")
    again = Session.initiate(alice, "alice:1", bundle, "bob:1", "C2", hook, clock).encrypt(b"2")
    Session.respond(bob, prekeys, "bob:1", first, hook, clock)
    assert prekeys.remaining() == (0, 0)
    before = prekeys.serialize()
    with pytest.raises(HandshakeError):
        Session.respond(bob, prekeys, "bob:1", again, hook, clock)
    assert prekeys.serialize() == before


def test_bundle_without_one_time_prekey_and_last_resort_kem():
    hook, clock = NoEscrow(), ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, "none", 0, 0)
    bundle = prekeys.upload().bundle(None, None)
    assert bundle.kem_last_resort and bundle.one_time_prekey is None
    session = Session.initiate(alice, "alice:1", bundle, "bob:1", "C1", hook, clock)
    _, plaintext = Session.respond(bob, prekeys, "bob:1", session.encrypt(b"hi"), hook, clock)
    assert plaintext == b"hi"


def test_failed_prekey_message_leaves_prekeys_unchanged():
    hook, clock = NoEscrow(), ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, "none", 1, 1)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    envelope = bytearray(Session.initiate(alice, "alice:1", bundle, "bob:1", "C1", hook,
                                          clock).encrypt(b"x"))
    envelope[-3] ^= 0x40
    before = prekeys.serialize()
    with pytest.raises(DecryptionError):
        Session.respond(bob, prekeys, "bob:1", bytes(envelope), hook, clock)
    assert prekeys.serialize() == before


def test_forged_bundle_signature_rejected():
    bob = IdentityKeyPair.generate()
    upload = DevicePrekeys.generate(bob, "none", 1, 1).upload()
    data = upload.bundle(None, None).to_json()
    data["signed_prekey"]["key"] = "00" * 32
    from messaging.prekey_records import PrekeyBundle

    with pytest.raises(HandshakeError):
        PrekeyBundle.from_json(data)


def test_bundle_mode_flip_is_detected():
    """S18 at the bundle level: the mode is inside the prekey signatures."""
    from messaging.prekey_records import PrekeyBundle

    bob = IdentityKeyPair.generate()
    data = DevicePrekeys.generate(bob, "threshold", 1, 1).upload().bundle(None, None).to_json()
    data["mode"] = "none"
    with pytest.raises(HandshakeError):
        PrekeyBundle.from_json(data)


def test_mode_mismatch_fails_closed():
    hook, clock = NoEscrow(), ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, "threshold", 1, 1)
    with pytest.raises(ModeMismatchError):
        Session.initiate(alice, "alice:1", prekeys.upload().bundle(None, None), "bob:1", "C1",
                         hook, clock)


def test_hook_called_for_each_new_sending_chain_with_context():
    hook = RecordingHook()
    alice, bob, clock, _ = make_pair(hook=hook)
    for _ in range(3):
        alice.decrypt(bob.encrypt(b"b"))
        bob.decrypt(alice.encrypt(b"a"))
    senders = [(c.sender, c.chain_number) for c in hook.created]
    assert senders == [("alice:1", 0), ("bob:1", 0), ("alice:1", 1), ("bob:1", 1),
                       ("alice:1", 2), ("bob:1", 2), ("alice:1", 3)]
    assert all(c.conversation_id == "C1" and c.mode == "recording" for c in hook.created)
    assert len(hook.checked) == len(hook.created)
    sent = {(c.sender, c.chain_number): c.chain_key for c in hook.created}
    received = {(c.sender, c.chain_number): c.chain_key for c, _ in hook.checked}
    assert sent == received


def test_hook_refusal_rejects_and_changes_nothing():
    hook = RecordingHook()
    alice, bob, _, _ = make_pair(hook=hook)
    alice.decrypt(bob.encrypt(b"b"))
    envelope = alice.encrypt(b"new chain")
    hook.refuse = True
    assert_rejected_unchanged(bob, envelope, HookRefusedError)
    hook.refuse = False
    assert bob.decrypt(envelope) == b"new chain"


def test_record_altered_in_transit_rejected():
    hook = RecordingHook()
    alice, bob, _, _ = make_pair(hook=hook)
    alice.decrypt(bob.encrypt(b"b"))
    envelope = parse_envelope(alice.encrypt(b"x"))
    from dataclasses import replace

    forged = replace(envelope, header=replace(envelope.header, record=b"stripped")).encode()
    assert_rejected_unchanged(bob, forged, MessagingError)


def test_record_must_stay_the_same_within_a_chain():
    """A rogue sender cannot change the record after the chain's first message."""
    hook = RecordingHook()
    alice, bob, _, _ = make_pair(hook=hook)
    bob.decrypt(alice.encrypt(b"first of chain"))
    alice._state.send_record = b"something else"
    alice._send_record_hash = None
    import hashlib

    alice._send_record_hash = hashlib.sha256(b"something else").digest()
    assert_rejected_unchanged(bob, alice.encrypt(b"second"), HookRefusedError)


def test_record_is_bound_into_the_associated_data():
    hook = RecordingHook()
    alice, bob, _, _ = make_pair(hook=hook)
    envelope = parse_envelope(alice.encrypt(b"x"))
    assert envelope.header.record == RecordingHook.expected_record(hook.created[0])


def test_time_comes_from_the_injected_clock():
    hook = RecordingHook()
    clock = ManualClock(1_800_000_000)
    alice, bob, _, _ = make_pair(hook=hook, clock=clock)
    clock.advance(3600)
    alice.decrypt(bob.encrypt(b"b"))
    assert hook.created[0].time == 1_800_000_000
    assert hook.created[1].time == 1_800_003_600


def test_wrong_envelope_bytes_are_wire_errors():
    _, bob, _, _ = make_pair()
    with pytest.raises(WireFormatError):
        bob.decrypt(b"")


def test_prekey_message_with_broken_identity_binding_rejected():
    hook, clock = NoEscrow(), ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, "none", 1, 1)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    envelope = parse_envelope(
        Session.initiate(alice, "alice:1", bundle, "bob:1", "C1", hook, clock).encrypt(b"x"))
    from dataclasses import replace

    impostor = IdentityKeyPair.generate().public
    forged_identity = replace(envelope.prekey.identity, dh_key=impostor.dh_key)
    forged = replace(envelope, prekey=replace(envelope.prekey, identity=forged_identity))
    before = prekeys.serialize()
    with pytest.raises(HandshakeError):
        Session.respond(bob, prekeys, "bob:1", forged.encode(), hook, clock)
    assert prekeys.serialize() == before


def test_every_single_byte_mutation_of_a_prekey_message_is_rejected():
    hook, clock = NoEscrow(), ManualClock()
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, "none", 1, 1)
    upload = prekeys.upload()
    bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0])
    envelope = Session.initiate(alice, "alice:1", bundle, "bob:1", "C1", hook,
                                clock).encrypt(b"hello")
    before = prekeys.serialize()
    for position in range(0, len(envelope), 3):
        mutated = bytearray(envelope)
        mutated[position] ^= 0x20
        with pytest.raises(MessagingError):
            Session.respond(bob, prekeys, "bob:1", bytes(mutated), hook, clock)
        assert prekeys.serialize() == before
    _, plaintext = Session.respond(bob, prekeys, "bob:1", envelope, hook, clock)
    assert plaintext == b"hello"


class _BrokenHook(RecordingHook):
    def check_chain(self, context, record):
        raise KeyError("a bug inside the escrow mode")


def test_an_exception_inside_the_hook_is_a_hook_refusal_and_changes_nothing():
    hook = _BrokenHook()
    alice, bob, _, _ = make_pair(hook=RecordingHook())
    bob._hook = hook
    alice.decrypt(bob.encrypt(b"b"))
    assert_rejected_unchanged(bob, alice.encrypt(b"new chain"), HookRefusedError)



@pytest.mark.parametrize("field", ["send_chain_time", "send_chain_number"])
def test_chain_number_and_time_must_stay_those_the_hook_checked(field):
    """A rogue sender cannot relabel later messages of an accepted chain (same record, other
    chain number or time): an archive search by chain would miss them."""
    alice, bob, _, _ = make_pair(hook=RecordingHook())
    alice.decrypt(bob.encrypt(b"b"))
    bob.decrypt(alice.encrypt(b"first of chain 1"))
    skipped = alice.encrypt(b"skipped")
    assert bob.decrypt(alice.encrypt(b"third")) == b"third"
    setattr(alice._state, field, getattr(alice._state, field) + 1)
    assert_rejected_unchanged(bob, alice.encrypt(b"relabelled"), HookRefusedError)
    alice._state.send_count = 1  # the skipped key's slot
    assert_rejected_unchanged(bob, alice.encrypt(b"relabelled skipped"), HookRefusedError)
    assert bob.decrypt(skipped) == b"skipped"


def _unchanged_after_failed_encrypt(session, plaintext, error=MessagingError):
    assert_rejected_unchanged(session, plaintext, error, operation=session.encrypt)


def test_a_plaintext_too_large_for_the_wire_is_refused_before_the_chain_advances():
    from messaging.limits import AEAD_TAG_LENGTH, MAX_CIPHERTEXT_LENGTH

    alice, bob, _, _ = make_pair()
    _unchanged_after_failed_encrypt(alice, bytes(MAX_CIPHERTEXT_LENGTH), WireFormatError)
    largest = bytes(MAX_CIPHERTEXT_LENGTH - AEAD_TAG_LENGTH)
    assert bob.decrypt(alice.encrypt(largest)) == largest


@pytest.mark.parametrize("when", [-1.0, 2.0**64, float("nan")])
def test_a_clock_outside_the_wire_range_fails_cleanly_before_the_chain_starts(when):
    alice, bob, clock, _ = make_pair()
    alice.decrypt(bob.encrypt(b"reply"))
    clock.set(when)
    _unchanged_after_failed_encrypt(alice, b"new chain", StateError)
    clock.set(1_700_000_100.0)
    assert bob.decrypt(alice.encrypt(b"new chain")) == b"new chain"


@pytest.mark.parametrize("bad", [{"conversation_id": "C\n1"}, {"peer_address": ""},
                                 {"local_address": "a" * 256}, {"conversation_id": "\ud800"}])
def test_ids_the_wire_cannot_carry_are_refused_when_the_session_starts(bad):
    bob = IdentityKeyPair.generate()
    upload = DevicePrekeys.generate(bob, "none", 0, 0).upload()
    args = dict(local_address="alice:1", peer_address="bob:1", conversation_id="C1")
    args.update(bad)
    with pytest.raises(WireFormatError):
        Session.initiate(IdentityKeyPair.generate(), args["local_address"],
                         upload.bundle(None, None), args["peer_address"],
                         args["conversation_id"], NoEscrow(), ManualClock())


def test_simultaneous_initiation_fails_cleanly_in_the_other_session():
    """Both sides initiate at once: each side's own session rejects the peer's prekey message
    without changing (so the caller can answer it with Session.respond), and both new
    sessions work."""
    clock, hook = ManualClock(), RecordingHook()
    ids = {name: IdentityKeyPair.generate() for name in ("alice", "bob")}
    prekeys = {name: DevicePrekeys.generate(ids[name], hook.mode, 1, 1) for name in ids}
    sessions, firsts = {}, {}
    for me, peer in (("alice", "bob"), ("bob", "alice")):
        upload = prekeys[peer].upload()
        sessions[me] = Session.initiate(ids[me], f"{me}:1", upload.bundle(None, None),
                                        f"{peer}:1", "C1", hook, clock)
        firsts[me] = sessions[me].encrypt(b"hi from " + me.encode())
    for me, peer in (("alice", "bob"), ("bob", "alice")):
        assert_rejected_unchanged(sessions[me], firsts[peer], MessagingError)
        answered, plaintext = Session.respond(ids[me], prekeys[me], f"{me}:1", firsts[peer],
                                              hook, clock)
        assert plaintext == b"hi from " + peer.encode()
        assert sessions[peer].decrypt(answered.encrypt(b"ok")) == b"ok"


def test_a_message_under_the_peers_signed_prekey_is_not_a_chain():
    """Before the reply, the initiator's DHr is the responder's signed prekey, which has no
    receiving chain: a forged header using it is a plain decryption failure, not a hook
    refusal about a record."""
    import dataclasses

    alice, bob, _, _ = make_pair()
    reply = parse_envelope(bob.encrypt(b"r"))
    forged = dataclasses.replace(reply, header=dataclasses.replace(
        reply.header, ratchet_key=alice._state.remote_ratchet_key)).encode()
    before = alice.serialize()
    with pytest.raises(DecryptionError, match="no receiving chain") as info:
        alice.decrypt(forged)
    assert not isinstance(info.value, HookRefusedError)
    assert alice.serialize() == before


def test_the_hook_only_sees_records_the_sender_authenticated():
    """A record altered in transit fails the AEAD tag before the hook is asked, so the hook
    is never an oracle for unauthenticated records (a LEAF checksum, say)."""
    from dataclasses import replace

    hook = RecordingHook()
    alice, bob, _, _ = make_pair(hook=hook)
    alice.decrypt(bob.encrypt(b"b"))
    envelope = parse_envelope(alice.encrypt(b"new chain"))
    checks_before = len(hook.checked)
    forged = replace(envelope, header=replace(envelope.header, record=b"forged")).encode()
    assert_rejected_unchanged(bob, forged, DecryptionError)
    assert len(hook.checked) == checks_before
    assert bob.decrypt(envelope.encode()) == b"new chain"
    assert len(hook.checked) == checks_before + 1


def _refuse(plaintext: bytes) -> bytes:
    raise ContentError("the caller cannot read this plaintext")


def test_a_plaintext_the_reader_refuses_is_refused_unchanged_on_every_path():
    """``read`` runs before the commit: in the current chain, in a new chain (DH step) and
    for a skipped key, a refusal leaves the state as it was and the message still opens."""
    alice, bob, _, _ = make_pair()
    same_chain = alice.encrypt(b"same chain")
    assert_rejected_unchanged(bob, same_chain, ContentError, lambda e: bob.decrypt(e, _refuse))
    assert bob.decrypt(same_chain) == b"same chain"
    skipped, after = alice.encrypt(b"skipped"), alice.encrypt(b"after")
    assert bob.decrypt(after) == b"after"
    assert_rejected_unchanged(bob, skipped, ContentError, lambda e: bob.decrypt(e, _refuse))
    assert bob.decrypt(skipped) == b"skipped"
    new_chain = bob.encrypt(b"new chain")
    assert_rejected_unchanged(alice, new_chain, ContentError,
                              lambda e: alice.decrypt(e, _refuse))
    assert alice.decrypt(new_chain, len) == len(b"new chain")


def test_a_first_message_the_reader_refuses_starts_nothing_and_keeps_the_prekeys():
    alice_identity, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    prekeys = DevicePrekeys.generate(bob, "none", 1, 1)
    upload = prekeys.upload()
    alice = Session.initiate(alice_identity, "alice:1",
                             upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0]),
                             "bob:1", "C1", NoEscrow(), ManualClock())
    first = alice.encrypt(b"first")
    before = prekeys.serialize()
    with pytest.raises(ContentError):
        Session.respond(bob, prekeys, "bob:1", first, NoEscrow(), ManualClock(), _refuse)
    assert prekeys.serialize() == before
    _, plaintext = Session.respond(bob, prekeys, "bob:1", first, NoEscrow(), ManualClock())
    assert plaintext == b"first"
