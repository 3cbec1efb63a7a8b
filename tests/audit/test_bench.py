"""``escrowlab bench audit`` runs end to end at a tiny size and prints the issue's keys."""

from __future__ import annotations

import json

from escrowlab.cli import main

KEYS = {"single_appends_per_s", "batch_appends_per_s", "inclusion_p95_ms",
        "consistency_p95_ms", "verify_us", "restart_ms", "full_verify_s"}


def test_bench_audit_json(tmp_path, capsys):
    assert main(["bench", "audit", "--entries", "300", "--singles", "20", "--dir",
                 str(tmp_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) >= KEYS
    assert figures["entries"] == 300 + 20 + 20  # N, then --singles fsync'ed and unsynced
    assert figures["durability"].startswith("power") and figures["single_appends_per_s_process"]
    assert figures["single_appends_per_s"] > 0 and figures["batch_appends_per_s"] > 0
    assert all(figures[k] >= 0 for k in KEYS)
