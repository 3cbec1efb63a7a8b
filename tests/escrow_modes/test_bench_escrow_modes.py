"""``escrowlab bench escrow-modes``: prints every issue-6 figure, validates its options."""

import json

import pytest

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


@pytest.mark.parametrize("argv", [["--widths", "12"], ["--puzzle-bits", "40"],
                                  ["--forgeries", "0"], ["--workers", "x"]])
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "escrow-modes", *argv])
    assert exc.value.code == 2
    assert "escrow-modes" in capsys.readouterr().err
