"""The portal served by waitress on a loopback port from a daemon thread (the browser test,
the benchmark); ``escrowlab portal`` serves it in the foreground the same way."""

from __future__ import annotations

from flask import Flask
from waitress.server import create_server

from messaging.relay.server import BackgroundServer

DEFAULT_THREADS = 16


class PortalServer(BackgroundServer):
    """``app`` on ``http://127.0.0.1:<free port>`` until :meth:`stop`."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0,
                 threads: int = DEFAULT_THREADS) -> None:
        super().__init__(create_server(app, host=host, port=port, threads=threads), "portal")
