"""A relay that alters or strips the PQXDH block of later prekey messages is caught.

Alice sends her PQXDH block with every message until Bob's first reply; Bob
already has the session after the first. The relay (the untrusted provider)
rewrites the block of the second message on its way to Bob: Bob refuses it
(a :class:`ReceiveFailed` event), his session and prekeys stay as they were,
and Alice's genuine third message, block and all, is accepted.
"""

from __future__ import annotations

import dataclasses

import pytest

from messaging.addresses import direct_conversation_id
from messaging.events import ReceiveFailed
from messaging.relay.inprocess import InProcessTransport
from messaging.relay_protocol import RelayResponse
from messaging.wire import parse_envelope

DM = direct_conversation_id("alice", "bob")


class TamperingRelay(InProcessTransport):
    """Rewrites the next fetched envelope with ``tamper`` (the relay as an attacker)."""

    def __init__(self, service) -> None:
        super().__init__(service)
        self.tamper = None

    def request(self, request) -> RelayResponse:
        response = super().request(request)
        if self.tamper is None or request.method != "GET" or \
                not request.path.startswith("/v1/messages"):
            return response
        messages = [dict(m) for m in response.body.get("messages", [])]
        if messages:
            envelope = parse_envelope(bytes.fromhex(messages[0]["envelope"]))
            messages[0]["envelope"] = self.tamper(envelope).encode().hex()
            self.tamper = None
        return RelayResponse(response.status, dict(response.body, messages=messages))


TAMPERINGS = {
    "block stripped": lambda env: dataclasses.replace(env, prekey=None),
    "ML-KEM prekey id changed": lambda env: dataclasses.replace(
        env, prekey=dataclasses.replace(env.prekey, kem_prekey_id=env.prekey.kem_prekey_id + 1)),
    "one-time prekey id dropped": lambda env: dataclasses.replace(
        env, prekey=dataclasses.replace(env.prekey, one_time_prekey_id=None)),
    "ephemeral key changed": lambda env: dataclasses.replace(
        env, prekey=dataclasses.replace(env.prekey, ephemeral_key=bytes([9]) + bytes(31))),
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS)
def test_a_rewritten_block_in_the_second_prekey_message_is_refused(relay, clock, make, tamper):
    from messaging.client import Device

    transport = TamperingRelay(relay)
    alice = make("alice")
    bob = Device.create("bob", 1, transport, clock=clock)
    alice.send_text("bob", "first")
    assert [m.body for m in bob.receive_all()] == ["first"]
    alice.send_text("bob", "second")
    alice.send_text("bob", "third")
    session = bob.session_with(DM, "alice:1").serialize()
    stored = (bob.store.load_session(DM, "alice:1"), bob.store.load_prekeys())

    transport.tamper = tamper
    assert bob.receive(limit=1) == []
    [failure] = [e for e in bob.drain_events() if isinstance(e, ReceiveFailed)]
    assert failure.sender == "alice:1"
    assert bob.session_with(DM, "alice:1").serialize() == session
    assert (bob.store.load_session(DM, "alice:1"), bob.store.load_prekeys()) == stored

    [third] = bob.receive_all()
    assert third.body == "third"
    assert parse_envelope(relay.archive.entries()[-1].envelope).prekey is not None
