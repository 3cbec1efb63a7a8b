"""Fixtures for the relay tests: a file-backed relay on a manual clock, and signed clients
(the helpers they share are in ``tests/relay/helpers.py``)."""

from __future__ import annotations

import pytest

from messaging.clock import ManualClock
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.relay import RelayLimits, RelayService
from messaging.relay.inprocess import InProcessTransport
from messaging.transport import RelayClient
from tests.relay.helpers import Party


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limits() -> RelayLimits:
    return RelayLimits(max_request_bytes=64 * 1024, max_queue_per_device=5,
                       bundle_fetches_per_window=6, max_envelopes_per_request=8,
                       max_one_time_prekeys=30, max_devices_per_user=3)


@pytest.fixture
def relay(tmp_path, clock, limits) -> RelayService:
    return RelayService(f"sqlite:///{tmp_path / 'relay.sqlite'}", clock=clock, limits=limits)


@pytest.fixture
def register(relay, clock):
    """``register("bob:1", one_time=3, linked_by=party)`` registers a device and uploads keys."""

    def make(address: str, one_time: int = 3, kem: int = 2, linked_by: Party | None = None,
             upload: bool = True) -> Party:
        identity = IdentityKeyPair.generate()
        client = RelayClient(InProcessTransport(relay), address, identity, clock)
        client.register((linked_by.address, linked_by.identity) if linked_by else None)
        prekeys = DevicePrekeys.generate(identity, "none", one_time, kem)
        if upload:
            client.upload_prekeys(prekeys.upload())
        return Party(address, identity, prekeys, client)

    return make
