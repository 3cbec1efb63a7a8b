"""S21 kci-forgery (docs/scenarios.md): whoever holds a recovered chain key forges a message "from
Alice" that Bob accepts.

Expected: the forgery is accepted under ``threshold`` (chain-key escrow loses
message authentication for the chain: the truth this test shows), and identity
and signing keys are never escrowed, so the forger cannot go beyond the chains
it recovered. The forger is t custodians: they open their shares of the
archived record, combine them with the real SLIP-39 recovery, and seal a
message with the messaging core's own functions.
"""

import dataclasses

import pytest

from escrow import shares
from escrow.context import RecordContext
from escrow.record import parse_record
from escrow.release import open_own_share
from escrow.threshold.hook import ThresholdEscrow
from messaging.errors import DecryptionError, ReplayError
from messaging.hooks import ChainContext
from messaging.ratchet import associated_data_prefix, message_key_for, seal
from messaging.wire import parse_envelope
from tests.escrow.helpers import conversation, make_custodians, make_set

T = 3
FORGED = b"Bob, please wire the money to account 666 -- Alice"


@pytest.fixture
def setting():
    custodians = make_custodians(5)
    hook = ThresholdEscrow(make_set(custodians, T))
    conv = conversation(hook)
    conv.send("bob", b"reply")
    conv.send("alice", b"first message of Alice's new chain")
    return hook, custodians, conv


def recovered_chain_key(hook, custodians, envelope: bytes) -> bytes:
    record = parse_record(parse_envelope(envelope).header.record)
    opened = [open_own_share(c, hook.custodian_set, envelope) for c in custodians[:T]]
    secret = shares.combine(record.identifier, T, {index: value for _, index, value in opened})
    return hook.chain_key_from_secret(secret, RecordContext.of_envelope(parse_envelope(envelope)))


def forge(conv, chain_key: bytes, template: bytes, message_number: int, text: bytes) -> bytes:
    env = parse_envelope(template)
    header = dataclasses.replace(env.header, message_number=message_number)
    ad = associated_data_prefix(header.mode, env.conversation_id, env.sender, env.recipient,
                                conv.identity_of(env.sender), conv.identity_of(env.recipient))
    ciphertext = seal(message_key_for(chain_key, message_number), text,
                      ad + header.authenticated_bytes())
    return dataclasses.replace(env, header=header, ciphertext=ciphertext).encode()


def test_a_recovered_chain_key_forges_a_message_bob_accepts(setting):
    hook, custodians, conv = setting
    template = conv.archive[-1].envelope
    chain_key = recovered_chain_key(hook, custodians, template)
    forged = forge(conv, chain_key, template, 1, FORGED)
    forged_accepted = conv.bob.decrypt(forged) == FORGED
    assert forged_accepted
    # Alice's genuine message with that number is now refused as a replay
    with pytest.raises(ReplayError):
        conv.bob.decrypt(conv.alice.encrypt(b"Alice's real second message"))


def test_the_forgery_needs_the_real_chain_key(setting):
    hook, custodians, conv = setting
    template = conv.archive[-1].envelope
    forged = forge(conv, bytes(32), template, 1, FORGED)
    before = conv.bob.serialize()
    with pytest.raises(DecryptionError):
        conv.bob.decrypt(forged)
    assert conv.bob.serialize() == before


def test_identity_and_signing_keys_are_never_escrowed(setting):
    hook, custodians, conv = setting
    template = conv.archive[-1].envelope
    chain_key = recovered_chain_key(hook, custodians, template)
    escrowed = {value for _, _, value in (open_own_share(c, hook.custodian_set, template)
                                          for c in custodians)}
    escrowed.add(chain_key)
    for keys in conv.identity_keys.values():
        private = keys.private_bytes()
        for secret in escrowed:
            assert secret not in (private[:32], private[32:])
    # the hook is never even given an identity key: the chain context has none
    assert {f.name for f in dataclasses.fields(ChainContext)} == {
        "protocol_version", "mode", "conversation_id", "sender", "recipient", "chain_number",
        "chain_key", "ratchet_public_key", "time"}


def test_the_forgery_reaches_no_further_than_the_recovered_chain(setting):
    hook, custodians, conv = setting
    template = conv.archive[-1].envelope
    chain_key = recovered_chain_key(hook, custodians, template)
    conv.send("bob", b"Bob answers: a DH ratchet step")
    conv.send("alice", b"Alice's next chain")
    next_chain = conv.archive[-1].envelope
    forged = forge(conv, chain_key, next_chain, 1, FORGED)
    before = conv.bob.serialize()
    with pytest.raises(DecryptionError):
        conv.bob.decrypt(forged)
    assert conv.bob.serialize() == before
