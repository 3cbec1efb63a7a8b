"""The relay on PostgreSQL: ids never reused, retries safe, an empty database needs ``init``.

Also: the archive opens read-only, and a database holding other tables is refused.
Each test gets a new, empty database on a real PostgreSQL server that the
``postgres_url`` fixture starts (``tests/postgres.py``).
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from messaging.client import Device
from messaging.clock import ManualClock
from messaging.relay import RelayArchive, RelayService, schema
from messaging.relay.errors import RelayDatabaseError
from tests.relay.helpers import LoseAnswers, table_counts


@pytest.fixture
def empty_database(postgres_url):
    engine = create_engine(postgres_url)
    assert inspect(engine).get_table_names() == [], "the test database must start empty"
    engine.dispose()
    return postgres_url


def test_postgresql_relay_reuses_no_id_and_stores_no_resent_envelope_twice(empty_database):
    with pytest.raises(RelayDatabaseError, match="pass --init"):
        RelayService(empty_database)
    clock = ManualClock()
    lossy = LoseAnswers(RelayService(empty_database, clock=clock, init=True))
    alice = Device.create("alice", 1, lossy, clock=clock, retry_for=5)
    bob = Device.create("bob", 1, lossy, clock=clock)
    for i in range(3):
        alice.send_text("bob", f"m{i}")
    lossy.lose[("POST", "/v1/messages/ack")] = 1
    assert [m.body for m in bob.receive()] == ["m0", "m1", "m2"]
    lossy.restart()
    lossy.lose[("POST", "/v1/messages")] = 1
    for i in range(3, 5):
        alice.send_text("bob", f"m{i}")  # the first one's answer is lost and it is resent
    assert [m.body for m in bob.receive_all()] == ["m3", "m4"]
    assert bob.duplicates == 0
    assert table_counts(lossy.service)["archive"] == 5
    lossy.service.close()


def test_postgresql_archive_is_read_only_and_a_foreign_database_is_refused(empty_database):
    RelayService(empty_database, init=True).close()
    archive = RelayArchive.open(empty_database)
    assert archive.entries() == []
    with pytest.raises(DBAPIError, match="read-only"), archive.engine.begin() as conn:
        conn.execute(schema.queue.delete())
    archive.engine.dispose()
    engine = create_engine(empty_database)
    schema.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE leaves (idx integer)"))
    try:
        for open_it in (lambda: RelayService(empty_database, init=True),
                        lambda: RelayArchive.open(empty_database)):
            with pytest.raises(RelayDatabaseError, match="not a relay database"):
                open_it()
        assert inspect(engine).get_table_names() == ["leaves"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE leaves"))
        engine.dispose()
