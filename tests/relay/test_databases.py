"""The relay writes only into its own database (docs/relay.md, "Storage").

``RelayService``, ``relay serve``, ``relay archive`` and ``RelayArchive.open``
refuse a database without the relay's schema (an audit log, an empty file, a
file of random bytes, another program's SQLite file, a relay database of
another format version) with a clear error, and leave the file byte for byte
as it was. The schema is created only in a new database or, with ``--init``,
an existing empty one. The archive is opened read-only.
"""

from __future__ import annotations

import ast
import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

import escrowlab.commands.relay as relay_command
from audit.storage import LogStore
from escrowlab.commands.relay import main
from messaging.client import Device
from messaging.relay import RelayArchive, RelayService, schema
from messaging.relay.errors import RelayDatabaseError
from messaging.relay.inprocess import InProcessTransport
from tests.relay.server import start_relay, stop_relay


def _audit_log(path) -> None:
    with LogStore(path, create=True) as log:
        log.append(b"an audit entry")


def _other_program(path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE devices (address TEXT)")  # a name the relay also uses
    conn.commit()
    conn.close()


def _older_relay(path) -> None:
    RelayService(f"sqlite:///{path}").engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE relay_schema SET version = 1")
    conn.commit()
    conn.close()


def _first_format_relay(path) -> None:
    RelayService(f"sqlite:///{path}").engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE relay_schema")  # as the relay made them before it had one
    conn.commit()
    conn.close()


def _incomplete_relay(path) -> None:
    RelayService(f"sqlite:///{path}").engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE queue")
    conn.commit()
    conn.close()


FOREIGN = {
    "audit log": (_audit_log, "not a relay database"),
    "empty file": (lambda path: path.write_bytes(b""), "empty"),
    "random bytes": (lambda path: path.write_bytes(os.urandom(4096)), "not a readable SQLite"),
    "other program": (_other_program, "the tables devices"),
    "older relay": (_older_relay, "format version 1"),
    "first-format relay": (_first_format_relay, "format version 1"),
    "incomplete relay": (_incomplete_relay, "lacks queue"),
}


def _snapshot(directory) -> dict[str, str]:
    """Digests of the database files (and its WAL). The ``-shm`` file is SQLite's wal-index,
    shared memory every reader updates; it holds no content (https://sqlite.org/walformat.html)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir()) if not p.name.endswith("-shm")}


@pytest.fixture(params=sorted(FOREIGN))
def foreign(request, tmp_path):
    make, words = FOREIGN[request.param]
    path = tmp_path / "other.sqlite"
    make(path)
    return path, words, _snapshot(tmp_path)


def test_the_relay_service_refuses_a_foreign_database_and_leaves_it_unchanged(foreign):
    path, words, before = foreign
    for init in (False, True):
        if init and words == "empty":
            continue  # --init is for exactly this case (below)
        with pytest.raises(RelayDatabaseError, match=words):
            RelayService(f"sqlite:///{path}", init=init)
    assert _snapshot(path.parent) == before


def test_the_archive_refuses_a_foreign_database_and_leaves_it_unchanged(foreign):
    path, words, before = foreign
    with pytest.raises(RelayDatabaseError, match=words):
        RelayArchive.open(f"sqlite:///{path}")
    assert _snapshot(path.parent) == before


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["serve", "--port", "0", "--init"],
                                     ["archive"], ["archive", "--json"]])
def test_relay_commands_refuse_a_foreign_database_and_leave_it_unchanged(
        foreign, capsys, command):
    path, words, before = foreign
    if "--init" in command and words == "empty":
        pytest.skip("--init creates the schema in an empty file (tested below)")
    assert main([*command, "--db", f"sqlite:///{path}"]) == 2
    err = capsys.readouterr().err
    assert "refusing the relay database" in err and words in err
    assert _snapshot(path.parent) == before


def test_init_creates_the_schema_in_an_empty_file_only(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(RelayDatabaseError, match="pass --init"):
        RelayService(f"sqlite:///{empty}")
    RelayService(f"sqlite:///{empty}", init=True).engine.dispose()
    assert RelayArchive.open(f"sqlite:///{empty}").entries() == []


def test_relay_serve_init_serves_an_empty_file(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    process, _ = start_relay(f"sqlite:///{empty}", 0, 2, "--init")
    stop_relay(process)
    assert RelayArchive.open(f"sqlite:///{empty}").conversations() == []


def test_serve_help_explains_init(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--init" in text and "EMPTY database" in text and "always refused" in text


def test_a_new_file_gets_the_schema_and_an_existing_relay_database_reopens(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    relay = RelayService(url)
    transport = InProcessTransport(relay)
    Device.create("bob", 1, transport)
    relay.engine.dispose()
    again = RelayService(url)
    assert RelayArchive(again.engine).identity("bob:1")


def test_opening_the_archive_is_read_only_and_changes_no_byte(tmp_path):
    url = f"sqlite:///{tmp_path / 'relay.sqlite'}"
    relay = RelayService(url)
    transport = InProcessTransport(relay)
    alice = Device.create("alice", 1, transport)
    Device.create("bob", 1, transport)
    alice.send_text("bob", "archived")
    relay.engine.dispose()
    before = _snapshot(tmp_path)
    archive = RelayArchive.open(url)
    assert len(archive.entries("dm:alice:bob")) == 1
    with pytest.raises(OperationalError, match="readonly"), archive.engine.begin() as conn:
        conn.execute(schema.queue.delete())
    archive.engine.dispose()
    assert _snapshot(tmp_path) == before


def test_a_missing_file_is_an_archive_error_and_is_not_created(tmp_path):
    with pytest.raises(RelayDatabaseError, match="no relay database"):
        RelayArchive.open(f"sqlite:///{tmp_path / 'typo.sqlite'}")
    with pytest.raises(RelayDatabaseError, match="in-memory"):
        RelayArchive.open("sqlite://")
    assert list(tmp_path.iterdir()) == []


def test_an_archive_over_a_foreign_engine_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    _other_program(path)
    with pytest.raises(RelayDatabaseError, match="not a relay database"):
        RelayArchive(create_engine(f"sqlite:///{path}"))


# A database that cannot be opened at all is the relay's own error too, with a clear message
# (the commands catch only RelayDatabaseError): a missing driver, a missing directory, a path
# the operating system or SQLite refuses, an unknown dialect or driver. Passwords never show.
UNOPENABLE = {
    "missing driver": ("postgresql+pg8000://relay:hunter2@127.0.0.1:1/relay",
                       "database driver is not installed"),
    "unknown driver": ("sqlite+nodriver:///{tmp}/relay.sqlite", "Can't load plugin"),
    "no directory": ("sqlite:///{tmp}/no/such/dir/relay.sqlite", "there is no directory"),
    "name too long": ("sqlite:///{tmp}/" + "x" * 300 + ".sqlite", "File name too long"),
    "NUL byte": ("sqlite:///{tmp}/a\0b.sqlite", "embedded null byte"),
}


@pytest.mark.parametrize("case", sorted(UNOPENABLE))
def test_a_database_that_cannot_be_opened_is_a_relay_database_error(tmp_path, case, capsys):
    url, words = UNOPENABLE[case]
    url = url.format(tmp=tmp_path)
    with pytest.raises(RelayDatabaseError, match=words) as info:
        RelayService(url)
    assert "cannot" in str(info.value) and "hunter2" not in str(info.value)
    assert main(["serve", "--port", "0", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "refusing the relay database" in err and words in err and "hunter2" not in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_archive_command_translates_a_missing_driver(capsys):
    assert main(["archive", "--db", "mysql+mysqldb://relay:hunter2@127.0.0.1:1/relay"]) == 2
    err = capsys.readouterr().err
    assert "refusing the relay database" in err and "driver is not installed" in err
    assert "hunter2" not in err


def test_an_engine_that_cannot_connect_is_a_relay_database_error(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/no/such/dir/relay.sqlite")
    with pytest.raises(RelayDatabaseError, match="cannot open the relay database"):
        RelayService(engine=engine)
    with pytest.raises(RelayDatabaseError, match="cannot open the relay database"):
        RelayArchive(engine)


def test_the_relay_commands_catch_only_the_relays_errors():
    """No broad ``except`` in ``escrowlab relay``: the relay translates its own errors."""
    tree = ast.parse(Path(relay_command.__file__).read_text(encoding="utf-8"))
    caught = {ast.unparse(handler.type) for handler in ast.walk(tree)
              if isinstance(handler, ast.ExceptHandler) and handler.type is not None}
    bare = [h for h in ast.walk(tree) if isinstance(h, ast.ExceptHandler) and h.type is None]
    assert not bare and not caught & {"Exception", "BaseException"}
