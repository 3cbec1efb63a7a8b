"""``escrowlab crash``: its table, JSON, exit status and argument checks."""

from __future__ import annotations

import json

import pytest

import escrowlab.crash.runner as runner
from escrowlab.cli import main
from escrowlab.crash.outcome import COUNTS, Outcome


def test_json_run_reports_every_count_per_kind_and_exits_0(capsys):
    assert main(["crash", "--trials", "1", "--kinds", "audit-api", "lost-answer",
                 "--seed", "3", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["ok"] is True and report["seed"] == "3" and report["trials"] == 1
    assert set(report["kinds"]) == {"audit-api", "lost-answer"}
    for row in report["kinds"].values():
        assert {*COUNTS, "trials", "seconds", "seconds_per_trial", "problems"} <= set(row)
        assert row["trials"] == 1 and row["acknowledged"] > 0
    assert "about" in captured.err and "left" in captured.err  # progress with an estimate


def test_a_lost_item_makes_the_table_say_so_and_the_exit_status_1(capsys, monkeypatch):
    def losing(kind, seed, index) -> Outcome:
        outcome = Outcome(acknowledged=5)
        outcome.problem("lost", "entry 3 missing")
        return outcome

    monkeypatch.setattr(runner, "run_trial", losing)
    assert main(["crash", "--trials", "2", "--kinds", "relay", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    row = next(line for line in captured.out.splitlines() if line.startswith("relay"))
    assert row.split()[:4] == ["relay", "2", "10", "2"]
    assert "relay trial 0: lost: entry 3 missing" in captured.out
    assert "FAILED" in captured.out


def test_help_names_every_kind_and_count(capsys):
    with pytest.raises(SystemExit):
        main(["crash", "--help"])
    out = capsys.readouterr().out
    for word in (*runner.KINDS, "--trials", "--kinds", "--seed", "--json", "lost", "corrupt",
                 "restarts"):
        assert word in out


@pytest.mark.parametrize("argv", [["--trials", "0"], ["--trials", "x"], ["--kinds", "disk"]])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["crash", *argv])
    assert exit_.value.code == 2
