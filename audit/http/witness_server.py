"""Serving a witness over HTTP with waitress (a production WSGI server).

:func:`make_witness_server` wraps :func:`audit.http.witness_api.witness_blueprint` in a
Flask app and a waitress server, as :mod:`messaging.relay.server` does for the relay
(docs/architecture.md, "Layout": the library serves, the command line only starts it).
Call ``.run()`` on the result; ``.effective_port`` is the port it listens on.
"""

from __future__ import annotations

from flask import Flask
from waitress import create_server

from audit.errors import AuditError
from audit.http.witness_api import witness_blueprint
from audit.witness import Witness

IDENT = "escrowlab-witness"


def create_witness_app(witness: Witness) -> Flask:
    """A Flask app serving ``witness``'s C2SP tlog-witness ``POST /add-checkpoint``."""
    app = Flask(IDENT)
    app.register_blueprint(witness_blueprint(witness))
    return app


def make_witness_server(witness: Witness, host: str = "127.0.0.1", port: int = 0,
                        threads: int = 4):  # type: ignore[no-untyped-def]
    """A waitress server for ``witness``; raises :class:`AuditError` if it cannot listen."""
    try:
        return create_server(create_witness_app(witness), host=host, port=port,
                             threads=threads, ident=IDENT)
    except OSError as exc:
        raise AuditError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
