"""A direct conversation ``dm:<a>:<b>`` carries envelopes between devices of a and b only.

An envelope under ``dm:alice:bob`` sent by or to anyone else is refused at
send time (403, nothing stored), so the archive a lawful-access order reads
holds no injected envelope "of" that conversation; a malformed ``dm:`` id is
a 400. Checked in-process and over HTTP.
"""

from __future__ import annotations

import pytest

from messaging.addresses import AddressError, direct_participants
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.relay import RelayError
from messaging.transport import HttpTransport, RelayClient
from tests.relay.helpers import Party, refused, session_to
from tests.relay.server import start_relay, stop_relay


@pytest.mark.parametrize("sender, recipient, conversation", [
    ("mallory:1", "bob:1", "dm:alice:bob"),    # a non-participant injects into alice/bob
    ("alice:1", "mallory:1", "dm:alice:bob"),  # a participant sends it to an outsider
    ("mallory:1", "alice:1", "dm:alice:bob"),
])
def test_a_dm_envelope_of_a_non_participant_is_403_and_stores_nothing(
        relay, register, sender, recipient, conversation):
    parties = {a: register(a) for a in ("alice:1", "bob:1", "mallory:1")}
    envelope = session_to(parties[sender], parties[recipient], conversation).encrypt(b"x")
    with refused(relay, 403) as caught:
        parties[sender].client.send([envelope], require_complete=False)
    assert "not a participant of the direct conversation dm:alice:bob" in caught.value.message
    assert relay.archive.entries() == []


@pytest.mark.parametrize("conversation", ["dm:bob:alice", "dm:alice", "dm:alice:bob:carol",
                                          "dm:Alice:bob", "dm::bob"])
def test_a_malformed_dm_id_is_400(relay, register, conversation):
    alice, bob = register("alice:1"), register("bob:1")
    envelope = session_to(alice, bob, conversation).encrypt(b"x")
    with refused(relay, 400) as caught:
        alice.client.send([envelope])
    assert "malformed conversation id" in caught.value.message


def test_participants_and_their_own_devices_and_other_conversations_still_pass(
        relay, register):
    alice1 = register("alice:1")
    alice2 = register("alice:2", linked_by=alice1)
    bob = register("bob:1")
    mallory = register("mallory:1")
    alice1.client.send([session_to(alice1, bob, "dm:alice:bob").encrypt(b"to bob"),
                        session_to(alice1, alice2, "dm:alice:bob").encrypt(b"own copy")])
    mallory.client.send([session_to(mallory, bob, "group:g1").encrypt(b"a group")])
    assert len(relay.archive.entries()) == 3


def test_direct_participants_reads_the_two_users():
    assert direct_participants("dm:alice:bob") == {"alice", "bob"}
    assert direct_participants("dm:alice:alice") == {"alice"}
    assert direct_participants("group:x") is None
    with pytest.raises(AddressError):
        direct_participants("dm:bob:alice")


def test_over_http_a_non_participant_envelope_is_a_403_json_refusal(tmp_path):
    process, url = start_relay(f"sqlite:///{tmp_path / 'relay.sqlite'}")
    try:
        parties = {}
        for address in ("alice:1", "bob:1", "mallory:1"):
            identity = IdentityKeyPair.generate()
            client = RelayClient(HttpTransport(url), address, identity)
            client.register()
            prekeys = DevicePrekeys.generate(identity, "none", 2, 1)
            client.upload_prekeys(prekeys.upload())
            parties[address] = Party(address, identity, prekeys, client)
        mallory, bob = parties["mallory:1"], parties["bob:1"]
        envelope = session_to(mallory, bob, "dm:alice:bob").encrypt(b"injected")
        with pytest.raises(RelayError) as caught:
            mallory.client.send([envelope])
        assert caught.value.status == 403 and caught.value.code == "forbidden"
        assert bob.client.fetch() == ([], False)
        genuine = session_to(parties["alice:1"], bob, "dm:alice:bob").encrypt(b"genuine")
        [_] = parties["alice:1"].client.send([genuine])
        [item], _ = bob.client.fetch()
        assert item.envelope == genuine
    finally:
        stop_relay(process)

