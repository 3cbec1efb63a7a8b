"""The harness's own machinery: the JSON writer, the mutators, weighting, shrinking,
saved reproducers and the ``escrowlab fuzz`` command."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from escrowlab.fuzz import select, target_names
from escrowlab.fuzz.core import CRASH, Target, TargetStats, allocate, classify, run_target
from escrowlab.fuzz.mutate import MAX_INPUT_BYTES, Mutator, Pairs, Raw, dump_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() |
    st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_dump_json_writes_what_json_reads_back(value):
    assert json.loads(dump_json(value)) == value


def test_dump_json_writes_what_json_dumps_cannot():
    assert dump_json(Pairs((("a", 1), ("a", 2)))) == '{"a":1,"a":2}'
    assert dump_json({"n": Raw("9" * 5000)}).count("9") == 5000
    assert dump_json("\ud800") == '"\\ud800"'
    deep = dump_json(Raw("[" * 100_000 + "]" * 100_000))
    assert len(deep) == 200_000


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=512), st.randoms(use_true_random=False))
def test_byte_mutation_is_bounded_and_differs_mostly(data, rng):
    out = Mutator(rng).havoc(data, [b"other seed"])
    assert isinstance(out, bytes) and len(out) <= MAX_INPUT_BYTES


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES, st.randoms(use_true_random=False))
def test_json_mutation_always_yields_bytes(value, rng):
    out = Mutator(rng).json_bytes(value)
    assert isinstance(out, bytes) and len(out) <= MAX_INPUT_BYTES


def test_weights_split_the_inputs_and_every_target_gets_some():
    targets = [Target(n, "", (ValueError,), [b""], lambda d: None, lambda m: b"", weight=w)
               for n, w in (("fast", 3), ("slow", 0.1), ("mid", 1))]
    shares = allocate(targets, 10_000)
    assert sum(shares.values()) == 10_000
    assert shares["fast"] > shares["mid"] > shares["slow"] > 0


def test_a_crash_is_shrunk_and_saved_with_a_replay_command(tmp_path):
    def run(data: bytes):
        if b"!" in data:
            raise KeyError("boom")
        raise ValueError("refused")

    target = Target("demo.target", "", (ValueError,), [b"abc"], run,
                    lambda m: b"x" * 50 + b"!" + b"y" * 50)
    stats = TargetStats("demo.target", 1)
    run_target(target, 5, random.Random(0), stats, tmp_path)
    assert stats.crashes == 5
    (finding,) = stats.findings.values()
    assert finding.data == b"!" and finding.count == 5
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert saved["exception"] == "KeyError"
    assert saved["replay"].startswith("escrowlab fuzz --targets demo.target --replay ")
    assert next(tmp_path.glob("*.bin")).read_bytes() == b"!"
    assert classify(target, b"!").kind == CRASH


def test_targets_cover_every_parser_family():
    names = set(target_names())
    for prefix in ("messaging.envelope", "messaging.session.", "messaging.respond.",
                   "messaging.bundle", "messaging.upload", "messaging.prekey_state",
                   "messaging.session_state", "messaging.trust_record", "messaging.store_rows",
                   "messaging.content", "escrow.record", "escrow.leaf", "escrow.hook.",
                   "escrow.release", "escrow.authorisation", "escrow.custodian_set",
                   "escrow.keystore", "audit.note", "audit.checkpoint", "audit.cosigned",
                   "audit.receipt", "audit.entry", "audit.evidence", "audit.witness",
                   "audit.witness_state", "audit.log_store", "audit.append_request",
                   "css.voucher", "css.table", "css.database", "css.image", "css.order",
                   "css.logged_order",
                   "messaging.relay_answer",
                   "relay.http"):
        assert any(n.startswith(prefix) for n in names), prefix
    assert select(["escrow.hook"]) == ["escrow.hook.crumple", "escrow.hook.leaf16",
                                       "escrow.hook.threshold"]
    assert select(["audit.*"]) == sorted(n for n in names if n.startswith("audit."))


def test_the_command_runs_selected_targets_and_reports_json(capsys):
    from escrowlab.cli import main
    code = main(["fuzz", "--inputs", "40", "--targets", "escrow.record,audit.checkpoint",
                 "--json", "--seed", "3"])
    report = json.loads(capsys.readouterr().out)
    assert [t["target"] for t in report["targets"]] == ["audit.checkpoint", "escrow.record"]
    assert report["totals"]["inputs"] == 40
    assert "weighting" in report and report["weights"]["escrow.record"] == 2
    for t in report["targets"]:
        assert {"inputs", "refusals", "crashes", "state_changes", "inputs_per_second"} <= set(t)
    assert code == (1 if report["totals"]["crashes"] or report["totals"]["state_changes"]
                    else 0)


def test_the_command_refuses_an_unknown_target(capsys):
    from escrowlab.cli import main
    assert main(["fuzz", "--targets", "nothing.here"]) == 2
    assert "no target matches" in capsys.readouterr().err


def test_an_input_that_runs_past_the_deadline_is_a_hang_and_the_target_is_then_skipped():
    from escrowlab.fuzz.core import MAX_HANGS, Deadline

    def run(data: bytes):
        while True:
            pass

    target = Target("demo.hang", "", (ValueError,), [b"x"], run, lambda m: b"x")
    stats = TargetStats("demo.hang", 1)
    run_target(target, 10, random.Random(0), stats, shrink_findings=True,
               deadline=Deadline(0.05))
    assert stats.crashes == MAX_HANGS and stats.hangs == MAX_HANGS
    assert stats.skipped == 10 - MAX_HANGS
    (finding,) = stats.findings.values()
    assert finding.exception == "InputTimeout"


def test_the_sweep_replaces_every_node_and_flags_what_no_strict_parser_accepts():
    from escrowlab.fuzz.mutate import SWEEP_VALUES, json_paths, json_sweep
    from escrowlab.fuzz.targets_messaging import json_mutator
    seed = {"version": 1, "payload": {"n": 2}, "ids": [3, "x"]}
    assert len(json_paths(seed)) == 7
    must_refuse: dict[bytes, str] = {}
    items = list(json_sweep([seed], must_refuse))
    assert len(items) == 7 * len(SWEEP_VALUES) + 6
    assert sorted(must_refuse.values()) == ["1.0 accepted for the version version",
                                            "true accepted for the integer ids.0",
                                            "true accepted for the integer version"]
    lax = Target("demo.lax", "", (ValueError,), [json.dumps(seed).encode()],
                 lambda data: json.loads(data), json_mutator([json.dumps(seed).encode()]))
    stats = TargetStats("demo.lax", 1)
    run_target(lax, 400, random.Random(1), stats, shrink_findings=False)
    assert {f.frame for f in stats.findings.values()} >= {
        "true accepted for the integer version", "1.0 accepted for the version version"}
