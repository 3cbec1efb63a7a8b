"""Concurrent requests' log appends (docs/portal.md, "The audit trail"): each gets the
receipt of its own entry under a quorum-cosigned checkpoint; the portal's SQLite file
runs in WAL mode with every commit fsynced."""

from __future__ import annotations

import threading

from sqlalchemy import text

from audit.receipt import verify_receipt


def test_concurrent_appends_each_get_a_witnessed_receipt_of_their_own_entry(world):
    log = world.log
    receipts: dict[int, object] = {}

    def append(number):
        receipts[number] = log.append("test.concurrent", f"actor-{number}", {"n": number})

    threads = [threading.Thread(target=append, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(receipts) == list(range(12))
    assert len({r.index for r in receipts.values()}) == 12
    for number, receipt in receipts.items():
        verify_receipt(receipt, log.log_key, log.witness_keys, log.threshold)
        entry = receipt.event()
        assert (entry.type, entry.actor, dict(entry.payload)) == \
            ("test.concurrent", f"actor-{number}", {"n": number})


def test_the_portal_database_file_is_in_wal_mode(world):
    with world.app.extensions["portal"].engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2
