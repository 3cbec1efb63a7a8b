"""Relay test helpers: real sessions and envelopes, and a transport that loses answers."""

from __future__ import annotations

from urllib.parse import urlsplit

from messaging.clock import ManualClock
from messaging.hooks import NoEscrow
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport
from messaging.relay_protocol import RelayRequest, RelayResponse
from messaging.session import Session
from messaging.transport import RelayUnavailableError


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
        self.service.engine.dispose()
        self.service = RelayService(url, clock=clock, limits=limits, **kwargs)
        return self.service
