"""A signed-in API client for the portal tests: fetches the CSRF token as a browser page
would, signs in with password and TOTP, and sends it with every POST."""

from __future__ import annotations

import base64

import pyotp
from cryptography.hazmat.primitives import serialization

FILING = {"agency": "Metropolitan Police", "jurisdiction": "JA",
          "legal_basis": "Investigatory Powers Act s.1, case 42", "validity_days": 10}


class Client:
    def __init__(self, app, account=None):
        self.app = app
        self.http = app.test_client()
        self.token = None
        self.account = account
        if account is not None:
            self.login(account)

    def csrf(self) -> str:
        answer = self.http.get("/login", headers={"Accept": "application/json"})
        self.token = answer.json["response"]["csrf_token"]
        return self.token

    def login(self, account) -> None:
        token = self.csrf()
        answer = self.http.post("/login", json={"email": account.email,
                                                "password": account.password},
                                headers={"X-CSRFToken": token})
        assert answer.status_code == 200, answer.json
        if account.totp:
            answer = self.http.post("/tf-validate",
                                    json={"code": pyotp.TOTP(account.totp).now()},
                                    headers={"X-CSRFToken": token})
            assert answer.status_code == 200, answer.json
        self.token = self.http.get("/login", headers={"Accept": "application/json"}
                                   ).json["response"]["csrf_token"]

    def get(self, path, **kwargs):
        return self.http.get(path, **kwargs)

    def post(self, path, json=None, csrf=True, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if csrf and self.token:
            headers["X-CSRFToken"] = self.token
        return self.http.post(path, json=json, headers=headers, **kwargs)


def sign_statement(client: Client, key_file, reference: str) -> bytes:
    """What the judge's browser does, in Python: sign the served statement."""
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    statement = client.get(f"/api/v1/judge/warrants/{reference}/statement").json["statement"]
    return key.sign(base64.b64decode(statement))


def file_warrant(world, officer: Client, **changes) -> dict:
    start, end = world.archive_times
    body = {**FILING, "conversation_id": world.conversation_id, "window_start": start,
            "window_end": (start + end) / 2, **changes}
    answer = officer.post("/api/v1/officer/warrants", json=body)
    assert answer.status_code == 201, answer.json
    return answer.json


def approve_by_judge(world, judge: Client, reference: str, name: str = "judge-1") -> dict:
    signature = sign_statement(judge, world.judge_key_files[name], reference)
    answer = judge.post(f"/api/v1/judge/warrants/{reference}/signature",
                        json={"signature": base64.b64encode(signature).decode()})
    assert answer.status_code == 200, answer.json
    return answer.json
