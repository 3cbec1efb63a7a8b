"""Serving the relay over HTTP with waitress (a production WSGI server).

:func:`make_server` wraps :func:`messaging.relay.create_relay_app` in a
waitress server whose channels do not busy-loop. Stock waitress (3.0) keeps a
channel "writable" whenever its output buffer holds bytes, even while a worker
thread is servicing the request and flushing that output itself under the
buffer's lock; the event loop then spins on ``select`` and, holding the GIL,
delays the very worker it waits for. :class:`RelayChannel` reports such a
channel as not writable while a request is in service (the worker flushes;
waitress wakes the loop when the request finishes). Responses of the relay are
bounded (``RelayLimits.max_fetch_bytes``) far below waitress's output
high-water mark, above which the stock behaviour is kept.

Waitress reads a whole request body before the app sees it, and by default
accepts up to 1 GB. The relay caps that at twice ``RelayLimits.max_request_bytes``:
a body up to the cap reaches the app and gets the relay's JSON 413, a larger
declared one is refused by waitress (plain-text 413) before any of it is read.
"""

from __future__ import annotations

import threading

from waitress import create_server
from waitress.channel import HTTPChannel

from messaging.relay.app import create_relay_app
from messaging.relay.service import RelayService


class RelayChannel(HTTPChannel):
    def writable(self):
        if (self.requests and not self.will_close and not self.close_when_flushed
                and self.total_outbufs_len <= self.adj.outbuf_high_watermark):
            return False
        return super().writable()


def make_server(service: RelayService, host: str = "127.0.0.1", port: int = 0,
                threads: int = 8):
    """A waitress server for ``service`` (call ``.run()``; ``.effective_port`` is the port)."""
    server = create_server(create_relay_app(service), host=host, port=port, threads=threads,
                           connection_limit=1000, channel_timeout=120,
                           max_request_body_size=2 * service.limits.max_request_bytes,
                           ident="escrowlab-relay")
    server.channel_class = RelayChannel
    return server


class BackgroundServer:
    """A waitress server on a loopback port, run by a daemon thread of this process.

    :meth:`stop` closes every channel from inside the server's own loop, then stops its
    workers (the relay's :class:`ServerThread`; the portal's test and benchmark server).
    """

    def __init__(self, server, name: str) -> None:
        self.server = server
        self.url = f"http://{server.effective_host}:{server.effective_port}"
        self._thread = threading.Thread(target=self.server.run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server = self.server

        def shutdown() -> None:  # runs in the server's own loop thread
            for channel in list(server._map.values()):
                channel.close()

        server.trigger.pull_trigger(shutdown)
        self._thread.join(timeout=5)
        server.task_dispatcher.shutdown()


class ServerThread(BackgroundServer):
    """A relay server on a loopback port in a daemon thread (the demo's ``--http`` relay and
    tests)."""

    def __init__(self, service: RelayService, threads: int = 4) -> None:
        super().__init__(make_server(service, host="127.0.0.1", port=0, threads=threads),
                         "relay")
