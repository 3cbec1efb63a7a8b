"""Accounts for a demo or a test (docs/portal.md, "Demo accounts"): each with a random
password, and a TOTP secret where the role needs one, returned once to be printed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from flask import Flask
from flask_security import hash_password

from authority_portal.app.models import SECOND_FACTOR_ROLES, User


@dataclass(frozen=True)
class Account:
    email: str
    roles: tuple[str, ...]
    password: str = field(repr=False)
    totp: str | None = field(default=None, repr=False)
    """The base32 TOTP key (what an authenticator app is given), if the role needs one."""
    custodian_id: str | None = None


def create_account(app: Flask, email: str, roles: tuple[str, ...], *,
                   custodian_id: str | None = None, judge_key: bytes | None = None,
                   password: str | None = None) -> Account:
    """Create one account; its password and TOTP key are returned, never stored clear."""
    password = password or secrets.token_urlsafe(12)
    datastore = app.extensions["portal_datastore"]
    security = app.extensions["security"]
    with app.app_context():
        user: User = datastore.create_user(
            email=email, username=email.split("@")[0], password=hash_password(password),
            roles=list(roles), active=True)
        user.custodian_id = custodian_id
        user.judge_key = judge_key.hex() if judge_key else None
        key = None
        if SECOND_FACTOR_ROLES & set(roles):
            secret = security._totp_factory.generate_totp_secret()
            user.tf_totp_secret = secret
            user.tf_primary_method = "authenticator"
            key = security._totp_factory.get_totp_uri(email, secret).split("secret=")[1] \
                .split("&")[0]
        datastore.commit()
    return Account(email, tuple(roles), password, key, custodian_id)
