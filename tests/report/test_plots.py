"""The figures drawn from records other families register (S04's exposure over time, S10's
over-collection against r) appear when their records carry a curve, and the report says why
when they do not."""

from __future__ import annotations

from escrowlab.report import plots
from escrowlab.scenarios.record import Outcome


def _doc(scenario_id: str, variant: str, curve) -> dict:
    record = Outcome(scenario_id, "threshold", variant, "e", True, {"exposed_total": 1},
                     {"curve": curve}).to_json()
    return {"seed": 0, "full": False, "modes": ["none", "threshold"], "scenarios": [
        {"id": scenario_id, "slug": "x", "title": "t", "modes": ["threshold"],
         "runs": {"none": {"status": "n/a"},
                  "threshold": {"status": "ran", "outcomes": [record]}}}]}


def test_the_forward_secrecy_curve_is_drawn_from_s04_records(tmp_path):
    figure = plots.fs_plot(_doc("S04", "custodians", [[1, 3, 4], [2, 5, 6]]), tmp_path)
    assert isinstance(figure, plots.Plot) and figure.path.stat().st_size > 0


def test_the_over_collection_curve_is_drawn_from_s10_records(tmp_path):
    figure = plots.over_collection_plot(_doc("S10", "outside-window", [[1, 0.5], [4, 2.0]]),
                                        tmp_path)
    assert isinstance(figure, plots.Plot) and figure.path.name == "over_collection.png"


def test_a_missing_or_malformed_curve_is_skipped_with_its_reason(tmp_path):
    for draw, doc in ((plots.fs_plot, _doc("S01", "x", [])),
                      (plots.fs_plot, _doc("S04", "custodians", [["a"]])),
                      (plots.over_collection_plot, _doc("S10", "outside-window", "no"))):
        figure = draw(doc, tmp_path)
        assert isinstance(figure, plots.Skipped) and "not in this run" in figure.reason
    assert list(tmp_path.iterdir()) == []
