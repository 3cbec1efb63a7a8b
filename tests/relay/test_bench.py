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
