"""The relay over HTTP: a Flask blueprint that hands every request to :func:`dispatch`.

``create_relay_app(service)`` builds a Flask app serving the blueprint; run it
with a production WSGI server (``escrowlab relay serve`` uses waitress).
Request bodies larger than ``RelayLimits.max_request_bytes`` are refused by
Flask itself (``MAX_CONTENT_LENGTH``) with the relay's 413 JSON. Every answer,
an unexpected failure's 500 included, is JSON.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, json, request

from messaging.relay.api import RelayRequest, dispatch
from messaging.relay.errors import RelayError
from messaging.relay.service import RelayService

SERVICE_KEY = "escrowlab.relay"


def _reply(status: int, body: dict) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status,
                    mimetype="application/json")


def create_relay_blueprint() -> Blueprint:
    blueprint = Blueprint("relay", __name__)

    @blueprint.route("/v1/<path:_rest>", methods=["GET", "POST", "PUT", "DELETE"])
    def relay_endpoint(_rest: str) -> Response:
        service: RelayService = current_app.extensions[SERVICE_KEY]
        limit = service.limits.max_request_bytes
        if request.content_length is not None and request.content_length > limit:
            error = RelayError(413, "too-large", f"request body exceeds {limit} bytes")
            return _reply(error.status, error.to_json())
        # The signature covers the path as the client sent it (percent-escapes included),
        # as the in-process transport passes it; Flask's request.path is already unquoted.
        path = request.environ.get("REQUEST_URI") or (
            request.full_path if request.query_string else request.path)
        response = dispatch(service, RelayRequest(
            request.method, path, request.headers, request.get_data(cache=False)))
        return _reply(response.status, response.body)

    @blueprint.route("/healthz")
    def healthz() -> Response:
        return _reply(200, {"ok": True})

    return blueprint


def create_relay_app(service: RelayService | None = None) -> Flask:
    """A Flask app serving the relay for ``service`` (a fresh in-memory relay by default)."""
    service = service or RelayService()
    app = Flask("escrowlab.relay")
    app.config["MAX_CONTENT_LENGTH"] = service.limits.max_request_bytes
    app.extensions[SERVICE_KEY] = service

    @app.errorhandler(413)
    def too_large(_error) -> Response:
        limit = service.limits.max_request_bytes
        return _reply(413, RelayError(413, "too-large",
                                      f"request body exceeds {limit} bytes").to_json())

    @app.errorhandler(404)
    def no_route(_error) -> Response:
        return _reply(404, {"error": "not-found", "message": "no such route"})

    @app.errorhandler(405)
    def bad_method(_error) -> Response:
        return _reply(405, {"error": "method-not-allowed", "message": "method not allowed"})

    @app.errorhandler(500)
    def internal(_error) -> Response:
        # A bug, not a refusal: the transaction rolled back; the details go to the log only.
        return _reply(500, {"error": "internal", "message": "internal error of the relay"})

    app.register_blueprint(create_relay_blueprint())
    return app
