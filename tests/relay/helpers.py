"""Relay test helpers: registered parties, signed requests, table counts and refusals that
change nothing, real sessions and envelopes, and a transport that loses answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from messaging.clock import ManualClock
from messaging.hooks import NoEscrow
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.relay import RelayError, RelayService, schema
from messaging.relay.api import dispatch
from messaging.relay.inprocess import InProcessTransport
from messaging.relay_protocol import RelayRequest, RelayResponse, sign_request
from messaging.session import Session
from messaging.transport import RelayClient, RelayUnavailableError


@dataclass
class Party:
    """A registered device as the relay tests need it."""

    address: str
    identity: IdentityKeyPair
    prekeys: DevicePrekeys
    client: RelayClient


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


def session_to(sender, recipient, conversation_id: str = "dm:alice:bob",
               clock: ManualClock | None = None) -> Session:
    """A session from ``sender`` to ``recipient`` (parties of the conftest ``register``)."""
    bundle = sender.client.fetch_bundle(recipient.address)
    return Session.initiate(sender.identity, sender.address, bundle, recipient.address,
                            conversation_id, NoEscrow(), clock or ManualClock())


class LoseAnswers(InProcessTransport):
    """Delivers every request to the relay, then loses the answers of chosen ones.

    ``lose[(method, path)] = n`` drops the answers of the next ``n`` such
    requests after the relay committed them: the client sees the relay go away
    (:class:`RelayUnavailableError`), as when the relay is killed between its
    commit and its answer. :meth:`restart` swaps in a fresh relay process's
    service on the same database.
    """

    def __init__(self, service: RelayService) -> None:
        super().__init__(service)
        self.lose: dict[tuple[str, str], int] = {}
        self.lost: list[tuple[str, str]] = []

    def request(self, request: RelayRequest) -> RelayResponse:
        response = super().request(request)
        key = (request.method, urlsplit(request.path).path)
        if self.lose.get(key):
            self.lose[key] -= 1
            self.lost.append(key)
            raise RelayUnavailableError("the relay's answer was lost (simulated)")
        return response

    def restart(self, **kwargs) -> RelayService:
        url = self.service.engine.url.render_as_string(hide_password=False)
        clock, limits = self.service.clock, self.service.limits
        self.service.close()
        self.service = RelayService(url, clock=clock, limits=limits, **kwargs)
        return self.service
