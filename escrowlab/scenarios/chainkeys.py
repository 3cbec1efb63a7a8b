"""S21 kci-forgery (docs/scenarios.md, "Catalogue"): whoever holds a recovered chain key forges
a message "from Alice" that Bob accepts.

The forger recovers the chain key with the real code (``threshold``: t custodians open their
shares of the archived record and combine them with SLIP-39; ``leaf16``: the family-key
holder reads the LEAF and both agents release the unit key), then seals a message with the
messaging core's own functions. Measured: the forgery accepted; Alice's genuine message of
that number then refused as a replay; a forgery under a wrong key refused with no state
change; the recovered key reaching no further than its chain (after a DH step); no escrowed
secret equal to any identity key; the chain context given to the hook holding no identity
key. ``none``: nothing is escrowed, so the forger holds no key and its guess is refused.
"""

from __future__ import annotations

import dataclasses

from escrow import shares
from escrow.context import RecordContext
from escrow.leaf16.recovery import recover_chain_key
from escrow.record import parse_record
from escrow.release import open_own_share
from escrow.threshold.hook import ThresholdEscrow
from escrowlab.scenarios.fixture import Ees, make_custodians, make_set, session_pair
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.errors import MessagingError, ReplayError
from messaging.hooks import ChainContext, NoEscrow
from messaging.ratchet import associated_data_prefix, message_key_for, seal
from messaging.wire import parse_envelope

T = 3
FORGED = b"Bob, please wire the money to account 666 -- Alice"
CONTEXT_FIELDS = {"protocol_version", "mode", "conversation_id", "sender", "recipient",
                  "chain_number", "chain_key", "ratchet_public_key", "time"}


def forge(pair, chain_key: bytes, template: bytes, message_number: int, text: bytes) -> bytes:
    """A message sealed under ``chain_key`` in ``template``'s chain, numbered as given."""
    env = parse_envelope(template)
    header = dataclasses.replace(env.header, message_number=message_number)
    ad = associated_data_prefix(header.mode, env.conversation_id, env.sender, env.recipient,
                                pair.identity_of(env.sender), pair.identity_of(env.recipient))
    ciphertext = seal(message_key_for(chain_key, message_number), text,
                      ad + header.authenticated_bytes())
    return dataclasses.replace(env, header=header, ciphertext=ciphertext).encode()


def _setting(mode: str):
    """(pair, recover(envelope) -> (chain key, escrowed secrets)) for ``mode``."""
    if mode == "leaf16":
        ees = Ees(16)
        pair = session_pair(ees.hook(), ees.hook())

        def recover(envelope):
            got = recover_chain_key(ees.decryptor(), parse_envelope(envelope).header.record,
                                    ees.agents, "W-S21")
            return got.chain_key, {got.chain_key, got.unit_key}
    else:
        custodians = make_custodians(5)
        hook = ThresholdEscrow(make_set(custodians, T))
        pair = session_pair(hook)

        def recover(envelope):
            parsed = parse_envelope(envelope)
            record = parse_record(parsed.header.record)
            opened = [open_own_share(c, hook.custodian_set, envelope) for c in custodians]
            secret = shares.combine(record.identifier, T,
                                    {index: value for _, index, value in opened[:T]})
            key = hook.chain_key_from_secret(secret, RecordContext.of_envelope(parsed))
            return key, {value for _, _, value in opened} | {key}
    pair.send("bob", b"reply")
    pair.send("alice", b"first message of Alice's new chain")
    return pair, recover


def _attempt(pair, envelope) -> tuple[bool, list[str], bool]:
    """(accepted, the error's types, Bob's session unchanged when refused)."""
    before = pair.bob.serialize()
    try:
        return pair.bob.decrypt(envelope) == FORGED, [], True
    except MessagingError as exc:
        kinds = [k.__name__ for k in type(exc).__mro__ if issubclass(k, MessagingError)]
        return False, kinds, pair.bob.serialize() == before


@scenario("S21", "kci-forgery", "a recovered chain key forges a message from Alice",
          ("none", "threshold", "leaf16"))
def kci_forgery(params: Params, mode: str) -> list[Outcome]:
    if mode == "none":
        pair = session_pair(NoEscrow())
        pair.send("bob", b"reply")
        template = pair.send("alice", b"first message of Alice's new chain")
        accepted, error, unchanged = _attempt(pair, forge(pair, bytes(32), template, 1, FORGED))
        return [Outcome("S21", mode, "no key to recover", "the guess is refused, state kept",
                        not accepted and unchanged,
                        {"forged_accepted": int(accepted), "state_unchanged": unchanged},
                        {"error_types": error})]
    out = []
    pair, recover = _setting(mode)
    template = pair.sent[-1][1]
    chain_key, escrowed = recover(template)
    accepted, error, _ = _attempt(pair, forge(pair, chain_key, template, 1, FORGED))
    try:
        pair.bob.decrypt(pair.alice.encrypt(b"Alice's real second message"))
        genuine = "accepted"
    except ReplayError:
        genuine = "refused as a replay"
    out.append(Outcome("S21", mode, "recovered chain key", "the forgery is accepted "
                       "(chain-key escrow loses authentication)", accepted,
                       {"forged_accepted": int(accepted), "detectable": "none"},
                       {"alice_genuine_message": genuine, "error_types": error}))
    pair, recover = _setting(mode)
    template = pair.sent[-1][1]
    accepted, error, unchanged = _attempt(pair, forge(pair, bytes(32), template, 1, FORGED))
    out.append(Outcome("S21", mode, "wrong chain key", "refused, state unchanged",
                       not accepted and unchanged and "DecryptionError" in error,
                       {"forged_accepted": int(accepted), "state_unchanged": unchanged},
                       {"error_types": error}))
    pair, recover = _setting(mode)
    template = pair.sent[-1][1]
    chain_key, escrowed = recover(template)
    identity_found = 0
    for keys in (pair.alice_identity, pair.bob_identity):
        private = keys.private_bytes()
        identity_found += sum(secret in (private[:32], private[32:]) for secret in escrowed)
    fields = {f.name for f in dataclasses.fields(ChainContext)}
    out.append(Outcome("S21", mode, "identity keys", "never escrowed; the hook never sees one",
                       identity_found == 0 and fields == CONTEXT_FIELDS,
                       {"exposed_total": identity_found},
                       {"escrowed_secrets_checked": len(escrowed),
                        "chain_context_fields": sorted(fields)}))
    pair.send("bob", b"Bob answers: a DH ratchet step")
    next_chain = pair.send("alice", b"Alice's next chain")
    accepted, error, unchanged = _attempt(pair, forge(pair, chain_key, next_chain, 1, FORGED))
    out.append(Outcome("S21", mode, "next chain", "the recovered key reaches no further than "
                       "its chain", not accepted and unchanged,
                       {"forged_accepted": int(accepted), "state_unchanged": unchanged},
                       {"error_types": error}))
    return out

