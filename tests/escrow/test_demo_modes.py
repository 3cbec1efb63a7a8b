"""``escrowlab demo --escrow leaf16`` and ``--escrow crumple``: the story runs end to end."""

import json

import pytest

from escrow.modes import MODES
from escrowlab.cli import main


def run_demo(capsys, *argv) -> dict:
    assert main(["demo", "--json", "--messages", "4", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_leaf16_demo_recovers_the_window_and_shows_a_forgery(capsys):
    summary = run_demo(capsys, "--escrow", "leaf16", "--leaf-width", "8")
    recovery = summary["recovery"]
    assert summary["mode"] == "leaf16"
    assert recovery["messages_recovered"] == recovery["messages_in_scope"] > 0
    assert len(recovery["agents_released_units"]) >= 2
    forgery = summary["forgery"]
    assert forgery["recipient_accepts"] and not forgery["lawful_recovery_succeeds"]
    assert forgery["expected_queries"] == 256
    assert summary["archive"]["plaintext_hits_in_archive"] == 0


def test_the_crumple_demo_recovers_the_window_and_reports_work(capsys):
    summary = run_demo(capsys, "--escrow", "crumple", "--puzzle-bits", "8")
    recovery = summary["recovery"]
    assert summary["mode"] == "crumple" and summary["puzzle_bits"] == 8
    assert recovery["messages_recovered"] == recovery["messages_in_scope"] > 0
    assert len(recovery["work_per_chain"]) == recovery["chains_recovered"]
    assert all(1 <= w <= 256 for w in recovery["work_per_chain"])
    assert recovery["archive_chains"] > recovery["chains_recovered"]


def test_the_narrated_leaf16_demo_names_blaze_and_the_agents(capsys):
    assert main(["demo", "--escrow", "leaf16", "--messages", "2", "--leaf-width", "8"]) == 0
    out = capsys.readouterr().out
    assert "Blaze" in out and "both agents release" in out


@pytest.mark.parametrize("argv", [["--puzzle-bits", "0"], ["--leaf-width", "12"],
                                  ["--puzzle-workers", "0"]])
def test_bad_mode_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--escrow", "crumple", *argv])
    assert exc.value.code == 2


COMPARABLE = ("messages_in_scope", "messages_recovered", "out_of_scope_recoverable")
# Small parameters for the registry's modes whose defaults take long (none are needed).
QUICK = {"leaf16": ["--leaf-width", "8"], "crumple": ["--puzzle-bits", "8"]}
# Every mode that gives someone the messages (css gives the provider vouchers, not messages).
ESCROWED = [(name, QUICK.get(name, [])) for name in MODES if name not in ("none", "css")]


@pytest.mark.parametrize("mode, options", ESCROWED)
def test_every_escrow_demo_reports_the_comparable_figures_at_the_top_level(mode, options,
                                                                           capsys):
    summary = run_demo(capsys, "--escrow", mode, *options)
    assert all(isinstance(summary[key], int) for key in COMPARABLE)
    assert summary["messages_recovered"] == summary["messages_in_scope"] > 0


@pytest.mark.parametrize("mode, options", ESCROWED)
def test_every_escrow_demo_runs_with_a_single_message_per_chat(mode, options, capsys):
    assert main(["demo", "--json", "--messages", "1", "--escrow", mode, *options]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mode"] == mode
