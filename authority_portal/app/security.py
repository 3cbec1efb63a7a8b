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
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://",
                  strategy="fixed-window")
security = Security()


def configure(app: Flask) -> None:
    """Flask-Security's and the cookies' settings, unless the caller set them."""
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
        app.config.setdefault(key, value)
    app.config["SECURITY_TWO_FACTOR_VALIDITY_COOKIE"] = {
        "httponly": True, "samesite": "Strict", "secure": app.config["SESSION_COOKIE_SECURE"]}


def rate(kind: str):
    """The configured limit of ``kind`` (a Flask-Limiter string), read per request."""
    return lambda: current_app.config["PORTAL_RATE_LIMITS"][kind]


def install(app: Flask, session) -> SQLAlchemySessionUserDatastore:
    """Flask-Security, CSRF, the limiter and the headers on ``app``; the user datastore."""
    configure(app)
    datastore = SQLAlchemySessionUserDatastore(session, User, Role)
    security.init_app(app, datastore)
    app.login_manager.session_protection = "strong"
    csrf.init_app(app)
    limiter.init_app(app)
    for endpoint, kind in (("security.login", "login"),
                           ("security.two_factor_token_validation", "totp")):
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(rate(kind), methods=["POST"])(view)

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
