"""Accounts, second factors, CSRF, rate limits and security headers (docs/portal.md,
"Accounts and sessions").

- Flask-Security-Too over the portal's own SQLAlchemy session: argon2id password hashes,
  TOTP (the "authenticator" method) as the second factor, no self-registration.
- Session cookies ``HttpOnly`` and ``SameSite=Strict`` (``Secure`` when configured),
  Flask-Login's "strong" session protection.
- Flask-WTF's :class:`CSRFProtect` on every POST, forms and JSON alike (the token in the
  form or in the ``X-CSRFToken`` header).
- Flask-Limiter, in memory, on login, TOTP validation and approvals, POST only.
- A Content-Security-Policy without inline script, ``frame-ancestors 'none'``,
  ``nosniff`` and no caching on every response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_security import Security, SQLAlchemySessionUserDatastore, user_authenticated
from flask_wtf.csrf import CSRFProtect

from authority_portal.app.models import SECOND_FACTOR_ROLES, Role, User

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
DEFAULT_RATE_LIMITS = {"login": "10 per minute", "totp": "10 per minute",
                       "approval": "30 per minute"}

csrf = CSRFProtect()


def configure(app: Flask, given: Mapping[str, Any]) -> None:
    """Flask-Security's and the cookies' settings, unless the caller set them in ``given``
    (Flask's own defaults, such as ``SESSION_COOKIE_SAMESITE=None``, are replaced)."""
    defaults = {
        "SECURITY_PASSWORD_HASH": "argon2",
        "SECURITY_TWO_FACTOR": True,
        "SECURITY_TWO_FACTOR_ENABLED_METHODS": ["authenticator"],
        "SECURITY_TWO_FACTOR_REQUIRED": False,
        "SECURITY_TOTP_ISSUER": "escrowlab portal",
        "SECURITY_REGISTERABLE": False,
        "SECURITY_RECOVERABLE": False,
        "SECURITY_CHANGEABLE": False,
        "SECURITY_SEND_REGISTER_EMAIL": False,
        "SECURITY_TRACKABLE": False,
        "SECURITY_LOGOUT_METHODS": ["POST"],
        "SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS": False,
        "SECURITY_POST_LOGIN_VIEW": "/",
        "SECURITY_POST_LOGOUT_VIEW": "/",
        "SECURITY_RETURN_GENERIC_RESPONSES": True,
        "SECURITY_DEFAULT_REMEMBER_ME": False,
        "SECURITY_TWO_FACTOR_ALWAYS_VALIDATE": True,
        "SECURITY_EMAIL_VALIDATOR_ARGS": {"check_deliverability": False},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Strict",
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "RATELIMIT_HEADERS_ENABLED": True,
        "PORTAL_RATE_LIMITS": DEFAULT_RATE_LIMITS,
    }
    for key, value in defaults.items():
        if key not in given:
            app.config[key] = value
    app.config["SECURITY_TWO_FACTOR_VALIDITY_COOKIE"] = {
        "httponly": True, "samesite": "Strict", "secure": app.config["SESSION_COOKIE_SECURE"]}


def rate(kind: str):
    """The configured limit of ``kind`` (a Flask-Limiter string), read per request."""
    return lambda: current_app.config["PORTAL_RATE_LIMITS"][kind]


def rate_limited(kind: str):
    """Mark a view for the ``kind`` limit; :func:`install_limits` applies it."""

    def mark(view):
        view.rate_kind = kind
        return view

    return mark


def install_limits(app: Flask) -> Limiter:
    """One in-memory limiter per app, on sign-in, TOTP and every marked view (POST only)."""
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://",
                      strategy="fixed-window")
    kinds = {"security.login": "login", "security.two_factor_token_validation": "totp"}
    for endpoint, view in list(app.view_functions.items()):
        kind = kinds.get(endpoint, getattr(view, "rate_kind", None))
        if kind is not None:
            app.view_functions[endpoint] = limiter.limit(rate(kind), methods=["POST"])(view)
    return limiter


def install(app: Flask, session, given: Mapping[str, Any]) -> SQLAlchemySessionUserDatastore:
    """Flask-Security, CSRF, the limiter and the headers on ``app`` (configured by
    ``given`` over the defaults above); the user datastore."""
    configure(app, given)
    datastore = SQLAlchemySessionUserDatastore(session, User, Role)
    Security(app, datastore)  # one per app: its TOTP factory holds this app's secrets
    app.login_manager.session_protection = "strong"
    csrf.init_app(app)

    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    user_authenticated.connect(_log_privileged_login, app)
    return datastore


def _log_privileged_login(app: Flask, user: User, authn_via=None, **_extra) -> None:
    """Every sign-in to a privileged role is an audit-log entry (docs/portal.md)."""
    roles = sorted(user.role_names & (SECOND_FACTOR_ROLES | {"auditor"}))
    if roles:
        app.extensions["portal"].log.append("portal.login", user.label, {
            "roles": roles, "via": sorted(authn_via or []), "address": request.remote_addr
            or "unknown"})
