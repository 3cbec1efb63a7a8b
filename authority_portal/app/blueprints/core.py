"""The dashboard (links to the roles a person holds), who is signed in, and the OpenAPI
document."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_security import current_user

from authority_portal.app.openapi import build_spec
from authority_portal.app.roles import signed_in

bp = Blueprint("core", __name__)


@bp.get("/")
@signed_in
def home():
    return render_template("home.html", roles=sorted(current_user.role_names))


@bp.get("/api/v1/me")
def api_me():
    if not current_user.is_authenticated:
        return jsonify({"authenticated": False})
    return jsonify({"authenticated": True, "email": current_user.email,
                    "roles": sorted(current_user.role_names)})


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(build_spec())
