"""Helpers of the portal tests over :class:`escrowlab.portal.client.PortalClient`: the
judge's signature made in Python, a filing, a judge's approval."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization

from escrowlab.portal.client import PortalClient
from escrowlab.portal.world import build

FILING = {"agency": "Metropolitan Police", "jurisdiction": "JA",
          "legal_basis": "Investigatory Powers Act s.1, case 42", "validity_days": 10}


Client = PortalClient

FAST_HASH = {"argon2__rounds": 1, "argon2__memory_cost": 1024, "argon2__parallelism": 1}
"""argon2id still, at the lowest cost, so that a test signs in quickly."""
TEST_CONFIG = {"SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS": FAST_HASH,
               "PORTAL_RATE_LIMITS": {"login": "1000 per minute", "totp": "1000 per minute",
                                      "approval": "1000 per minute"}}


def make_world(directory, **options):
    return build(directory, messages=6, config={**TEST_CONFIG, **options.pop("config", {})},
                 **options)


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
