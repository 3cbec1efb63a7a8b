"""``escrowlab relay`` commands: clear errors, and the archive listing."""

from __future__ import annotations

import json

from escrowlab.commands.relay import main
from messaging.client import Device
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport


def test_archive_lists_metadata_only(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'relay.sqlite'}"
    relay = RelayService(url)
    transport = InProcessTransport(relay)
    alice = Device.create("alice", 1, transport)
    Device.create("bob", 1, transport)
    alice.send_text("bob", "top secret")
    relay.engine.dispose()
    assert main(["archive", "--db", url, "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)["entries"]
    assert (entry["sender"], entry["recipient"], entry["conversation_id"]) == \
        ("alice:1", "bob:1", "dm:alice:bob")
    assert entry["record_bytes"] == 0 and entry["envelope_bytes"] > 0
    assert main(["archive", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "1 archived envelopes" in out and "top secret" not in out


def test_serve_refuses_bad_arguments(capsys):
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["serve", "--db", "nosuchdialect://x", "--port", "0"]) == 2
    assert "cannot open the relay database" in capsys.readouterr().err


def test_archive_of_a_missing_sqlite_file_is_an_error_and_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "typo.sqlite"
    assert main(["archive", "--db", f"sqlite:///{missing}"]) == 2
    assert f"no relay database at {missing}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
