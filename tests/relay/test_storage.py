"""Durability of acknowledged writes (docs/architecture.md): SQLite ``synchronous=FULL`` unless
opted out."""

from __future__ import annotations

import argparse

from sqlalchemy import event

from escrowlab.commands.relay import register as register_relay_command
from messaging.relay import RelayService
from tests.relay.helpers import session_to

FULL, NORMAL = 2, 1  # PRAGMA synchronous answers


def _synchronous(service: RelayService) -> int:
    with service.engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA synchronous").scalar_one()


def test_a_file_backed_relay_fsyncs_every_commit_by_default(tmp_path):
    service = RelayService(f"sqlite:///{tmp_path / 'relay.sqlite'}")
    assert _synchronous(service) == FULL
    service.engine.dispose()


def test_normal_is_an_explicit_opt_in(tmp_path):
    service = RelayService(f"sqlite:///{tmp_path / 'relay.sqlite'}", sqlite_synchronous="NORMAL")
    assert _synchronous(service) == NORMAL
    service.engine.dispose()


def test_relay_serve_defaults_to_full_and_its_help_says_what_each_survives():
    parser = argparse.ArgumentParser()
    register_relay_command(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["relay", "serve"]).sqlite_synchronous == "FULL"
    assert parser.parse_args(["relay", "serve", "--sqlite-synchronous", "NORMAL"]) \
        .sqlite_synchronous == "NORMAL"
    serve = parser._subparsers._group_actions[0].choices["relay"]._subparsers \
        ._group_actions[0].choices["serve"]
    text = " ".join(serve.format_help().split())
    assert "FULL (default)" in text and "power loss" in text and "killed relay" in text


def test_sqlite_transactions_reuse_one_connection_instead_of_the_pool(relay, register):
    alice = register("alice:1")
    checkouts = []
    event.listen(relay.engine, "checkout", lambda *args: checkouts.append(1))
    for _ in range(5):
        alice.client.prekey_counts()
    assert checkouts == []


def test_hot_path_statements_run_on_the_sqlite_driver_not_through_sqlalchemy(relay, register):
    alice = register("alice:1")
    bob = register("bob:1")
    session = session_to(alice, bob)
    through_sqlalchemy = []
    event.listen(relay.engine, "before_cursor_execute",
                 lambda *args: through_sqlalchemy.append(args[2]))
    acknowledged = []
    for text in (b"one", b"two", b"three"):
        alice.client.send([session.encrypt(text)])
        [item], _ = bob.client.sync(acknowledged, limit=10)
        acknowledged = [item.id]
    assert bob.client.ack(acknowledged) == 1
    assert bob.client.fetch() == ([], False)
    assert through_sqlalchemy == []
