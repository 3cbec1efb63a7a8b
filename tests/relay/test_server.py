"""The waitress server in front of the relay: bodies past the cap are refused unread."""

from __future__ import annotations

import socket

from messaging.relay import RelayLimits, RelayService
from messaging.relay.server import ServerThread


def test_a_declared_body_far_past_the_limit_is_refused_before_it_is_sent():
    service = RelayService(limits=RelayLimits(max_request_bytes=4096))
    served = ServerThread(service, threads=2)
    try:
        with socket.create_connection(("127.0.0.1", served.server.effective_port),
                                      timeout=5) as sock:
            # Headers only: a server that waits for the (100 MB) body never answers.
            sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: relay\r\n"
                         b"Content-Length: 100000000\r\n\r\n")
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413")
    finally:
        served.stop()
