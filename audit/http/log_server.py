"""Serving the audit log over HTTP with waitress: the read API and the append endpoint.

:func:`make_log_server` wraps :func:`audit.http.read_api.read_api_blueprint` and
:func:`audit.http.append_api.append_api_blueprint` in one Flask app and a waitress server,
as :mod:`audit.http.witness_server` does for a witness. Call ``.run()`` on the result;
``.effective_port`` is the port it listens on.
"""

from __future__ import annotations

from flask import Flask
from waitress import create_server

from audit.append_request import AppenderRegistry
from audit.errors import AuditError
from audit.http.append_api import append_api_blueprint
from audit.http.read_api import read_api_blueprint
from audit.log import AuditLog

IDENT = "escrowlab-audit-log"


def create_log_app(log: AuditLog, appenders: AppenderRegistry) -> Flask:
    """A Flask app serving ``log``'s read API and its append endpoint for ``appenders``."""
    app = Flask(IDENT)
    app.register_blueprint(read_api_blueprint(log.store))
    app.register_blueprint(append_api_blueprint(log, appenders))
    return app


def make_log_server(log: AuditLog, appenders: AppenderRegistry, host: str = "127.0.0.1",
                    port: int = 0, threads: int = 16):  # type: ignore[no-untyped-def]
    """A waitress server for ``log``; raises :class:`AuditError` if it cannot listen."""
    try:
        return create_server(create_log_app(log, appenders), host=host, port=port,
                             threads=threads, ident=IDENT)
    except OSError as exc:
        raise AuditError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
