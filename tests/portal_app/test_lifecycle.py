"""The warrant lifecycle through the JSON API (docs/portal.md, "Warrant states"): filing
limits, the judge's signature, t of n custodians, the recovered view (logged, in-scope
messages only, with the over-collection count), denial, expiry, and no chain key,
recovery key or plaintext at rest once the case is closed."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import escrow.recovery
from messaging.clock import ManualClock
from tests.portal_app.helpers import (
    FILING,
    Client,
    approve_by_judge,
    approve_by_operator,
    file_warrant,
    make_world,
    operator_signature,
    sign_statement,
)


def _trail(world, reference):
    return [e.entry.type for e in world.log.trail(reference)]


@pytest.mark.parametrize(("changes", "message"), [
    ({"conversation_id": "dm:alice:*"}, "wildcards"),
    ({"window_start": 0.0, "window_end": 100 * 86_400.0}, "at most 31 days"),
    ({"validity_days": 365}, "at most 30 days"),
    ({"window_start": 10.0, "window_end": 20.0}, "no escrowed chain"),
    ({"window_start": 20.0, "window_end": 10.0}, "end after it starts"),
    ({"legal_basis": " "}, "legal basis"),
])
def test_filing_limits_refuse_and_file_nothing(shared_world, changes, message):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    before = shared_world.log.size
    start, end = shared_world.archive_times
    body = {**FILING, "conversation_id": shared_world.conversation_id, "window_start": start,
            "window_end": end, **changes}
    answer = officer.post("/api/v1/officer/warrants", json=body)
    assert answer.status_code == 400
    assert message in answer.json["error"]
    assert shared_world.log.size == before


def test_a_malformed_body_is_refused(shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    answer = officer.post("/api/v1/officer/warrants", json={**FILING, "extra": 1})
    assert answer.status_code == 400
    answer = officer.post("/api/v1/officer/warrants", data=b'{"a": 1, "a": 2}',
                          content_type="application/json")
    assert answer.status_code == 400


def test_a_signature_over_other_bytes_is_refused_and_changes_nothing(shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    judge = Client(shared_world.app, shared_world.accounts["judge-1"])
    reference = file_warrant(shared_world, officer)["reference"]
    other = file_warrant(shared_world, officer)["reference"]
    signature = sign_statement(judge, shared_world.judge_key_files["judge-1"], other)
    answer = judge.post(f"/api/v1/judge/warrants/{reference}/signature",
                        json={"signature": base64.b64encode(signature).decode()})
    assert answer.status_code == 400
    wrong_judge = sign_statement(judge, shared_world.judge_key_files["judge-2"], reference)
    answer = judge.post(f"/api/v1/judge/warrants/{reference}/signature",
                        json={"signature": base64.b64encode(wrong_judge).decode()})
    assert answer.status_code == 400
    assert officer.get(f"/api/v1/officer/warrants/{reference}").json["status"] == "filed"
    assert _trail(shared_world, reference) == ["warrant.draft", "warrant.filed"]


def test_t_of_n_custodians_recover_exactly_the_window_and_the_view_is_logged(shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    judge = Client(shared_world.app, shared_world.accounts["judge-1"])
    warrant = file_warrant(shared_world, officer)
    reference = warrant["reference"]
    approved = approve_by_judge(shared_world, judge, reference)
    assert approved["status"] == "approved" and approved["issuer"] == "judge-1"
    for number in (1, 2):
        progress = approve_by_operator(shared_world, reference, number).json
        assert (progress["progress"], progress["status"]) == (number, "releasing")
    early = officer.get(f"/api/v1/officer/warrants/{reference}/recovered")
    assert early.status_code == 409
    last = approve_by_operator(shared_world, reference, 3).json
    assert (last["progress"], last["required"], last["status"]) == (3, 3, "recovered")
    assert "recovered.viewed" not in _trail(shared_world, reference)
    view = officer.get(f"/api/v1/officer/warrants/{reference}/recovered").json
    assert view["messages_recovered"] == view["messages_in_scope"] > 0
    assert all(warrant["window_start"] <= m["received_at"] < warrant["window_end"]
               for m in view["messages"])
    assert view["out_of_scope_recoverable"] >= 1
    assert {c["outcome"] for c in view["chains"]} == {"recovered"}
    assert _trail(shared_world, reference) == [
        "warrant.draft", "warrant.filed", "warrant.approved", "warrant.releasing",
        "custodian.released", "custodian.released", "custodian.released",
        "warrant.recovered", "recovered.viewed"]
    other = Client(shared_world.app, shared_world.accounts["officer-2"])
    assert other.get(f"/api/v1/officer/warrants/{reference}/recovered").status_code == 403


def test_an_operator_signature_by_another_key_or_for_another_warrant_releases_nothing(
        shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    judge = Client(shared_world.app, shared_world.accounts["judge-1"])
    first, second = (file_warrant(shared_world, officer)["reference"] for _ in range(2))
    for reference in (first, second):
        approve_by_judge(shared_world, judge, reference)
    operator = Client(shared_world.app, shared_world.accounts["operator-1"])
    for_first = operator_signature(shared_world, operator, first, 1)
    by_operator_2 = operator_signature(shared_world, operator, second, 2)
    held = {n: node.store.releases() for n, node in shared_world.nodes.items()}
    for signature in (for_first, by_operator_2):
        answer = operator.post(f"/api/v1/custodian/warrants/{second}/approval",
                               json={"signature": signature})
        assert answer.status_code == 409
        assert "not signed by this node's operator" in answer.json["error"]
    assert {n: node.store.releases() for n, node in shared_world.nodes.items()} == held
    assert _trail(shared_world, second)[-2:] == ["custodian.refused"] * 2
    assert approve_by_operator(shared_world, second, 1, operator).json["progress"] == 1


def test_a_denied_warrant_releases_nothing(shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    judge = Client(shared_world.app, shared_world.accounts["judge-2"])
    reference = file_warrant(shared_world, officer)["reference"]
    denied = judge.post(f"/api/v1/judge/warrants/{reference}/denial",
                        json={"reason": "no grounds"})
    assert denied.json["status"] == "denied"
    operator = Client(shared_world.app, shared_world.accounts["operator-4"])
    assert operator.get(f"/api/v1/custodian/warrants/{reference}/request").status_code == 409
    assert operator.post(f"/api/v1/custodian/warrants/{reference}/approval",
                         json={"signature": base64.b64encode(bytes(64)).decode()}
                         ).status_code == 409
    assert _trail(shared_world, reference) == ["warrant.draft", "warrant.filed",
                                               "warrant.denied"]


def test_an_expired_warrant_is_released_by_nobody(tmp_path):
    clock = ManualClock(1_800_000_000.0)
    world = make_world(tmp_path / "expiry", clock=clock)
    try:
        officer = Client(world.app, world.accounts["officer-1"])
        judge = Client(world.app, world.accounts["judge-1"])
        warrant = file_warrant(world, officer, validity_days=1)
        approve_by_judge(world, judge, warrant["reference"])
        operator = Client(world.app, world.accounts["operator-1"])
        signature = operator_signature(world, operator, warrant["reference"], 1)
        clock.set(warrant["not_after"])
        answer = operator.post(f"/api/v1/custodian/warrants/{warrant['reference']}/approval",
                               json={"signature": signature})
        assert answer.status_code == 409 and "expired" in answer.json["error"]
        assert _trail(world, warrant["reference"])[-1] == "warrant.expired"
    finally:
        world.close()


def _files(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def test_no_chain_key_recovery_key_or_plaintext_is_at_rest_after_the_case_closes(
        world, monkeypatch):
    chain_keys = []
    real = escrow.recovery.read_chain

    def recording(chain, chain_key, identity_of):
        chain_keys.append(chain_key)
        return real(chain, chain_key, identity_of)

    monkeypatch.setattr(escrow.recovery, "read_chain", recording)
    officer = Client(world.app, world.accounts["officer-1"])
    judge = Client(world.app, world.accounts["judge-1"])
    reference = file_warrant(world, officer)["reference"]
    casework = world.app.extensions["portal"].casework
    recovery_key: X25519PrivateKey = casework.memory.get(reference).recovery_key
    approve_by_judge(world, judge, reference)
    for number in (1, 2, 3):
        approve_by_operator(world, reference, number)
    texts = [m["text"] for m in officer.get(
        f"/api/v1/officer/warrants/{reference}/recovered").json["messages"]]
    assert chain_keys and texts
    assert officer.post(f"/api/v1/officer/warrants/{reference}/close").json["status"] == \
        "closed"
    assert len(casework.memory) == 0
    world.app.extensions["portal"].engine.dispose()
    at_rest = _files(world.directory)
    secrets = [recovery_key.private_bytes_raw(), *chain_keys]
    found = [s for s in secrets if s in at_rest or s.hex().encode() in at_rest
             or base64.b64encode(s) in at_rest]
    assert found == []
    assert [t for t in set(texts) if t.encode() in at_rest] == []
    assert officer.get(f"/api/v1/officer/warrants/{reference}/recovered").status_code == 409
    assert _trail(world, reference)[-1] == "warrant.closed"
