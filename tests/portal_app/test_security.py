"""Accounts and sessions (docs/portal.md, "Accounts and sessions"): CSRF on every form and
JSON POST, security headers, strict cookies, argon2id hashes, TOTP for the privileged
roles, rate limits, and privileged sign-ins in the audit log."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from authority_portal.app.models import User
from authority_portal.app.seed import create_account
from tests.portal_app.helpers import FILING, Client, file_warrant, make_world


def _filing(world):
    start, end = world.archive_times
    return {**FILING, "conversation_id": world.conversation_id, "window_start": start,
            "window_end": end}


def test_a_json_post_without_the_csrf_token_is_refused_and_files_nothing(shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    before = len(officer.get("/api/v1/officer/warrants").json["warrants"])
    answer = officer.post("/api/v1/officer/warrants", json=_filing(shared_world), csrf=False)
    assert answer.status_code == 400
    assert b"CSRF" in answer.data
    wrong = officer.post("/api/v1/officer/warrants", json=_filing(shared_world), csrf=False,
                         headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    assert len(officer.get("/api/v1/officer/warrants").json["warrants"]) == before


def test_a_form_post_without_the_csrf_token_is_refused(shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    form = {key: str(value) for key, value in _filing(shared_world).items()}
    answer = officer.http.post("/officer/warrants", data=form)
    assert answer.status_code == 400
    assert b"CSRF" in answer.data


def test_signing_in_without_the_csrf_token_is_refused(shared_world):
    account = shared_world.accounts["officer-1"]
    client = shared_world.app.test_client()
    answer = client.post("/login", json={"email": account.email, "password": account.password})
    assert answer.status_code == 400
    assert client.get("/api/v1/me").json == {"authenticated": False}


@pytest.mark.parametrize("path", ["/login", "/api/openapi.json", "/static/judge-sign.js",
                                  "/api/v1/officer/warrants"])
def test_every_response_carries_the_security_headers(shared_world, path):
    answer = shared_world.app.test_client().get(path)
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_no_page_has_an_inline_script(shared_world):
    judge = Client(shared_world.app, shared_world.accounts["judge-1"])
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    reference = file_warrant(shared_world, officer)["reference"]
    for client, path in ((judge, f"/judge/warrants/{reference}"), (judge, "/judge"),
                         (officer, "/officer"), (judge, "/login")):
        page = client.get(path).data.decode()
        for chunk in page.split("<script")[1:]:
            assert chunk.lstrip().startswith("src="), path
        assert " on" + "click=" not in page


def test_the_session_cookie_is_httponly_and_samesite_strict(shared_world):
    account = shared_world.accounts["officer-1"]
    client = Client(shared_world.app)
    token = client.csrf()
    answer = client.http.post("/login", json={"email": account.email,
                                              "password": account.password},
                              headers={"X-CSRFToken": token})
    cookie = next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


def test_passwords_are_stored_as_argon2id_hashes(shared_world):
    session = shared_world.app.extensions["portal"].session
    hashes = [u.password for u in session.scalars(select(User))]
    session.remove()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(a.password in "".join(hashes) for a in shared_world.accounts.values())


def test_a_judge_must_pass_totp_before_any_judge_endpoint(shared_world):
    account = shared_world.accounts["judge-1"]
    client = Client(shared_world.app)
    token = client.csrf()
    first = client.post("/login", json={"email": account.email, "password": account.password})
    assert first.json["response"]["tf_required"] is True
    assert client.get("/api/v1/judge/warrants").status_code == 401
    wrong = client.post("/tf-validate", json={"code": "000000"}, headers={"X-CSRFToken": token})
    assert wrong.status_code == 400
    assert client.get("/api/v1/judge/warrants").status_code == 401
    right = client.post("/tf-validate", json={"code": pyotp.TOTP(account.totp).now()})
    assert right.status_code == 200
    assert client.get("/api/v1/judge/warrants").status_code == 200


def test_a_privileged_role_without_a_second_factor_is_refused(shared_world):
    account = create_account(shared_world.app, "judge-nototp@portal.escrowlab.org",
                             ("officer",))
    session = shared_world.app.extensions["portal"].session
    with shared_world.app.app_context():
        user = session.scalar(select(User).where(User.email == account.email))
        shared_world.app.extensions["portal_datastore"].add_role_to_user(user, "judge")
        session.commit()
    client = Client(shared_world.app, account)
    answer = client.get("/api/v1/judge/warrants")
    assert answer.status_code == 403
    assert "TOTP" in answer.json["error"]
    assert client.get("/api/v1/officer/warrants").status_code == 200


def test_sign_in_and_totp_attempts_are_rate_limited(tmp_path):
    world = make_world(tmp_path / "limited", config={"PORTAL_RATE_LIMITS": {
        "login": "3 per minute", "totp": "2 per minute", "approval": "2 per minute"}})
    try:
        account = world.accounts["judge-2"]
        client = Client(world.app)
        client.csrf()
        codes = [client.post("/login", json={"email": account.email,
                                             "password": "wrong"}).status_code
                 for _ in range(4)]
        assert codes[:3] == [400, 400, 400] and codes[3] == 429
        other = Client(world.app)
        other.csrf()
        assert other.post("/login", json={"email": account.email,
                                          "password": account.password}).status_code == 429
    finally:
        world.close()


def test_each_sign_in_to_a_privileged_role_is_logged(shared_world):
    before = shared_world.log.size
    Client(shared_world.app, shared_world.accounts["operator-2"])
    Client(shared_world.app, shared_world.accounts["officer-2"])
    entries = shared_world.log.entries(before)
    assert [(e.entry.type, e.entry.actor) for e in entries] == [("portal.login", "operator-2")]
