"""The role x endpoint matrix (docs/portal.md, "Roles"): every route of the app, with
every role and anonymously. Anonymous callers are sent to sign in (401 on the API, a
redirect elsewhere), a role other than the route's gets 403, and the route's own role
gets past the check (whatever the casework then says, never a server error)."""

from __future__ import annotations

import pytest

from authority_portal.app.models import ROLES
from tests.portal_app.helpers import Client, file_warrant

ACCOUNT_OF_ROLE = {"officer": "officer-1", "judge": "judge-1", "custodian": "operator-1",
                   "auditor": "auditor-1", "admin": "admin-1"}
PUBLIC = {"core.api_me", "core.openapi", "static"}


def routes(app):
    """(endpoint, method, rule, required role) of every route that is not Flask-Security's
    own sign-in machinery."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("security.") or rule.endpoint in PUBLIC:
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule, getattr(view, "required_role", None)))
    return found


def test_every_route_but_sign_in_and_public_documents_states_its_role(shared_world):
    app = shared_world.app
    unguarded = [endpoint for endpoint, _, _, role in routes(app) if role is None]
    assert unguarded == []
    roles = {role for *_, role in routes(app)}
    assert roles == {*ROLES, "any"}
    public = {r.endpoint for r in app.url_map.iter_rules()} - {e for e, *_ in routes(app)}
    assert {e for e in public if not e.startswith("security.")} == PUBLIC


def _url(rule, reference):
    return rule.build({"reference": reference, "change_id": 1, "filename": "portal.css"},
                      append_unknown=False)[1]


def _expected(identity, required):
    if identity == "anonymous":
        return "sign-in"
    if required == "any" or identity == required:
        return "allowed"
    return "forbidden"


@pytest.mark.parametrize("identity", ["anonymous", *ROLES])
def test_role_by_endpoint_matrix(shared_world, identity):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    reference = file_warrant(shared_world, officer)["reference"]
    client = Client(shared_world.app) if identity == "anonymous" else \
        Client(shared_world.app, shared_world.accounts[ACCOUNT_OF_ROLE[identity]])
    if identity == "anonymous":
        client.csrf()
    seen = {}
    for _endpoint, method, rule, required in routes(shared_world.app):
        url = _url(rule, reference)
        answer = client.get(url) if method == "GET" else client.post(url, json={})
        expected = _expected(identity, required)
        if expected == "sign-in":
            ok = (answer.status_code == 401 and answer.is_json) if url.startswith("/api/") \
                else (answer.status_code == 302 and "/login" in answer.headers["Location"])
        elif expected == "forbidden":
            ok = answer.status_code == 403
        else:
            ok = answer.status_code not in (401, 403) and answer.status_code < 500
        seen[f"{method} {rule.rule}"] = (expected, answer.status_code, ok)
    wrong = {route: result for route, result in seen.items() if not result[2]}
    assert wrong == {}
    assert len(seen) >= 30
