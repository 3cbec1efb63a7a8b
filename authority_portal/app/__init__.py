"""The warrant portal's Flask application (docs/portal.md).

``create_app(config)`` takes a mapping with at least:

- ``PORTAL_CUSTODIANS``: the custodians (:class:`~authority_portal.app.custodians.Custodians`);
- ``PORTAL_LOG``: the audit log (:class:`~authority_portal.app.auditing.PortalLog`);
- ``PORTAL_CLOCK``: the clock (an object with ``now()``);
- ``PORTAL_JUDGES``: the judge registry the portal checks signatures against
  (:class:`~authority_portal.warrants.judges.JudgeRegistry`; every node has its own);

and optionally ``PORTAL_DATABASE_URL`` (default an in-memory SQLite database),
``PORTAL_POLICY`` and ``PORTAL_PARTICULARITY`` (the filing limits), ``SECRET_KEY``,
``SECURITY_PASSWORD_SALT``, ``SECURITY_TOTP_SECRETS``
(random ones are generated when missing: sessions then end with the process) and any
Flask, Flask-Security or ``PORTAL_RATE_LIMITS`` setting.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, url_for
from werkzeug.exceptions import HTTPException

from authority_portal.app.blueprints import admin, auditor, core, custodian, judge, officer
from authority_portal.app.casework import Casework
from authority_portal.app.db import Base, make_engine, make_session
from authority_portal.app.errors import PortalError
from authority_portal.app.models import ROLES, Role
from authority_portal.app.orders import OrderDesk
from authority_portal.app.security import install, install_limits
from authority_portal.app.web import Portal, handle_http_error, handle_portal_error

BLUEPRINTS = (core.bp, officer.bp, judge.bp, custodian.bp, auditor.bp, admin.bp)
REQUIRED = ("PORTAL_CUSTODIANS", "PORTAL_LOG", "PORTAL_CLOCK", "PORTAL_JUDGES")


def create_app(config: Mapping[str, Any]) -> Flask:
    missing = [key for key in REQUIRED if key not in config]
    if missing:
        raise PortalError(f"create_app needs {', '.join(missing)}")
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_hex(32),
                      SECURITY_PASSWORD_SALT=secrets.token_hex(16),
                      SECURITY_TOTP_SECRETS={"1": secrets.token_urlsafe(32)},
                      PORTAL_DATABASE_URL="sqlite://")
    app.config.update(config)
    engine = make_engine(app.config["PORTAL_DATABASE_URL"])
    Base.metadata.create_all(engine)
    session = make_session(engine)
    casework = Casework(config["PORTAL_CUSTODIANS"], config["PORTAL_LOG"],
                        config["PORTAL_CLOCK"], config["PORTAL_JUDGES"],
                        config.get("PORTAL_POLICY"), config.get("PORTAL_PARTICULARITY"))
    desk = OrderDesk(casework.log, casework.clock, casework.judges, casework.particularity)
    app.extensions["portal"] = Portal(casework, session, engine, desk)
    datastore = install(app, session, config)
    with app.app_context():
        for name in ROLES:
            if datastore.find_role(name) is None:
                datastore.create_role(name=name)
        session.commit()
    app.extensions["portal_datastore"] = datastore
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    install_limits(app)
    app.register_error_handler(PortalError, handle_portal_error)
    app.register_error_handler(HTTPException, handle_http_error)

    _template_helpers(app)

    @app.teardown_appcontext
    def _end_session(_exc):
        session.remove()

    return app


def _template_helpers(app: Flask) -> None:
    app.add_template_filter(
        lambda t: datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), "utc")
    app.add_template_filter(json.loads, "fromjson")

    @app.context_processor
    def _links():
        def link(endpoint):
            return lambda w: url_for(endpoint, reference=w.reference)
        return {"officer_link": link("officer.show"), "judge_link": link("judge.show"),
                "auditor_link": link("auditor.trail")}


__all__ = ["Role", "create_app"]
