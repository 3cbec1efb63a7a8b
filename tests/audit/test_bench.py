"""``escrowlab bench audit`` runs end to end at a tiny size and prints the keys that
docs/benchmarks.md names."""

from __future__ import annotations

import json

import pytest

from escrowlab.benchmarks import audit as bench
from escrowlab.cli import main

KEYS = {"single_appends_per_s", "single_append_p99_ms", "concurrent_appends_per_s",
        "concurrent_append_p99_ms", "leaves_per_commit", "batch_appends_per_s", "inclusion_p95_ms",
        "consistency_p95_ms", "verify_us", "restart_ms", "full_verify_s"}


def test_bench_audit_json(tmp_path, capsys):
    assert main(["bench", "audit", "--entries", "300", "--singles", "20", "--dir",
                 str(tmp_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) >= KEYS
    # N, then --singles fsync'ed from one client, from 16 concurrent clients, and unsynced
    assert figures["entries"] == 300 + 3 * 20
    assert figures["leaves_per_commit"] >= 1 and figures["concurrent_appends_per_s"] > 0
    assert figures["durability"].startswith("power") and figures["single_appends_per_s_process"]
    assert figures["single_appends_per_s"] > 0 and figures["batch_appends_per_s"] > 0
    assert all(figures[k] >= 0 for k in KEYS)
    verdicts = {t["figure"]: t for t in figures["targets"]}
    assert set(verdicts) == set(bench.TARGETS)
    assert all(t["verdict"] in ("met", "missed") for t in verdicts.values())
    assert {p["name"] for p in figures["peers"]} == {"Tessera", "pymerkle"}
    assert figures["sqlite_version"]


@pytest.mark.parametrize("argv", [["--entries", "1"], ["--entries", "10000001"],
                                  ["--singles", "0"], ["--singles", "x"]])
def test_bench_audit_ranges_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "audit", *argv])
    assert exit_info.value.code == 2
    assert f"argument {argv[0]}" in capsys.readouterr().err


def test_bench_audit_never_replaces_an_existing_file(tmp_path, capsys):
    existing = tmp_path / "bench-300.db"
    existing.write_bytes(b"someone's data")
    assert main(["bench", "audit", "--entries", "300", "--singles", "2", "--dir",
                 str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert existing.read_bytes() == b"someone's data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench-300.db"]


def test_bench_audit_refuses_a_dir_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    assert main(["bench", "audit", "--entries", "300", "--dir", str(blocker)]) == 2
    assert "cannot use --dir" in capsys.readouterr().err and blocker.read_bytes() == b"x"
