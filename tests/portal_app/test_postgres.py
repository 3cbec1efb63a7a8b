"""The portal on a real PostgreSQL server (docs/portal.md, "Storage"): the lifecycle runs
and the separation-of-duties constraints hold there as in SQLite. The ``postgres_url``
fixture starts the server from Debian's binaries (``tests/postgres.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import IntegrityError

from authority_portal.app.models import Decision, RoleChange, User, Warrant
from tests.portal_app.helpers import (
    Client,
    approve_by_judge,
    approve_by_operator,
    file_warrant,
    make_world,
    operator_signature,
)


def test_the_portal_runs_a_case_on_postgresql_with_its_constraints(postgres_url, tmp_path):
    world = make_world(tmp_path / "pg", database_url=postgres_url)
    try:
        engine = world.app.extensions["portal"].engine
        assert engine.dialect.name == "postgresql"
        assert {"warrant", "decision", "role_change", "portal_user"} <= set(
            inspect(engine).get_table_names())
        officer = Client(world.app, world.accounts["officer-1"])
        judge = Client(world.app, world.accounts["judge-1"])
        reference = file_warrant(world, officer)["reference"]
        approve_by_judge(world, judge, reference)
        first = Client(world.app, world.accounts["operator-1"])
        signature = operator_signature(world, first, reference, 1)
        for number in (1, 2, 3):
            assert approve_by_operator(world, reference, number).status_code == 200
        view = officer.get(f"/api/v1/officer/warrants/{reference}/recovered").json
        assert view["messages_recovered"] == view["messages_in_scope"] > 0
        again = first.post(f"/api/v1/custodian/warrants/{reference}/approval",
                           json={"signature": signature})
        assert again.status_code == 409

        session = world.app.extensions["portal"].session
        warrant = session.scalar(select(Warrant).where(Warrant.reference == reference))
        session.add(Decision(warrant_id=warrant.id, officer_id=warrant.officer_id,
                             user_id=warrant.officer_id, kind="judge", outcome="approve",
                             decided_at=0.0))
        with pytest.raises(IntegrityError, match="ck_decision_not_filing_officer"):
            session.flush()
        session.rollback()
        admin = session.scalar(select(User).where(
            User.email == world.accounts["admin-1"].email))
        session.add(RoleChange(target_id=admin.id, role="judge", action="grant",
                               requested_by=admin.id, status="pending", requested_at=0.0))
        with pytest.raises(IntegrityError, match="ck_role_change_not_self"):
            session.flush()
        session.rollback()
        session.remove()
    finally:
        world.close()
    outside = create_engine(postgres_url)
    with outside.connect() as connection:
        stored = connection.exec_driver_sql("SELECT status FROM warrant").scalars().all()
    outside.dispose()
    assert stored == ["recovered"]
