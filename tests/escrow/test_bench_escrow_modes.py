"""``escrowlab bench escrow-modes``: every leaf16 and crumple figure, and its options."""

import json
import sys

import pytest

from escrowlab.benchmarks import escrow_modes
from escrowlab.cli import main

KEYS = {
    "leaf_oracle_queries_per_s",
    "leaf_forgery_mean_queries",
    "leaf_forgery_expected_queries",
    "crumple_work_per_chain_k20",
    "crumple_seconds_per_chain_k20",
}


def test_the_benchmark_prints_the_issue_figures_as_json(capsys):
    assert main(["bench", "escrow-modes", "--json", "--forgeries", "1", "--chains", "1",
                 "--puzzle-bits", "8", "--widths", "8"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) >= KEYS
    assert figures["leaf_forgery_expected_queries"] == 65536
    assert figures["leaf_forgeries"] == 1
    assert 1 <= figures["crumple_work_per_chain_k20"] <= 2**20
    assert 1 <= figures["crumple_work_per_chain_k8"] <= 2**8
    assert figures["leaf_forgery_expected_queries_w8"] == 256


@pytest.mark.parametrize("argv", [["--widths", "12"], ["--widths", "32"], ["--widths", "x"],
                                  ["--puzzle-bits", "40"], ["--puzzle-bits", "30"],
                                  ["--puzzle-bits", "29"], ["--puzzle-bits", "7"],
                                  ["--puzzle-bits", "20,30"], ["--forgeries", "0"],
                                  ["--forgeries", "10001"], ["--chains", "1001"],
                                  ["--workers", "x"], ["--workers", "65"]])
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "escrow-modes", *argv])
    assert exc.value.code == 2
    assert f"escrow-modes: error: argument {argv[0]}" in capsys.readouterr().err


def test_the_help_states_the_ranges_the_parser_enforces(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "escrow-modes", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "each 8..28" in help_text and "one of 8, 16, 24" in help_text
    assert "1..64" in help_text and "1..10,000" in help_text


def test_the_widths_error_names_exactly_the_widths_it_accepts(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "escrow-modes", "--widths", "16,12"])
    err = capsys.readouterr().err
    assert "checksum widths must each be one of 8, 16, 24" in err and err.rstrip().endswith(
        "got 12")
    assert "8..32" not in err  # the old message offered a range it then refused


def test_json_carries_the_theory_targets_and_peers(capsys):
    assert main(["bench", "escrow-modes", "--json", "--forgeries", "1", "--chains", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    figures = {t["figure"]: t for t in doc["targets"]}
    assert set(figures) == {"leaf_forgery_mean_queries", "crumple_work_per_chain_k20"}
    assert figures["leaf_forgery_mean_queries"]["op"] == "in"
    assert figures["leaf_forgery_mean_queries"]["bound"] == doc["leaf_forgery_mean_interval_999"]
    assert {p["name"] for p in doc["peers"]} == {"theory", "cryptography"}


def test_long_work_announces_its_expected_duration_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["bench", "escrow-modes", "--forgeries", "2", "--chains", "1",
                 "--puzzle-bits", "8"]) == 0
    err = capsys.readouterr().err
    assert "leaf16: 2 forgeries at 16 bits" in err and "(expected " in err
    assert "crumple: 1 chains at k=20 with 1 worker(s) (expected " in err
    assert "chains at k=20 1/1" in err and "forgeries at 16 bits 1/2" in err and "left" in err


def test_the_crumple_interval_is_the_uniform_answers_mean():
    low, high = escrow_modes.crumple_work_interval(20, 1)
    assert low == 1 and high == 2**20
    low, high = escrow_modes.crumple_work_interval(20, 10_000)
    assert low < 2**19 < high and high - low < 2**20 / 20
