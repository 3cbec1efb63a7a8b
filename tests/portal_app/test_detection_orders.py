"""Detection orders through the portal's JSON API (docs/detection_orders.md, "In the
portal"): the officer files, the judge signs the order statement with their own key, the
officer collects the signed order, and a scanning device verifies it itself; bad filings,
forged or misplaced signatures and second approvals are refused and change nothing."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization

from audit.trust import Trust
from authority_portal.warrants.detection import (
    DetectionOrderVerifier,
    decode_logged,
    encode_logged,
)
from escrow.css.orders import OrderError
from tests.portal_app.helpers import Client

DAY = 86_400
ORDER = {"agency": "Agency A", "jurisdiction": "JA", "users": ["alice"],
         "database_version": 1, "validity_days": 10, "legal_basis": "Article 7 (stand-in)"}


def _file(world, officer, **changes):
    now = world.app.extensions["portal"].casework.clock.now()
    body = {**ORDER, "window_start": now, "window_end": now + 5 * DAY, **changes}
    return officer.post("/api/v1/officer/detection-orders", json=body)


def _signature(world, judge, reference, name="judge-1", kind="detection-orders"):
    key = serialization.load_pem_private_key(world.judge_key_files[name].read_bytes(), None)
    statement = judge.get(f"/api/v1/judge/{kind}/{reference}/statement").json["statement"]
    return base64.b64encode(key.sign(base64.b64decode(statement))).decode()


def _device(world, logged: bool = False) -> DetectionOrderVerifier:
    """A scanning device's verifier; ``logged``: one that also requires the approval in
    the witnessed log (the portal log's key, witnesses and quorum)."""
    casework = world.app.extensions["portal"].casework
    log = casework.log
    trust = Trust(log.log_key, log.witness_keys, log.threshold) if logged else None
    return DetectionOrderVerifier(casework.judges, casework.particularity, trust)


def test_an_order_filed_signed_and_collected_is_accepted_by_a_scanning_device(shared_world):
    world = shared_world
    officer = Client(world.app, world.accounts["officer-1"])
    judge = Client(world.app, world.accounts["judge-1"])
    filed = _file(world, officer)
    assert filed.status_code == 201, filed.json
    reference = filed.json["reference"]
    assert filed.json["status"] == "filed" and filed.json["signed_order"] is None
    assert reference in [o["reference"] for o in
                         judge.get("/api/v1/judge/detection-orders").json["orders"]]
    signed = judge.post(f"/api/v1/judge/detection-orders/{reference}/signature",
                        json={"signature": _signature(world, judge, reference)})
    assert signed.status_code == 200, signed.json
    collected = officer.get(f"/api/v1/officer/detection-orders/{reference}").json
    assert collected["status"] == "approved" and collected["issuer"] == "judge-1"
    now = world.app.extensions["portal"].casework.clock.now()
    order = _device(world).verify(base64.b64decode(collected["signed_order"]), now + 1)
    assert order.users == ("alice",) and order.covers("alice", now + 2, 1)
    assert not order.covers("bob", now + 2, 1) and not order.covers("alice", now + 2, 2)
    logged = base64.b64decode(collected["signed_order"])
    assert _device(world, logged=True).verify(logged, now + 1).order_id == reference
    signed, receipt = decode_logged(logged)
    with pytest.raises(OrderError, match="without its receipt"):
        _device(world, logged=True).verify(signed, now + 1)  # signed, but not shown logged
    other = world.log.log.receipt(0)  # a receipt of another entry of the same log
    with pytest.raises(OrderError, match="not the logged approval"):
        _device(world, logged=True).verify(encode_logged(signed, other), now + 1)
    trail = [e.entry.type for e in world.log.trail(reference)]
    assert trail[-2:] == ["detection_order.filed", "detection_order.approved"]
    again = judge.post(f"/api/v1/judge/detection-orders/{reference}/signature",
                       json={"signature": _signature(world, judge, reference)})
    assert again.status_code == 409


@pytest.mark.parametrize(("changes", "message"), [
    ({"users": ["*"]}, "name each user"),
    ({"users": []}, "users"),
    ({"users": [f"user{i}" for i in range(50)]}, "not particular enough"),
    ({"validity_days": 365}, "not particular enough"),
    ({"legal_basis": " "}, "legal basis"),
    ({"database_version": True}, "database_version"),
])
def test_bad_filings_are_refused_and_log_nothing(shared_world, changes, message):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    before = shared_world.log.size
    answer = _file(shared_world, officer, **changes)
    assert answer.status_code == 400 and message in answer.json["error"], answer.json
    assert shared_world.log.size == before


def test_a_forged_or_warrant_statement_signature_is_refused_and_changes_nothing(shared_world):
    world = shared_world
    officer = Client(world.app, world.accounts["officer-1"])
    judge = Client(world.app, world.accounts["judge-1"])
    reference = _file(world, officer).json["reference"]
    before = world.log.size
    forged = base64.b64encode(bytes(64)).decode()
    wrong_judge = _signature(world, judge, reference, name="judge-2")
    for signature in (forged, wrong_judge):
        answer = judge.post(f"/api/v1/judge/detection-orders/{reference}/signature",
                            json={"signature": signature})
        assert answer.status_code == 400 and "refused" in answer.json["error"]
    assert world.log.size == before
    shown = officer.get(f"/api/v1/officer/detection-orders/{reference}").json
    assert shown["status"] == "filed" and shown["signed_order"] is None
    with pytest.raises(OrderError):
        _device(world).verify(b"{}", 0)
    stranger = Client(world.app, world.accounts["officer-2"])  # another officer's order
    assert stranger.get(f"/api/v1/officer/detection-orders/{reference}").status_code == 400
    assert reference not in [o["reference"] for o in
                             stranger.get("/api/v1/officer/detection-orders").json["orders"]]
