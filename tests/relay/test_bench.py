"""The relay benchmark runs end to end on tiny parameters (figures are not asserted)."""

from __future__ import annotations

import json

from escrowlab.cli import main


def test_bench_relay_prints_every_key(capsys):
    assert main(["bench", "relay", "--json", "--pairs", "1,2", "--messages", "5",
                 "--threads", "8"]) == 0
    figures = json.loads(capsys.readouterr().out)
    for count in (1, 2):
        assert figures[f"http_msgs_per_s_{count}"] > 0
        assert figures[f"http_p99_ms_{count}"] >= figures[f"http_p50_ms_{count}"] > 0
    assert figures["inprocess_msgs_per_s"] > 0


def test_bench_relay_refuses_too_few_threads(capsys):
    assert main(["bench", "relay", "--pairs", "50", "--threads", "8"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_bench_relay_runs_several_processes_on_postgresql(postgres_url, capsys):
    assert main(["bench", "relay", "--json", "--pairs", "1,2", "--messages", "4",
                 "--threads", "8", "--db", postgres_url, "--processes", "1,2"]) == 0
    figures = json.loads(capsys.readouterr().out)
    for processes in (1, 2):
        for count in (1, 2):
            key = f"_{count}_p{processes}"
            assert figures[f"http_msgs_per_s{key}"] > 0
            assert figures[f"http_p99_ms{key}"] >= figures[f"http_p50_ms{key}"] > 0
    assert figures["processes"] == [1, 2] and figures["database"] == "PostgreSQL"
    assert {t["figure"] for t in figures["targets"]} == {"http_msgs_per_s_50_p1",
                                                          "http_p99_ms_50_p1"}


def test_bench_relay_processes_need_postgresql(capsys):
    assert main(["bench", "relay", "--processes", "2"]) == 2
    assert "--db postgresql" in capsys.readouterr().err
    assert main(["bench", "relay", "--db", "sqlite:///x.db"]) == 2
    assert "PostgreSQL URL" in capsys.readouterr().err
