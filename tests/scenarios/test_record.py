"""Outcome records speak docs/scenarios.md's vocabulary, and the registry refuses misuse."""

from __future__ import annotations

import pytest

from escrowlab.scenarios.record import METRIC_NAMES, Outcome, OutcomeError
from escrowlab.scenarios.registry import Params, Scenario, ScenarioError, scenario
from tests.paths import PROJECT_ROOT


def outcome(**changes):
    fields = dict(scenario="S99", mode="none", variant="v", expected="e", holds=True,
                  metrics={"exposed_total": 0})
    fields.update(changes)
    return Outcome(**fields)


def test_the_metric_names_are_the_documented_ones():
    text = (PROJECT_ROOT / "docs" / "scenarios.md").read_text()
    section = text.split("## Measured quantities", 1)[1].split("##", 1)[0]
    assert all(f"`{name}`" in section for name in METRIC_NAMES)


@pytest.mark.parametrize("changes", [
    {"metrics": {"exposed": 1}},
    {"metrics": {"work_log2": float("nan")}},
    {"metrics": {"detectable": "the press"}},
    {"metrics": {"detectable": []}},
    {"metrics": {"exposed_total": object()}},
    {"details": {1: "x"}},
    {"holds": 1},
])
def test_a_record_outside_the_vocabulary_is_refused(changes):
    with pytest.raises(OutcomeError):
        outcome(**changes)


def test_a_record_round_trips_to_plain_json():
    record = outcome(metrics={"detectable": ["log", "witness"], "work_log2": 15.9},
                     details={"curve": [(1, 2)]})
    assert record.to_json()["metrics"] == {"detectable": ["log", "witness"], "work_log2": 15.9}
    assert record.to_json()["details"] == {"curve": [[1, 2]]}


def test_a_runner_may_only_report_its_own_scenario_and_mode():
    def runner(params, mode):
        return [outcome(scenario="S98", mode=mode)]

    entry = Scenario("S99", "test", "t", ("none",), runner)
    with pytest.raises(ScenarioError, match="S98"):
        entry.run("none", Params())
    with pytest.raises(ScenarioError, match="does not apply"):
        entry.run("threshold")


@pytest.mark.parametrize("args", [("S1", "x"), ("S01", "Bad Slug")])
def test_bad_ids_and_slugs_are_refused(args):
    with pytest.raises(ScenarioError):
        scenario(*args, title="t", modes=("none",))
