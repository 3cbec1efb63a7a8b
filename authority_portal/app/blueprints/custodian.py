"""The custodian operator: sign the release request of an approved warrant for the node
they operate, in the browser (WebCrypto Ed25519, the key never reaching the portal;
``static/operator-sign.js``) or with ``escrowlab custodian sign-request``; the portal
forwards the signed request, and the node checks the warrant itself before releasing."""

from __future__ import annotations

import base64
import binascii
import hashlib

from flask import Blueprint, jsonify, render_template
from flask_security import current_user

from authority_portal.app.errors import PortalError
from authority_portal.app.models import CUSTODIAN
from authority_portal.app.roles import role_required
from authority_portal.app.security import rate_limited
from authority_portal.app.views import warrant_json
from authority_portal.app.web import casework, db, json_body
from authority_portal.custodian_node.request import parse_body
from authority_portal.warrants.states import APPROVED, RELEASING

bp = Blueprint("custodian", __name__)


def _releasable():
    return [w for w in casework().warrants(db()) if w.status in (APPROVED, RELEASING)]


@bp.get("/custodian")
@role_required(CUSTODIAN)
def home():
    return render_template("custodian/home.html", warrants=_releasable(),
                           custodian=current_user.custodian_id)


@bp.get("/custodian/warrants/<reference>")
@role_required(CUSTODIAN)
def show(reference):
    warrant = casework().warrant(db(), reference)
    body = casework().release_request(db(), current_user, reference)
    return render_template("custodian/warrant.html", warrant=warrant,
                           custodian=current_user.custodian_id, body=body.decode(),
                           body_sha256=hashlib.sha256(body).hexdigest(),
                           asked=parse_body(body))


@bp.get("/api/v1/custodian/warrants")
@role_required(CUSTODIAN)
def api_list():
    return jsonify({"custodian": current_user.custodian_id,
                    "warrants": [warrant_json(w) for w in _releasable()]})


@bp.get("/api/v1/custodian/warrants/<reference>/request")
@role_required(CUSTODIAN)
def api_request(reference):
    body = casework().release_request(db(), current_user, reference)
    return jsonify({"reference": reference, "custodian": current_user.custodian_id,
                    "request": base64.b64encode(body).decode(),
                    "sha256": hashlib.sha256(body).hexdigest()})


@bp.post("/api/v1/custodian/warrants/<reference>/approval")
@role_required(CUSTODIAN)
@rate_limited("approval")
def api_approve(reference):
    body = json_body({"signature": str})
    try:
        signature = base64.b64decode(body["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise PortalError("the signature is base64") from None
    return jsonify(casework().approve(db(), current_user, reference, signature))
