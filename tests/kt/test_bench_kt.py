"""``escrowlab bench kt --json`` prints its figures (docs/benchmarks.md); tiny sizes, no
timing asserted."""

import json

import pytest

from escrowlab.cli import main


def test_bench_kt_prints_every_figure_per_size(capsys):
    assert main(["bench", "kt", "--json", "--users", "50,200", "--changes", "10",
                 "--lookups", "5"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["benchmark"] == "kt" and doc["users"] == [50, 200]
    for users in (50, 200):
        for figure in ("build_s", "epoch_s", "lookups_per_s", "verify_ms", "verify_cold_ms",
                       "proof_bytes", "monitor_ms_per_epoch"):
            assert doc[f"{figure}_{users}"] > 0, figure
        assert doc[f"changes_{users}"] == 10
    assert doc["proof_bytes_50"] < doc["proof_bytes_200"] < 2048
    assert {t["figure"] for t in doc["targets"]} == {"proof_bytes_200", "verify_ms_200"}


def test_bench_kt_refuses_a_size_out_of_range(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "kt", "--users", "0"])
    assert exc.value.code == 2
