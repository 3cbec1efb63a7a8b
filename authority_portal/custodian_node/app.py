"""A custodian node as its own Flask app, served on loopback (docs/custodian_node.md,
"Running a node").

- ``POST /v1/release``: a release request's JSON bytes
  (:mod:`~authority_portal.custodian_node.request`); ``200`` with the node's share releases
  and the receipt of its logged decision, or ``403`` with ``{"decision": "refused",
  "reason": ..., "receipt": ...}``. Bodies over :data:`MAX_BODY` are refused with ``413``.
- ``GET /v1/node``: who the node is: its id, custodian set fingerprint, operator key,
  registered judges and policy (all public).

The node is the only state: the app is a thin wrapper, so the in-process client and HTTP
give the same decisions. :func:`make_node_server` serves it with waitress when it is
installed, else with Werkzeug's threaded server.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request
from werkzeug.serving import make_server

from authority_portal.custodian_node.client import refusal_json
from authority_portal.custodian_node.errors import NodeError, Refused
from authority_portal.custodian_node.node import CustodianNode
from authority_portal.custodian_node.request import MAX_REQUEST_BYTES

try:
    from waitress import create_server
except ImportError:  # waitress is optional (docs/custodian_node.md, "Running a node")
    create_server = None

MAX_BODY = MAX_REQUEST_BYTES
IDENT = "escrowlab-custodian-node"


def _json(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="application/json",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def create_node_app(node: CustodianNode) -> Flask:
    app = Flask(IDENT)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.post("/v1/release")
    def release() -> Response:
        body = request.get_data(cache=False)
        try:
            decision = node.handle(body)
        except Refused as exc:
            return _json(refusal_json(exc), 403)
        return _json(json.dumps(decision.to_json()), 200)

    @app.get("/v1/node")
    def describe() -> Response:
        return _json(json.dumps({
            "node": node.node_id,
            "set_fingerprint": node.custodian_set.fingerprint.hex(),
            "operator_key": node.operator_key.hex(),
            "judges": [j.to_json() for j in node.registry.judges],
            "policy": node.policy.to_json()}), 200)

    @app.errorhandler(413)
    def too_large(_error: object) -> Response:
        return _json(json.dumps({"decision": "refused", "reason": "request too large",
                                 "receipt": None}), 413)

    return app


def make_node_server(node: CustodianNode, host: str = "127.0.0.1", port: int = 0):  # type: ignore[no-untyped-def]
    """A server for ``node`` (``.run()`` / ``.serve_forever()``; :func:`server_port`)."""
    app = create_node_app(node)
    try:
        if create_server is not None:
            return create_server(app, host=host, port=port, threads=4, ident=IDENT)
        return make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise NodeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def server_port(server: object) -> int:
    """The port a server from :func:`make_node_server` listens on."""
    port = getattr(server, "effective_port", None)
    return int(port if port is not None else server.server_port)  # type: ignore[attr-defined]


def serve(server: object) -> None:
    """Serve until interrupted."""
    runner = getattr(server, "run", None) or server.serve_forever  # type: ignore[attr-defined]
    runner()
