"""``escrowlab bench escrow`` prints every figure docs/benchmarks.md names (no timed assertions)."""

import json
import statistics
from importlib import metadata

import pytest

from escrowlab.benchmarks import escrow as bench
from escrowlab.cli import main

KEYS = {"record_create_us", "record_verify_us", "floor_record_us", "burst_ratio",
        "pingpong_ratio", "recovery_msgs_per_s", "create_over_floor", "verify_over_floor",
        "targets_met"}
MODE_KEYS = {"leaf_oracle_queries_per_s", "leaf_forgery_mean_queries",
             "crumple_work_per_chain_k20", "crumple_seconds_per_chain_k20"}


def test_the_benchmark_prints_its_figures_as_json(capsys):
    assert main(["bench", "escrow", "--records", "5", "--messages", "12", "--rounds", "3",
                 "--custodians", "3", "--threshold", "2", "--forgeries", "1", "--chains", "1",
                 "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) >= KEYS | MODE_KEYS
    assert (results["custodians"], results["threshold"]) == (3, 2)
    assert all(results[k] > 0 for k in (KEYS | MODE_KEYS) - {"targets_met"})
    verdicts = {t["figure"]: t for t in results["targets"]}
    assert set(verdicts) == {"create_over_floor", "verify_over_floor", "burst_ratio",
                             "pingpong_ratio", "leaf_forgery_mean_queries",
                             "crumple_work_per_chain_k20"}
    for name, bound in (("create_over_floor", 1.2), ("verify_over_floor", 1.2),
                        ("burst_ratio", 0.95), ("pingpong_ratio", 0.25)):
        assert verdicts[name]["bound"] == bound
        op = verdicts[name]["op"]
        assert verdicts[name]["met"] == (results[name] <= bound if op == "<=" else
                                         results[name] >= bound)
    assert results["targets_met"] == all(t["met"] for t in verdicts.values())
    peers = {p["name"]: p["version"] for p in results["peers"]}
    assert peers["shamir-mnemonic"] == metadata.version("shamir-mnemonic")
    assert peers["cryptography"] == metadata.version("cryptography") and "theory" in peers


def test_each_ratio_is_the_median_of_its_interleaved_rounds_with_their_spread(capsys):
    assert main(["bench", "escrow", "--records", "4", "--messages", "6", "--rounds", "3",
                 "--custodians", "3", "--threshold", "2", "--threshold-only", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["rounds"] == 3
    for name in ("create_over_floor", "verify_over_floor", "burst_ratio", "pingpong_ratio"):
        rounds = results[f"{name}_rounds"]
        assert len(rounds) == 3 and all(r > 0 for r in rounds)
        assert results[name] == statistics.median(rounds)
        assert results[f"{name}_spread"] == pytest.approx(
            (max(rounds) - min(rounds)) / statistics.median(rounds))


def test_each_figure_is_timed_beside_its_baseline_round_after_round(monkeypatch):
    calls = []
    monkeypatch.setattr(bench, "CHUNK", 2)
    escrow_turns = iter([2.0, 2.0, 1.5, 1.5, 0.5, 0.5, 1.5, 1.5])  # per round: burst, ping-pong
    monkeypatch.setattr(bench, "TURN", 3)
    monkeypatch.setattr(bench, "_time_floor", lambda cset, batch: calls.append("floor") or 0.5)
    monkeypatch.setattr(bench, "_timed", lambda work: calls.append("ours") or 1.0)
    monkeypatch.setattr(bench, "_pair", lambda hook, clock: (hook.mode, None, None, None))
    monkeypatch.setattr(bench, "time_sessions", lambda mode_of, bob, mode, count, size, check:
                        calls.append((mode, mode_of, count))
                        or (1.0 if mode_of == "none" else next(escrow_turns)))
    monkeypatch.setattr(bench, "_time_recovery", lambda d, m: calls.append("recovery") or 1.0)
    deployment = bench.THRESHOLD_MODE.deployment(custodians=3, threshold=2)
    results = bench.measure(deployment, 4, 5, 2)
    one_round = ["floor", "ours", "ours"] * 2 + [
        (mode, hook, count) for mode in ("burst", "pingpong") for count in (3, 2)
        for hook in ("none", "threshold")] + ["recovery"]
    assert calls == one_round * 2
    assert results["create_over_floor_rounds"] == [2.0, 2.0]  # per round 2 x 1.0 / 2 x 0.5
    assert results["burst_ratio_rounds"] == [0.5, 2.0] and results["burst_ratio"] == 1.25
    assert results["burst_ratio_spread"] == pytest.approx(1.5 / 1.25)
    assert results["pingpong_ratio"] == pytest.approx(2 / 3)


def test_the_floor_times_the_primitive_calls_of_one_ephemeral_key_per_record(monkeypatch):
    loads = []
    real = bench.X25519PrivateKey.from_private_bytes
    monkeypatch.setattr(bench.X25519PrivateKey, "from_private_bytes",
                        lambda data: loads.append(data) or real(data))
    cset = bench.THRESHOLD_MODE.deployment(custodians=5, threshold=3).custodian_set
    assert bench._time_floor(cset, [bench._context(i) for i in range(4)]) > 0
    assert len(loads) == 4


def test_the_human_output_and_the_defaults(capsys):
    assert main(["bench", "escrow", "--records", "3", "--messages", "11", "--rounds",
                 "1", "--threshold-only"]) == 0
    out = capsys.readouterr().out
    assert "record create" in out and "ping-pong ratio" in out and "recovery" in out
    assert "interleaved rounds" in out and "spread" in out
    defaults = bench.default_args()
    assert (defaults.custodians, defaults.threshold) == (5, 3)
    assert defaults.func is bench.run


def test_a_refused_set_is_a_clear_error(capsys):
    assert main(["bench", "escrow", "--threshold", "1"]) == 2
    assert "t=1 refused" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--custodians", "17"], ["--custodians", "1"],
                                  ["--records", "100001"], ["--messages", "0"],
                                  ["--rounds", "101"], ["--forgeries", "10001"],
                                  ["--chains", "0"]])
def test_every_count_outside_its_range_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "escrow", *argv])
    assert exit_info.value.code == 2
    assert f"argument {argv[0]}" in capsys.readouterr().err
