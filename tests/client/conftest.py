"""Fixtures for device tests: an in-process relay on a manual clock."""

from __future__ import annotations

import pytest

from messaging.client import Device
from messaging.clock import ManualClock
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def relay(clock) -> RelayService:
    return RelayService(clock=clock)


@pytest.fixture
def transport(relay) -> InProcessTransport:
    return InProcessTransport(relay)


@pytest.fixture
def make(transport, clock):
    """``make("alice")`` creates device 1 of a user; ``make("bob", 2, linked_by=bob1)``."""

    def create(user: str, device_id: int = 1, **kwargs) -> Device:
        return Device.create(user, device_id, transport, clock=clock, **kwargs)

    return create
