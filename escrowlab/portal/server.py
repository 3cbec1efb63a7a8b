"""The portal served by waitress on a loopback port from a daemon thread (the browser test,
the benchmark); ``escrowlab portal`` serves it in the foreground the same way."""

from __future__ import annotations

import threading

from flask import Flask
from waitress.server import create_server

DEFAULT_THREADS = 16


class PortalServer:
    """``app`` on ``http://127.0.0.1:<free port>`` until :meth:`stop`."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0,
                 threads: int = DEFAULT_THREADS) -> None:
        self.server = create_server(app, host=host, port=port, threads=threads)
        self.url = f"http://{host}:{self.server.effective_port}"
        self._thread = threading.Thread(target=self.server.run, name="portal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server = self.server

        def shutdown() -> None:  # runs in the server's own loop thread
            for channel in list(server._map.values()):
                channel.close()

        server.trigger.pull_trigger(shutdown)
        self._thread.join(timeout=5)
        server.task_dispatcher.shutdown()
