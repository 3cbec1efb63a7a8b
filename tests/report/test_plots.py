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


def _css_doc(scenario_id: str, records: list[tuple[str, dict]]) -> dict:
    outcomes = [Outcome(scenario_id, "css", variant, "e", True, {}, details).to_json()
                for variant, details in records]
    return {"seed": 0, "full": False, "modes": ["none", "css"], "scenarios": [
        {"id": scenario_id, "slug": "x", "title": "t", "modes": ["css"],
         "runs": {"none": {"status": "n/a"},
                  "css": {"status": "ran", "outcomes": outcomes}}}]}


def test_the_css_figures_are_drawn_per_hasher_from_s28_s29_s30_records(tmp_path):
    evasion = _css_doc("S29", [
        ("phash/perturb", {"curve": [[2, 0.25, 44.0], [16, 1.0, 30.5]], "threshold": 10}),
        ("pdq/perturb", {"curve": [[2, 0.0, 0.0], [16, 0.75, 31.0]], "threshold": 31}),
        ("pdq/edits", {"evasion_rate": {"mirror": 1.0}})])
    framing = _css_doc("S30", [("dhash", {"curve": [[0, 0.0], [750, 0.5], [1500, 1.0]]}),
                               ("pdq", {"curve": [[0, 0.0], [1500, 0.0]]})])
    account = _css_doc("S28", [("ahash", {"curve": [[1, 1.0, 1.0, 1.0], [30, 1e-40, 1e-9,
                                                                          1.0]]})])
    for draw, doc, name in ((plots.evasion_plot, evasion, "css_evasion.png"),
                            (plots.framing_plot, framing, "css_framing.png"),
                            (plots.account_fp_plot, account, "css_account_fp.png")):
        figure = draw(doc, tmp_path)
        assert isinstance(figure, plots.Plot) and figure.path.name == name
        assert figure.path.stat().st_size > 0
    assert "99.9%" in plots.evasion_plot(evasion, tmp_path).caption


def test_the_css_figures_say_why_they_are_missing(tmp_path):
    for draw in (plots.evasion_plot, plots.framing_plot, plots.account_fp_plot):
        figure = draw(_doc("S04", "custodians", [[1, 3, 4]]), tmp_path)
        assert isinstance(figure, plots.Skipped) and "not in this run" in figure.reason
    malformed = _css_doc("S30", [("dhash", {"curve": [["a", "b"]]}), ("pdq", {"curve": []})])
    assert isinstance(plots.framing_plot(malformed, tmp_path), plots.Skipped)
    assert isinstance(plots.evasion_plot(_css_doc("S29", [("pdq/edits", {"curve": [[1, 2]]})]),
                                         tmp_path), plots.Skipped)
    assert list(tmp_path.iterdir()) == []
