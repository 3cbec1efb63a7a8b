"""The JSON API matches its OpenAPI document (docs/portal.md, "The JSON API"): the app
serves exactly the documented operations, and schemathesis, generating requests from the
document for each operation both anonymously and signed in with the operation's role
(CSRF token sent), finds no server error and no response outside the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from authority_portal.app.openapi import OPERATIONS, build_spec
from tests.portal_app.helpers import Client, file_warrant

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]
IDENTITIES = ("anonymous", "officer-1", "judge-1", "operator-1", "auditor-1", "admin-1")
ACCOUNT_OF_ROLE = {"officer": "officer-1", "judge": "judge-1", "custodian": "operator-1",
                   "auditor": "auditor-1", "admin": "admin-1"}


def test_the_app_serves_exactly_the_documented_operations(shared_world):
    served = set()
    for rule in shared_world.app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.replace("<int:change_id>", "{change_id}").replace(
                "<reference>", "{reference}")
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == {(path, method) for path, method, *_ in OPERATIONS}
    spec = shared_world.app.test_client().get("/api/openapi.json").json
    assert spec == build_spec()
    assert spec["openapi"] == "3.1.0"


@pytest.fixture(scope="session")
def identities(shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    file_warrant(shared_world, officer)
    made = {}
    for name in IDENTITIES:
        client = Client(shared_world.app) if name == "anonymous" else \
            Client(shared_world.app, shared_world.accounts[name])
        if name == "anonymous":
            client.csrf()
        made[name] = {"Cookie": client.cookie_header(), "X-CSRFToken": client.token}
    return made


def test_no_server_error_and_no_response_outside_the_document(shared_world, identities):
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", shared_world.app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == len(OPERATIONS)
    role_of = {(path, method): role for path, method, role, *_ in OPERATIONS}
    for operation in operations:
        role = role_of[operation.path, operation.method.lower()]
        _fuzz(operation, [identities["anonymous"],
                          identities[ACCOUNT_OF_ROLE.get(role, "officer-1")]])


def _fuzz(operation, callers) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        for headers in callers:
            case.call_and_validate(headers=headers, checks=CHECKS)

    check()
