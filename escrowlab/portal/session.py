"""A signed-in client of a served portal's JSON API over real HTTP (docs/portal.md, "The
command line"): the benchmark's clients and ``escrowlab warrant file|sign|status|recover``.

It signs in as a browser would: fetches the CSRF token, posts the password, then the TOTP
code of the account's second factor, fetches a fresh token for the signed-in session, and
sends it in ``X-CSRFToken`` with every request. The cookie jar keeps the session (Flask-
Login's strong session protection ties it to this client). A refusal (a 4xx or 5xx answer)
is a :class:`PortalSessionError` carrying the portal's own message.
"""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pyotp

import strictjson

MAX_ANSWER_BYTES = 16 << 20


class PortalSessionError(Exception):
    """The portal refused a request or could not be reached; ``status`` is the HTTP status
    (0 when there was no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Credentials:
    """One portal account: email, password and the TOTP secret of its second factor."""

    email: str
    password: str = field(repr=False)
    totp: str | None = field(default=None, repr=False)

    @classmethod
    def loads(cls, data: bytes) -> Credentials:
        """From an account file: ``{"email", "password", "totp"}`` (the portal prints each
        account in this shape, with more fields, which are ignored)."""
        obj = strictjson.loads(data, what="account file", error=PortalSessionError)
        if not isinstance(obj, dict) or not isinstance(obj.get("email"), str) or \
                not isinstance(obj.get("password"), str) or \
                not isinstance(obj.get("totp"), str | None):
            raise PortalSessionError("an account file is a JSON object with the strings "
                                     '"email" and "password" and "totp" (a string or null)')
        return cls(obj["email"], obj["password"], obj["totp"])


class PortalSession:
    """One account signed in to the portal at ``url`` (module docstring)."""

    def __init__(self, url: str, account: Credentials, timeout: float = 60.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise PortalSessionError(f"the portal URL must be http(s), not {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = ""
        self.token = self._token()
        self.call("POST", "/login", {"email": account.email, "password": account.password})
        if account.totp:
            self.call("POST", "/tf-validate", {"code": pyotp.TOTP(account.totp).now()})
        self.token = self._token()

    def _token(self) -> str:
        answer = self.call("GET", "/login")
        token = answer.get("response", {}).get("csrf_token") if isinstance(answer, dict) else None
        if not isinstance(token, str):
            raise PortalSessionError(f"{self.url} does not look like the escrowlab portal")
        return token

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        """The JSON answer of ``method path`` (with ``body`` as JSON);
        :class:`PortalSessionError` for a refusal."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url + path, data=data, method=method,
            headers={"Accept": "application/json", "Content-Type": "application/json",
                     "X-CSRFToken": self.token})
        try:
            with self.opener.open(request, timeout=self.timeout) as answer:
                raw = answer.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            raise PortalSessionError(f"{method} {path}: {exc.code} {_message(exc)}",
                                     exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise PortalSessionError(f"the portal at {self.url} is unreachable: {exc}") from None
        return strictjson.loads(raw, what="portal answer", error=PortalSessionError)


def _message(error: urllib.error.HTTPError) -> str:
    try:
        obj = json.loads(error.read(65536))
    except ValueError:
        return str(error.reason)
    if isinstance(obj, dict):
        if isinstance(obj.get("error"), str):
            return obj["error"]
        errors = obj.get("response", {}).get("errors") if isinstance(obj.get("response"),
                                                                     dict) else None
        if errors:
            return "; ".join(map(str, errors))
    return str(error.reason)
