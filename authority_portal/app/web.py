"""What every blueprint shares: the request's database session, the casework, strict JSON
bodies, and errors rendered as JSON on the API and as a page elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, jsonify, render_template
from flask import request as flask_request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session
from werkzeug.exceptions import HTTPException

import strictjson
from authority_portal.app.casework import Casework
from authority_portal.app.errors import PortalError
from authority_portal.app.orders import OrderDesk
from authority_portal.app.roles import wants_json

MAX_BODY = 64 * 1024


@dataclass
class Portal:
    """The objects one app instance works with (``app.extensions["portal"]``)."""

    casework: Casework
    session: scoped_session
    engine: Engine
    orders: OrderDesk

    @property
    def log(self):
        return self.casework.log


def portal() -> Portal:
    return current_app.extensions["portal"]


def db():
    return portal().session()


def casework() -> Casework:
    return portal().casework


def orders() -> OrderDesk:
    return portal().orders


def json_body(required: dict[str, Any]) -> dict:
    """The request's JSON object with exactly the ``required`` fields and types."""
    data = flask_request.get_data(cache=True)
    if len(data) > MAX_BODY:
        raise PortalError(f"a request body is at most {MAX_BODY} bytes")
    obj = strictjson.loads(data or b"null", what="request body", error=PortalError)
    strictjson.fields(obj, required, what="request body", error=PortalError)
    return obj


def handle_portal_error(exc: PortalError):
    portal().session.rollback()
    if wants_json():
        return jsonify({"error": str(exc)}), exc.status
    return render_template("error.html", message=str(exc)), exc.status


def handle_http_error(exc: HTTPException):
    """Werkzeug's and Flask-WTF's refusals (CSRF, 404, 405, 429) as JSON on the API."""
    if wants_json():
        return jsonify({"error": exc.description or exc.name}), exc.code
    return exc
