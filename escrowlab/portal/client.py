"""A signed-in client of the portal's JSON API over Flask's test client (the tests, the
scenarios): it fetches the CSRF token as a page would, signs in with password and TOTP,
and sends the token with every POST (docs/portal.md, "Accounts and sessions")."""

from __future__ import annotations

import pyotp
from flask import Flask

from authority_portal.app.seed import Account


class PortalClient:
    def __init__(self, app: Flask, account: Account | None = None) -> None:
        self.app = app
        self.http = app.test_client()
        self.token: str | None = None
        self.account = account
        if account is not None:
            self.login(account)

    def csrf(self) -> str:
        answer = self.http.get("/login", headers={"Accept": "application/json"})
        self.token = answer.json["response"]["csrf_token"]
        return self.token

    def login(self, account: Account) -> None:
        token = self.csrf()
        answer = self.http.post("/login", json={"email": account.email,
                                                "password": account.password},
                                headers={"X-CSRFToken": token})
        if answer.status_code != 200:
            raise RuntimeError(f"sign-in of {account.email} refused: {answer.json}")
        if account.totp:
            answer = self.http.post("/tf-validate",
                                    json={"code": pyotp.TOTP(account.totp).now()},
                                    headers={"X-CSRFToken": token})
            if answer.status_code != 200:
                raise RuntimeError(f"TOTP of {account.email} refused: {answer.json}")
        self.csrf()

    def get(self, path: str, **kwargs):
        return self.http.get(path, **kwargs)

    def post(self, path: str, json=None, csrf: bool = True, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if csrf and self.token:
            headers["X-CSRFToken"] = self.token
        return self.http.post(path, json=json, headers=headers, **kwargs)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.key}={c.value}" for c in self.http._cookies.values())
