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
"""

from __future__ import annotations

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
                           ident="escrowlab-relay")
    server.channel_class = RelayChannel
    return server
