"""Helpers of the portal tests over :class:`escrowlab.portal.client.PortalClient`: the
judge's and the operators' signatures made in Python (as their browsers would, from their
own key files), a filing, a judge's approval, an operator's approval."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization

from authority_portal.custodian_node.operator import load_key
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


def release_request(client: Client, reference: str) -> bytes:
    """The request body the portal asks the signed-in operator to sign."""
    answer = client.get(f"/api/v1/custodian/warrants/{reference}/request")
    assert answer.status_code == 200, answer.json
    return base64.b64decode(answer.json["request"])


def operator_signature(world, client: Client, reference: str, number: int) -> str:
    """What operator ``number``'s browser does: sign the served request with their key
    file; the signature in base64."""
    key = load_key(world.operator_key_files[f"operator-{number}"].read_bytes())
    return base64.b64encode(key.sign(release_request(client, reference))).decode()


def approve_by_operator(world, reference: str, number: int, client: Client | None = None):
    """Operator ``number`` signs their node's request and posts the signature; the answer."""
    client = client or Client(world.app, world.accounts[f"operator-{number}"])
    return client.post(f"/api/v1/custodian/warrants/{reference}/approval",
                       json={"signature": operator_signature(world, client, reference,
                                                             number)})
