"""Smoke test of ``escrowlab bench messaging``: tiny N, every figure present and positive."""

from __future__ import annotations

import json
import sys

import pytest

from escrowlab.benchmarks import messaging
from escrowlab.cli import main

FIGURES = [f"{impl}_{mode}_msgs_per_s" for impl in ("ours", "peer", "vodozemac", "floor")
           for mode in ("burst", "pingpong")]
RATIOS = [f"ours_over_{other}_{mode}" for other in ("peer", "vodozemac", "floor")
          for mode in ("burst", "pingpong")]
BOUNDS = {"ours_over_peer_burst": 4.0, "ours_over_peer_pingpong": 2.0,
          "ours_over_vodozemac_burst": 0.9, "ours_over_vodozemac_pingpong": 1.0,
          "ours_over_floor_burst": 0.7, "ours_over_floor_pingpong": 0.8}


def test_json_has_every_figure_and_ratio_as_positive_numbers(capsys):
    assert main(["bench", "messaging", "--json", "--messages", "6", "--rounds", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in FIGURES + RATIOS:
        assert isinstance(result[key], float) and result[key] > 0, key
    assert result["ours_over_peer_burst"] == pytest.approx(
        result["ours_burst_msgs_per_s"] / result["peer_burst_msgs_per_s"])  # one round
    assert result["ours_over_peer_burst_rounds"] == [result["ours_over_peer_burst"]]
    assert result["ours_over_peer_burst_spread"] == 0
    assert result["messages"] == 6 and result["message_size"] == 1024
    assert isinstance(result["targets_met"], bool)
    verdicts = {t["figure"]: t for t in result["targets"]}
    assert set(verdicts) == set(RATIOS)
    for name, target in verdicts.items():
        assert target["bound"] == BOUNDS[name] and target["op"] == ">="
        assert target["met"] == (result[name] >= target["bound"])
    assert result["targets_met"] == all(t["met"] for t in verdicts.values())
    assert {p["name"] for p in result["peers"]} == {"doubleratchet", "x3dh", "vodozemac",
                                                    "cryptography"}
    assert all(p["version"] for p in result["peers"])  # every peer is installed ('bench')


def test_rounds_take_turns_of_ours_the_peers_and_the_floor_and_ratios_are_round_medians(
        monkeypatch):
    calls = []
    # seconds per turn of each implementation, per round (two turns a round: 200 messages)
    seconds = {"ours": [1.0, 2.0, 4.0], "peer": [4.0, 4.0, 4.0], "vodozemac": [1.0, 1.0, 2.0],
               "floor": [0.5, 1.0, 4.0]}
    setups = []

    def factory(name):
        def setup(mode):
            setups.append((name, mode))
            round_index = sum(1 for s in setups if s == (name, mode)) - 1

            def run(count):
                calls.append((name, mode, count))
                return seconds[name][round_index] / 2
            return run
        return setup

    monkeypatch.setattr(messaging, "TURN", 100)
    monkeypatch.setattr(messaging, "runners", lambda: {
        name: factory(name) for name in messaging.IMPLEMENTATIONS})
    result = messaging.measure(200, rounds=3)
    assert calls == [(name, mode, 100) for _ in range(3) for mode in messaging.MODES
                     for _turn in range(2) for name in messaging.IMPLEMENTATIONS]
    # per round ours/peer: 4, 2, 1 -> median 2; ours/floor: 0.5, 0.5, 1 -> median 0.5
    assert result["ours_over_peer_burst_rounds"] == [4.0, 2.0, 1.0]
    assert result["ours_over_peer_burst"] == 2.0
    assert result["ours_over_peer_burst_spread"] == pytest.approx((4.0 - 1.0) / 2.0)
    assert result["ours_over_floor_pingpong"] == 0.5
    assert result["ours_burst_msgs_per_s"] == 100.0  # median of 200, 100, 50 msgs/s
    assert result["peer_pingpong_msgs_per_s_rounds"] == [50.0, 50.0, 50.0]
    assert result["ours_over_vodozemac_burst_rounds"] == [1.0, 0.5, 0.5]


def test_the_last_turn_carries_what_is_left(monkeypatch):
    counts = []
    monkeypatch.setattr(messaging, "TURN", 4)
    monkeypatch.setattr(messaging, "runners", lambda: {
        name: (lambda mode: lambda count: counts.append(count) or 1.0)
        for name in messaging.IMPLEMENTATIONS})
    messaging.measure(10, rounds=1)
    assert counts == [n for _mode in messaging.MODES for n in (4, 4, 2)
                      for _name in messaging.IMPLEMENTATIONS]


def test_human_output_names_every_implementation_and_target(capsys):
    assert main(["bench", "messaging", "--messages", "4", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    for word in ("ours", "peer", "vodozemac", "floor", "burst", "pingpong", "target",
                 "interleaved", "spread"):
        assert word in out


def test_default_args_run_the_module_handler():
    args = messaging.default_args()
    assert args.func is messaging.run and args.messages > 0 and args.json is False


@pytest.mark.parametrize("count", ["0", "-3", "many", "100001"])
def test_a_bad_message_count_is_a_usage_error(count, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "messaging", "--messages", count])
    assert exit_info.value.code == 2
    assert "--messages" in capsys.readouterr().err


@pytest.mark.parametrize("impl", messaging.IMPLEMENTATIONS)
@pytest.mark.parametrize("mode", messaging.MODES)
def test_every_timed_loop_checks_each_decryption_across_turns(impl, mode, monkeypatch):
    checked = []
    real_check = messaging._check

    def counting_check(plaintext, expected, who):
        checked.append(who)
        real_check(plaintext, expected, who)

    monkeypatch.setattr(messaging, "_check", counting_check)
    run = messaging.runners()[impl](mode)
    checked.clear()  # the handshake's own checks
    assert run(4) > 0 and run(3) > 0  # the pair carries on from one turn to the next
    assert len(checked) == 7


def test_a_missing_vodozemac_is_a_clear_command_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "vodozemac", None)  # import vodozemac: ImportError
    assert main(["bench", "messaging", "--messages", "2", "--rounds", "1"]) == 2
    assert "bench messaging: the vodozemac peer needs the 'bench' extra" in \
        capsys.readouterr().err


def test_a_wrong_plaintext_stops_the_benchmark():
    with pytest.raises(RuntimeError, match="differs"):
        messaging._check(b"sent", b"received", "ours")


def test_a_failed_round_trip_is_a_clear_command_error(monkeypatch, capsys):
    def broken(mode):
        raise RuntimeError("ours: a decrypted message differs from what was sent")

    monkeypatch.setattr(messaging, "_ours_runner", broken)
    assert main(["bench", "messaging", "--messages", "2", "--rounds", "1"]) == 2
    err = capsys.readouterr().err
    assert "escrowlab: bench messaging: ours: a decrypted message differs" in err
