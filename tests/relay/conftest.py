"""Fixtures for the relay tests: a file-backed relay on a manual clock, and signed clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from messaging.clock import ManualClock
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.relay import RelayError, RelayLimits, RelayService, schema
from messaging.relay.api import dispatch
from messaging.relay.inprocess import InProcessTransport
from messaging.relay_protocol import RelayRequest, sign_request
from messaging.transport import RelayClient


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


@dataclass
class Party:
    """A registered device as the relay tests need it."""

    address: str
    identity: IdentityKeyPair
    prekeys: DevicePrekeys
    client: RelayClient


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


def signed(relay: RelayService, party_identity: IdentityKeyPair, address: str, method: str,
           path: str, payload: dict | bytes | None = None, now: float | None = None):
    """A signed request as a client would make it (for tests that tamper with it)."""
    body = json.dumps(payload).encode() if isinstance(payload, dict) else payload or b""
    headers = sign_request(party_identity, address, method, path, body,
                           relay.clock.now() if now is None else now)
    return RelayRequest(method, path, headers, body)


def call(relay: RelayService, request: RelayRequest):
    return dispatch(relay, request)


def table_counts(relay: RelayService) -> dict[str, int]:
    """Rows per table: what 'nothing stored' is checked against."""
    with relay.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in schema.metadata.sorted_tables}


@contextmanager
def refused(relay: RelayService, status: int) -> Iterator[pytest.ExceptionInfo]:
    """The block raises a ``RelayError`` with ``status`` and leaves every table as it was."""
    before = table_counts(relay)
    with pytest.raises(RelayError) as caught:
        yield caught
    assert caught.value.status == status, caught.value.message
    assert table_counts(relay) == before
