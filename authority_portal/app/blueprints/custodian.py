"""The custodian operator: approve an approved warrant's release on the custodian they
operate; that custodian then checks the warrant itself before releasing."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_security import current_user

from authority_portal.app.models import CUSTODIAN
from authority_portal.app.roles import role_required
from authority_portal.app.security import rate_limited
from authority_portal.app.views import warrant_json
from authority_portal.app.web import casework, db
from authority_portal.warrants.states import APPROVED, RELEASING

bp = Blueprint("custodian", __name__)


def _releasable():
    return [w for w in casework().warrants(db()) if w.status in (APPROVED, RELEASING)]


@bp.get("/custodian")
@role_required(CUSTODIAN)
def home():
    return render_template("custodian/home.html", warrants=_releasable(),
                           custodian=current_user.custodian_id)


@bp.post("/custodian/warrants/<reference>/approve")
@role_required(CUSTODIAN)
@rate_limited("approval")
def approve_form(reference):
    casework().approve(db(), current_user, reference)
    return redirect(url_for("custodian.home"))


@bp.get("/api/v1/custodian/warrants")
@role_required(CUSTODIAN)
def api_list():
    return jsonify({"custodian": current_user.custodian_id,
                    "warrants": [warrant_json(w) for w in _releasable()]})


@bp.post("/api/v1/custodian/warrants/<reference>/approval")
@role_required(CUSTODIAN)
@rate_limited("approval")
def api_approve(reference):
    return jsonify(casework().approve(db(), current_user, reference))
