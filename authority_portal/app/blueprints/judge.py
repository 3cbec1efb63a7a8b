"""The judge: read filed warrants, sign one in the browser (WebCrypto Ed25519, the key
never reaching the portal; ``static/judge-sign.js``) or deny it."""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_security import current_user

from authority_portal.app.errors import PortalError
from authority_portal.app.models import JUDGE
from authority_portal.app.roles import role_required
from authority_portal.app.security import rate_limited
from authority_portal.app.views import order_json, warrant_json
from authority_portal.app.web import casework, db, json_body, orders
from authority_portal.warrants.states import FILED

bp = Blueprint("judge", __name__)


def _filed():
    return [w for w in casework().warrants(db()) if w.status == FILED]


@bp.get("/judge")
@role_required(JUDGE)
def home():
    return render_template("judge/home.html", warrants=casework().warrants(db()))


@bp.get("/judge/warrants/<reference>")
@role_required(JUDGE)
def show(reference):
    warrant = casework().warrant(db(), reference)
    return render_template("judge/warrant.html", warrant=warrant,
                           records=casework().records(warrant),
                           decisions=casework().decisions(db(), warrant))


@bp.post("/judge/warrants/<reference>/deny")
@role_required(JUDGE)
@rate_limited("approval")
def deny_form(reference):
    casework().deny(db(), current_user, reference, request.form.get("reason"))
    return redirect(url_for("judge.show", reference=reference))


# -- JSON API ------------------------------------------------------------------------

@bp.get("/api/v1/judge/warrants")
@role_required(JUDGE)
def api_list():
    return jsonify({"warrants": [warrant_json(w) for w in _filed()]})


@bp.get("/api/v1/judge/warrants/<reference>/statement")
@role_required(JUDGE)
def api_statement(reference):
    warrant = casework().warrant(db(), reference)
    statement = casework().statement(warrant)
    return jsonify({"reference": reference, "issuer": current_user.label,
                    "statement": base64.b64encode(statement).decode()})


@bp.post("/api/v1/judge/warrants/<reference>/signature")
@role_required(JUDGE)
@rate_limited("approval")
def api_sign(reference):
    body = json_body({"signature": str})
    try:
        signature = base64.b64decode(body["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise PortalError("the signature is base64") from None
    return jsonify(warrant_json(casework().sign(db(), current_user, reference, signature)))


@bp.post("/api/v1/judge/warrants/<reference>/denial")
@role_required(JUDGE)
@rate_limited("approval")
def api_deny(reference):
    body = json_body({"reason": str})
    return jsonify(warrant_json(casework().deny(db(), current_user, reference,
                                                body["reason"])))


# -- detection orders (docs/detection_orders.md, "In the portal") ---------------------

@bp.get("/judge/detection-orders")
@role_required(JUDGE)
def orders_page():
    return render_template("orders/judge.html", orders=orders().orders(db()))


@bp.get("/judge/detection-orders/<reference>")
@role_required(JUDGE)
def order_page(reference):
    return render_template("orders/judge_order.html", order=orders().order(db(), reference))


@bp.get("/api/v1/judge/detection-orders")
@role_required(JUDGE)
def api_orders():
    return jsonify({"orders": [order_json(o) for o in orders().orders(db())
                               if o.status == FILED]})


@bp.get("/api/v1/judge/detection-orders/<reference>/statement")
@role_required(JUDGE)
def api_order_statement(reference):
    statement = orders().statement(orders().order(db(), reference))
    return jsonify({"reference": reference, "issuer": current_user.label,
                    "statement": base64.b64encode(statement).decode()})


@bp.post("/api/v1/judge/detection-orders/<reference>/signature")
@role_required(JUDGE)
@rate_limited("approval")
def api_sign_order(reference):
    body = json_body({"signature": str})
    try:
        signature = base64.b64decode(body["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise PortalError("the signature is base64") from None
    return jsonify(order_json(orders().sign(db(), current_user, reference, signature)))
