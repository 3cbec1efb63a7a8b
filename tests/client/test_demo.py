"""The narrated demo runs end to end and tells the truth about the archive."""

from __future__ import annotations

import json

import pytest

import escrowlab.demo as demo
from escrowlab.cli import main


def _run_json(capsys, *args: str) -> dict:
    assert main(["demo", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_none_in_process(capsys):
    summary = _run_json(capsys, "--messages", "3")
    assert summary["mode"] == "none" and summary["transport"] == "in-process"
    assert len(summary["direct"]["sends"]) == 3
    assert summary["group"]["members_after"] == ["alice", "bob"]
    archive = summary["archive"]
    assert archive["plaintext_hits_in_archive"] == 0
    assert archive["record_bytes_total"] == 0
    assert archive["entries"] == sum(archive["by_conversation"].values())
    first = summary["direct"]["sends"][0]
    assert sorted(e["recipient"] for e in first["envelopes"]) == ["bob:1", "bob:2"]


def test_demo_none_over_http(capsys):
    summary = _run_json(capsys, "--messages", "2", "--http")
    assert summary["transport"] == "http"
    assert summary["archive"]["plaintext_hits_in_archive"] == 0


def test_demo_narrates_in_human_form(capsys):
    assert main(["demo", "--messages", "2"]) == 0
    out = capsys.readouterr().out
    assert "What the provider's archive holds" in out
    assert "0 found" in out
    assert "bob:2 decrypts from alice:1" in out


def test_uninstalled_mode_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.setitem(demo.DEMO_MODES, "nosuch", "escrowlab.demo.nosuch")
    assert main(["demo", "--escrow", "nosuch"]) == 2
    assert "not installed" in capsys.readouterr().err


def test_mode_modules_may_add_arguments(capsys, monkeypatch):
    import types

    module = types.ModuleType("escrowlab.demo.fake")
    module.add_arguments = lambda parser: parser.add_argument("--fake-knob", type=int)
    module.run = lambda args, narrator: {"mode": "fake", "knob": args.fake_knob}
    monkeypatch.setitem(demo.DEMO_MODES, "fake", "escrowlab.demo.fake")
    monkeypatch.setattr(demo, "installed_modes", lambda: {"fake": "escrowlab.demo.fake"})
    monkeypatch.setattr(demo, "load_mode", lambda name: module)
    import escrowlab.commands.demo as command

    monkeypatch.setattr(command, "installed_modes", demo.installed_modes)
    monkeypatch.setattr(command, "load_mode", demo.load_mode)
    assert _run_json(capsys, "--escrow", "fake", "--fake-knob", "7") == {"mode": "fake",
                                                                          "knob": 7}


@pytest.mark.parametrize("bad", ["0", "x", "-1", "10001", "99999999999999999999"])
def test_bad_message_count_is_refused(bad, capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--messages", bad])
    assert "--messages" in capsys.readouterr().err


def test_help_states_the_message_range(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "1..10000" in " ".join(capsys.readouterr().out.split())
