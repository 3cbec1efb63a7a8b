"""``escrowlab attacks`` writes the report docs/scenarios.md ("The report") describes, from the
registry, with the results.json of docs/formats.md; the HTML is self-contained and every
figure and table loads in Chromium."""

from __future__ import annotations

import fcntl
import json
import re

import pytest

from escrowlab.cli import main
from escrowlab.report import results
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, Scenario, all_scenarios

QUICK = "S02,S27"


@pytest.fixture(scope="module")
def report(request, tmp_path_factory):
    """One small run per test session: under pytest-xdist the workers share it (the
    session's base directory, under a lock) instead of each running it."""
    shared = hasattr(request.config, "workerinput")
    root = tmp_path_factory.getbasetemp().parent if shared else tmp_path_factory.mktemp("r")
    out = root / "attacks-report"
    with open(root / "attacks-report.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "report.html").exists():
            assert main(["attacks", "--only", QUICK, "--seed", "7", "--cost-messages", "20",
                         "--out", str(out)]) == 0
    return out


def test_the_report_files_are_written(report):
    names = {p.name for p in report.iterdir()}
    assert {"report.md", "report.html", "results.json", "matrix.png", "coalitions.png",
            "cost.png"} <= names
    assert "exposure.png" not in names  # S01 was not selected: the report says so


def test_results_json_follows_its_schema(report):
    doc = json.loads((report / "results.json").read_text())
    assert doc["schema"] == results.SCHEMA and doc["seed"] == 7 and doc["full"] is False
    assert [s["id"] for s in doc["scenarios"]] == QUICK.split(",")
    assert set(doc["environment"]) >= {"python", "platform", "machine", "cpus", "packages"}
    for entry in doc["scenarios"]:
        assert set(entry["runs"]) == set(doc["modes"])
        for mode, run in entry["runs"].items():
            assert run["status"] == ("ran" if mode in entry["modes"] else "n/a")
            for o in run.get("outcomes", []):
                assert set(o) == {"scenario", "mode", "variant", "expected", "holds",
                                  "metrics", "details"}
    assert set(doc["cost"]["modes"]) == set(doc["modes"])


def test_the_markdown_holds_the_matrix_and_says_how_it_was_measured(report):
    text = (report / "report.md").read_text()
    assert "| scenario | none | threshold | leaf16 | crumple |" in text
    assert re.search(r"\| S02 cust-collude \| ✓ 1/1 hold .*\| ✓ 2/2 hold", text)
    assert "seed 7" in text and "Python " in text and "cryptography " in text
    assert "Not drawn: S15 (leaf-forge) under leaf16 was not run." in text
    assert "Not drawn: S01 (cust-single) was not run." in text


def test_the_html_is_self_contained(report):
    page = (report / "report.html").read_text()
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)=["'](?!data:image/png;base64,)""", page)
    assert page.count("data:image/png;base64,") == 3  # matrix, coalitions, cost


def test_unknown_scenarios_or_modes_are_refused_and_nothing_is_written(tmp_path, capsys):
    for argv in (["--only", "S99"], ["--modes", "clipper"]):
        assert main(["attacks", *argv, "--out", str(tmp_path / "r")]) == 2
        assert "unknown" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_every_registered_scenario_is_selected_by_default():
    scenarios, modes = results.select()
    assert [s.id for s in scenarios] == [s.id for s in all_scenarios()]
    assert {"none", "threshold", "leaf16", "crumple"} <= set(modes)


def test_a_scenario_that_raises_is_reported_and_the_run_goes_on():
    def broken(params, mode):
        raise RuntimeError("lost its keys")

    def fine(params, mode):
        return [Outcome("S98", mode, "v", "e", True, {"exposed_total": 0})]

    doc = results.run([Scenario("S97", "broken", "t", ("none",), broken),
                       Scenario("S98", "fine", "t", ("none",), fine)], ("none", "threshold"),
                      Params())
    first, second = doc["scenarios"]
    assert first["runs"]["none"] == {"status": "error", "seconds": first["runs"]["none"][
        "seconds"], "error": "RuntimeError: lost its keys"}
    assert second["runs"]["none"]["outcomes"][0]["holds"] is True
    assert second["runs"]["threshold"] == {"status": "n/a"}
    assert [c["status"] for _, cells in results.matrix(doc) for c in cells.values()] == [
        "error", "n/a", "holds", "n/a"]


def test_the_same_seed_gives_the_same_records():
    scenarios, _ = results.select(["S01", "S27"])

    def records():
        doc = results.run(scenarios, ("threshold", "leaf16"), Params(seed=3))
        return [(mode, run["outcomes"]) for entry in doc["scenarios"]
                for mode, run in entry["runs"].items()]

    assert records() == records()


def test_the_browser_loads_every_figure_and_table(report, page, tmp_path):
    page.goto((report / "report.html").as_uri())
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => [e.alt, e.complete && e.naturalWidth > 0])")
    assert len(images) == 3 and all(loaded for _, loaded in images), images
    for table in ("matrix", "coalitions", "cost", "records-S02", "records-S27"):
        assert page.locator(f"table#{table} tbody tr").count() > 0, table
    assert page.locator("table#matrix tbody tr").count() == 2
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
