"""Prekey bundles: each one-time prekey is handed out at most once, even concurrently."""

from __future__ import annotations

import threading

import pytest

from messaging.clock import ManualClock
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.relay import RelayError, RelayLimits, RelayService
from messaging.relay.inprocess import InProcessTransport
from messaging.transport import RelayClient
from tests.relay.helpers import refused


def test_bundles_hand_out_each_one_time_prekey_once_then_fall_back(relay, register):
    bob = register("bob:1", one_time=3, kem=2)
    alice = register("alice:1")
    bundles = [alice.client.fetch_bundle("bob:1") for _ in range(5)]
    one_time_ids = [b.one_time_prekey.key_id for b in bundles if b.one_time_prekey]
    kem_ids = [b.kem_prekey.key_id for b in bundles if not b.kem_last_resort]
    assert sorted(one_time_ids) == sorted(k.key_id for k in bob.prekeys.upload().one_time_prekeys)
    assert len(set(kem_ids)) == 2
    assert bundles[-1].one_time_prekey is None
    assert bundles[-1].kem_last_resort
    for bundle in bundles:
        bundle.verify()
        assert bundle.identity == bob.identity.public
    assert alice.client.call("GET", "/v1/keys") == {"one_time": 3, "kem_one_time": 2}
    assert bob.client.prekey_counts() == {"one_time": 0, "kem_one_time": 0}


def test_concurrent_fetches_through_separate_relays_never_share_a_prekey(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    clock = ManualClock()
    limits = RelayLimits(bundle_fetches_per_window=1000)
    relays = [RelayService(url, clock=clock, limits=limits) for _ in range(4)]
    bob_identity = IdentityKeyPair.generate()
    bob = RelayClient(InProcessTransport(relays[0]), "bob:1", bob_identity, clock)
    bob.register()
    prekeys = DevicePrekeys.generate(bob_identity, "none", one_time=40, kem_one_time=20)
    bob.upload_prekeys(prekeys.upload())
    handed_out: list[int] = []
    kem_out: list[int] = []
    lock = threading.Lock()

    def fetch(relay: RelayService, index: int) -> None:
        identity = IdentityKeyPair.generate()
        client = RelayClient(InProcessTransport(relay), f"fetcher{index}:1", identity, clock)
        client.register()
        for _ in range(15):
            bundle = client.fetch_bundle("bob:1")
            with lock:
                if bundle.one_time_prekey:
                    handed_out.append(bundle.one_time_prekey.key_id)
                if not bundle.kem_last_resort:
                    kem_out.append(bundle.kem_prekey.key_id)

    threads = [threading.Thread(target=fetch, args=(relays[i % 4], i)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(handed_out) == 40 and len(set(handed_out)) == 40
    assert len(kem_out) == 20 and len(set(kem_out)) == 20


def test_a_device_cannot_publish_prekeys_of_another_identity(relay, register):
    register("alice:1")
    mallory = register("mallory:1", upload=False)
    alice_identity = IdentityKeyPair.generate()
    foreign = DevicePrekeys.generate(alice_identity, "none", 2, 1).upload()
    with refused(relay, 403):
        mallory.client.upload_prekeys(foreign)


def test_replenishing_adds_keys_and_a_duplicate_id_is_refused_whole(relay, register):
    bob = register("bob:1", one_time=3, kem=2)
    counts = bob.client.upload_prekeys(bob.prekeys.replenish(4, 1))
    assert counts == {"one_time": 7, "kem_one_time": 3}
    with refused(relay, 409):
        bob.client.upload_prekeys(bob.prekeys.upload())


def test_malformed_or_forged_upload_is_refused(relay, register):
    bob = register("bob:1", upload=False)
    good = bob.prekeys.upload().to_json()
    forged = dict(good, mode="threshold")
    for payload in ({"nonsense": 1}, forged):
        with pytest.raises(RelayError) as caught:
            bob.client.call("PUT", "/v1/keys", payload)
        assert caught.value.status == 400
    assert bob.client.prekey_counts() == {"one_time": 0, "kem_one_time": 0}


def test_bundle_of_unknown_or_keyless_device_is_404(relay, register):
    alice = register("alice:1")
    register("bob:1", upload=False)
    for address in ("nobody:1", "bob:1"):
        with pytest.raises(RelayError) as caught:
            alice.client.fetch_bundle(address)
        assert caught.value.status == 404
