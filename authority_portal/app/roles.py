"""Role checks as decorators (docs/portal.md, "Roles"): a view states the one role it
serves; the decorator refuses everyone else before the view runs.

Anonymous callers get 401 on the JSON API and a redirect to the sign-in page elsewhere;
a signed-in person without the role gets 403; so does a holder of a role that requires a
second factor (:data:`~authority_portal.app.models.SECOND_FACTOR_ROLES`) whose account
has no TOTP configured, since such a session never passed a second factor.
"""

from __future__ import annotations

from functools import wraps

from flask import jsonify, redirect, request, url_for
from flask_security import current_user

from authority_portal.app.models import SECOND_FACTOR_ROLES


def wants_json() -> bool:
    return request.path.startswith("/api/")


def refuse(status: int, message: str):
    if wants_json():
        return jsonify({"error": message}), status
    if status == 401:
        return redirect(url_for("security.login", next=request.path))
    from_template = f"<!doctype html><title>{status}</title><p>{message}</p>"
    return from_template, status


def role_required(role: str):
    """Let only signed-in holders of ``role`` (with TOTP where the role needs it) in."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return refuse(401, "sign in first")
            if role not in current_user.role_names:
                return refuse(403, f"this needs the {role} role")
            if role in SECOND_FACTOR_ROLES and not current_user.tf_primary_method:
                return refuse(403, f"the {role} role needs a TOTP second factor")
            return view(*args, **kwargs)

        guarded.required_role = role
        return guarded

    return decorate


def signed_in(view):
    """Let any signed-in person in (the dashboard)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated:
            return refuse(401, "sign in first")
        return view(*args, **kwargs)

    guarded.required_role = "any"
    return guarded
