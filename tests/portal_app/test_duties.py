"""Separation of duties, enforced by the database (docs/portal.md, "Separation of
duties"): the filing officer cannot decide on the warrant, a person decides once per
warrant (so a judge who signed cannot approve as a custodian operator), each custodian
approves once, and a role change needs a second admin and is logged."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from authority_portal.app.models import Decision, RoleChange, User, Warrant
from authority_portal.app.seed import create_account
from tests.portal_app.helpers import (
    Client,
    approve_by_judge,
    approve_by_operator,
    file_warrant,
    sign_statement,
)


def _session(world):
    return world.app.extensions["portal"].session


def _user(world, email):
    return _session(world).scalar(select(User).where(User.email == email))


def _warrant(world, reference):
    return _session(world).scalar(select(Warrant).where(Warrant.reference == reference))


def test_the_database_refuses_a_decision_by_the_filing_officer(shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    warrant = _warrant(shared_world, file_warrant(shared_world, officer)["reference"])
    session = _session(shared_world)
    session.add(Decision(warrant_id=warrant.id, officer_id=warrant.officer_id,
                         user_id=warrant.officer_id, kind="judge", outcome="approve",
                         decided_at=0.0))
    with pytest.raises(IntegrityError, match="ck_decision_not_filing_officer|CHECK"):
        session.flush()
    session.rollback()
    lying = Decision(warrant_id=warrant.id, officer_id=warrant.officer_id + 1,
                     user_id=warrant.officer_id, kind="judge", outcome="approve",
                     decided_at=0.0)
    session.add(lying)  # naming another officer breaks the composite foreign key
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    session.remove()


def _judge_with(world, *roles, custodian_id=None):
    """judge-2 (a registered judge) given ``roles`` too, signed in."""
    session = _session(world)
    datastore = world.app.extensions["portal_datastore"]
    with world.app.app_context():
        user = _user(world, world.accounts["judge-2"].email)
        for role in roles:
            datastore.add_role_to_user(user, role)
        if custodian_id:
            user.custodian_id = custodian_id
        session.commit()
    session.remove()
    return Client(world.app, world.accounts["judge-2"])


def test_an_officer_who_is_also_a_judge_cannot_sign_their_own_warrant(shared_world):
    both = _judge_with(shared_world, "officer")
    reference = file_warrant(shared_world, both)["reference"]
    signature = sign_statement(both, shared_world.judge_key_files["judge-2"], reference)
    answer = both.post(f"/api/v1/judge/warrants/{reference}/signature",
                       json={"signature": base64.b64encode(signature).decode()})
    assert answer.status_code == 409
    assert "filing officer" in answer.json["error"]
    assert _warrant(shared_world, reference).status == "filed"
    assert [e.entry.type for e in shared_world.log.trail(reference)] == [
        "warrant.draft", "warrant.filed"]
    _session(shared_world).remove()


def test_a_judge_who_signed_cannot_release_as_a_custodian_operator(shared_world):
    both = _judge_with(shared_world, "custodian", custodian_id="K5")
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    reference = file_warrant(shared_world, officer)["reference"]
    approve_by_judge(shared_world, both, reference, "judge-2")
    answer = approve_by_operator(shared_world, reference, 5, client=both)
    assert answer.status_code == 409
    assert "decides once per warrant" in answer.json["error"]
    trail = [e.entry.type for e in shared_world.log.trail(reference)]
    assert trail[-2:] == ["warrant.approved", "warrant.releasing"]


def test_one_approval_per_person_and_per_custodian(shared_world):
    officer = Client(shared_world.app, shared_world.accounts["officer-1"])
    judge = Client(shared_world.app, shared_world.accounts["judge-1"])
    reference = file_warrant(shared_world, officer)["reference"]
    approve_by_judge(shared_world, judge, reference)
    operator = Client(shared_world.app, shared_world.accounts["operator-1"])
    assert approve_by_operator(shared_world, reference, 1, operator).json["progress"] == 1
    again = approve_by_operator(shared_world, reference, 1, operator)
    assert again.status_code == 409
    twin = create_account(shared_world.app, "second-k1@portal.escrowlab.org", ("custodian",),
                          custodian_id="K1")
    answer = approve_by_operator(shared_world, reference, 1, Client(shared_world.app, twin))
    assert answer.status_code == 409
    released = [e for e in shared_world.log.trail(reference)
                if e.entry.type == "custodian.released"]
    assert len(released) == 1


def test_a_role_change_needs_a_second_admin_and_is_logged(shared_world):
    admin1 = Client(shared_world.app, shared_world.accounts["admin-1"])
    admin2 = Client(shared_world.app, shared_world.accounts["admin-2"])
    target = create_account(shared_world.app, "promoted@portal.escrowlab.org",
                            ("auditor",)).email
    own = admin1.post("/api/v1/admin/role-changes", json={
        "email": shared_world.accounts["admin-1"].email, "role": "judge", "action": "grant"})
    assert own.status_code == 409
    change = admin1.post("/api/v1/admin/role-changes", json={
        "email": target, "role": "officer", "action": "grant"})
    assert change.status_code == 201 and change.json["status"] == "pending"
    assert "officer" not in _user(shared_world, target).role_names
    by_requester = admin1.post(f"/api/v1/admin/role-changes/{change.json['id']}/approval")
    assert by_requester.status_code == 409
    assert "officer" not in _user(shared_world, target).role_names
    applied = admin2.post(f"/api/v1/admin/role-changes/{change.json['id']}/approval")
    assert applied.status_code == 200 and applied.json["status"] == "applied"
    _session(shared_world).remove()
    assert "officer" in _user(shared_world, target).role_names
    types = [e.entry.type for e in shared_world.log.entries(0)]
    assert types.count("role.change_requested") >= 1
    assert types.count("role.change_applied") >= 1


def test_the_database_refuses_a_role_change_approved_by_its_requester(shared_world):
    session = _session(shared_world)
    admin = _user(shared_world, shared_world.accounts["admin-1"].email)
    target = _user(shared_world, shared_world.accounts["officer-2"].email)
    session.add(RoleChange(target_id=target.id, role="judge", action="grant",
                           requested_by=admin.id, approved_by=admin.id, status="applied",
                           requested_at=0.0))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    session.remove()
