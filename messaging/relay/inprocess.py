"""The in-process transport: a device calls the relay's request handler in the same process.

For the demo and fast tests. It hands each signed
:class:`~messaging.relay_protocol.RelayRequest` to
:func:`messaging.relay.api.dispatch`, so authentication, limits and every check
run exactly as over HTTP (:class:`messaging.transport.HttpTransport`). It lives
with the relay because it needs the relay's service; the client side
(:mod:`messaging.transport`, :mod:`messaging.client`) knows only the
:class:`messaging.transport.Transport` protocol it implements.
"""

from __future__ import annotations

from messaging.relay.api import dispatch
from messaging.relay.service import RelayService
from messaging.relay_protocol import RelayRequest, RelayResponse


class InProcessTransport:
    """Calls the relay in this process (no sockets)."""

    def __init__(self, service: RelayService) -> None:
        self.service = service

    def request(self, request: RelayRequest) -> RelayResponse:
        return dispatch(self.service, request)
