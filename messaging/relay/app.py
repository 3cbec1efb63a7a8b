"""The relay over HTTP: a Flask blueprint that hands every request to :func:`dispatch`.

``create_relay_app(service)`` builds a Flask app serving the blueprint; run it
with a production WSGI server (``escrowlab relay serve`` uses waitress).

Every answer of the app is a JSON object ``{"error", "message", ...}`` with
its HTTP status, never Flask's or Werkzeug's HTML (docs/relay.md, "Errors"):
every :class:`~werkzeug.exceptions.HTTPException` (a malformed ``Host``
header's 400, an unknown path's 404, a method's 405 with its ``Allow``
header, a body over ``RelayLimits.max_request_bytes``'s 413) goes through
:meth:`RelayFlask.handle_http_exception`, routing exceptions included (Flask
returns those unhandled), and an unexpected failure is a JSON 500 whose
details go to the log only. Flask's automatic ``OPTIONS`` answers are off
(the API has no ``OPTIONS``: 405) and paths are matched as sent, without
Werkzeug's slash-merging redirects (``/v1//keys`` is a 404, not a 308).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, json, request
from werkzeug.exceptions import BadHost, HTTPException, InternalServerError
from werkzeug.routing import RoutingException

from messaging.relay.api import dispatch
from messaging.relay.service import RelayService
from messaging.relay_protocol import RelayError, RelayRequest

SERVICE_KEY = "escrowlab.relay"
_CODES = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
          405: "method-not-allowed", 413: "too-large", 429: "rate-limited",
          500: "internal"}


def _reply(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status,
                    mimetype="application/json", headers=headers)


def _too_large(service: RelayService) -> Response:
    limit = service.limits.max_request_bytes
    error = RelayError(413, "too-large", f"request body exceeds {limit} bytes")
    return _reply(error.status, error.to_json())


def create_relay_blueprint() -> Blueprint:
    blueprint = Blueprint("relay", __name__)

    @blueprint.route("/v1/<path:_rest>", methods=["GET", "POST", "PUT", "DELETE"],
                     provide_automatic_options=False)
    def relay_endpoint(_rest: str) -> Response:
        service: RelayService = current_app.extensions[SERVICE_KEY]
        limit = service.limits.max_request_bytes
        if request.content_length is not None and request.content_length > limit:
            return _too_large(service)
        # The signature covers the path as the client sent it (percent-escapes included),
        # as the in-process transport passes it; Flask's request.path is already unquoted.
        path = request.environ.get("REQUEST_URI") or (
            request.full_path if request.query_string else request.path)
        response = dispatch(service, RelayRequest(
            request.method, path, request.headers, request.get_data(cache=False)))
        headers = {"Allow": ", ".join(response.body["allow"])} \
            if response.status == 405 and "allow" in response.body else None
        return _reply(response.status, response.body, headers)

    @blueprint.route("/healthz", provide_automatic_options=False)
    def healthz() -> Response:
        return _reply(200, {"ok": True})

    return blueprint


class RelayFlask(Flask):
    """Flask, with every HTTP error answered as the relay's JSON (see the module docstring)."""

    def handle_http_exception(self, e: HTTPException):
        if isinstance(e, RoutingException) or e.code is None:
            # A redirect the router wants to send (slash merging, strict slashes): the API
            # never redirects, the path is not one of its routes.
            return _reply(404, {"error": "not-found", "message": "no such route"})
        if e.code == 413:
            return _too_large(self.extensions[SERVICE_KEY])
        headers = {k: v for k, v in e.get_headers() if k.lower() == "allow"}
        code = _CODES.get(e.code, "error")
        message = {404: "no such route", 405: "method not allowed on this route"}.get(
            e.code, e.description or e.name)
        if isinstance(e, BadHost):
            message = "the Host header is not a valid host name"
        return _reply(e.code, {"error": code, "message": message}, headers or None)


def create_relay_app(service: RelayService | None = None) -> Flask:
    """A Flask app serving the relay for ``service`` (a fresh in-memory relay by default)."""
    service = service or RelayService()
    app = RelayFlask("escrowlab.relay", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = service.limits.max_request_bytes
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.extensions[SERVICE_KEY] = service

    @app.errorhandler(InternalServerError)
    def internal(_error) -> Response:
        # A bug, not a refusal: the transaction rolled back; the details go to the log only.
        return _reply(500, {"error": "internal", "message": "internal error of the relay"})

    app.register_blueprint(create_relay_blueprint())
    return app
