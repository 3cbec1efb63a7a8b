"""The admin: accounts and role changes, each needing a second admin's approval."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_security import current_user
from sqlalchemy import select

from authority_portal.app.accounts import approve_change, change_json, request_change
from authority_portal.app.models import ADMIN, RoleChange, User
from authority_portal.app.roles import role_required
from authority_portal.app.web import casework, db, json_body, portal

bp = Blueprint("admin", __name__)


def _users():
    return list(db().scalars(select(User).order_by(User.id)))


def _changes():
    return list(db().scalars(select(RoleChange).order_by(RoleChange.id)))


def user_json(user: User) -> dict:
    return {"email": user.email, "username": user.username,
            "roles": sorted(user.role_names), "custodian_id": user.custodian_id,
            "second_factor": bool(user.tf_primary_method), "active": user.active}


@bp.get("/admin")
@role_required(ADMIN)
def home():
    return render_template("admin/home.html", users=_users(),
                           changes=[change_json(c, db()) for c in _changes()])


@bp.post("/admin/role-changes")
@role_required(ADMIN)
def request_form():
    form = request.form
    request_change(db(), portal().log, current_user, form.get("email"), form.get("role"),
                   form.get("action"), casework().clock.now())
    return redirect(url_for("admin.home"))


@bp.post("/admin/role-changes/<int:change_id>/approve")
@role_required(ADMIN)
def approve_form(change_id):
    approve_change(db(), portal().log, current_user, change_id)
    return redirect(url_for("admin.home"))


@bp.get("/api/v1/admin/users")
@role_required(ADMIN)
def api_users():
    return jsonify({"users": [user_json(u) for u in _users()]})


@bp.get("/api/v1/admin/role-changes")
@role_required(ADMIN)
def api_changes():
    return jsonify({"changes": [change_json(c, db()) for c in _changes()]})


@bp.post("/api/v1/admin/role-changes")
@role_required(ADMIN)
def api_request():
    body = json_body({"email": str, "role": str, "action": str})
    change = request_change(db(), portal().log, current_user, body["email"], body["role"],
                            body["action"], casework().clock.now())
    return jsonify(change_json(change, db())), 201


@bp.post("/api/v1/admin/role-changes/<int:change_id>/approval")
@role_required(ADMIN)
def api_approve(change_id):
    return jsonify(change_json(approve_change(db(), portal().log, current_user, change_id),
                               db()))
