"""threat_model.md and docs/scenarios.md agree with the registry and the reference run.

The threat-by-mode table is generated from docs/attack-results.json
(``escrowlab attacks --update-docs``); these tests regenerate it and compare, check the
reference run against the registry (every registered scenario, its modes, nothing else),
re-run the quick scenarios to check their outcomes still match it, and check that every
threat row points at scenario ids that exist and test files that exist.
"""

from __future__ import annotations

import json
import re

import pytest

from escrowlab.report import results, threats
from escrowlab.scenarios.registry import Params, all_scenarios
from tests.paths import PROJECT_ROOT

REFERENCE = json.loads((PROJECT_ROOT / threats.REFERENCE).read_text())
MODEL = (PROJECT_ROOT / threats.THREAT_MODEL).read_text()
CATALOGUE = (PROJECT_ROOT / "docs" / "scenarios.md").read_text()
QUICK = ("S01", "S02", "S14", "S18", "S21", "S27")  # the fast ones, re-run here


def catalogue_rows() -> dict[str, tuple[str, str]]:
    """{id: (slug, status)} of docs/scenarios.md's catalogue (ranges such as S28–S35
    expanded)."""
    section = CATALOGUE.split("## Catalogue", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        match = re.fullmatch(r"S(\d\d)(?:[–-]S(\d\d))?", cells[0]) if cells else None
        if not match:
            continue
        first, last = int(match[1]), int(match[2] or match[1])
        for number in range(first, last + 1):
            rows[f"S{number:02d}"] = (cells[1], cells[-1])
    return rows


def test_the_generated_table_is_what_the_reference_run_gives():
    assert threats.current(MODEL) == threats.table(REFERENCE)
    assert threats.replace(MODEL, REFERENCE) == MODEL


def test_the_reference_run_covers_exactly_the_registry():
    registered = {s.id: list(s.modes) for s in all_scenarios()}
    assert {e["id"]: e["modes"] for e in REFERENCE["scenarios"]} == registered
    assert REFERENCE["schema"] == results.SCHEMA
    assert REFERENCE["seed"] == 0 and REFERENCE["full"] is False
    assert set(REFERENCE["modes"]) == set(results.all_modes())


@pytest.mark.parametrize("scenario_id", QUICK)
def test_a_fresh_run_of_the_quick_scenarios_gives_the_reference_outcomes(scenario_id):
    scenarios, modes = results.select([scenario_id], REFERENCE["modes"])
    fresh = results.run(scenarios, modes, Params(seed=0))
    reference = {**REFERENCE, "scenarios": [e for e in REFERENCE["scenarios"]
                                            if e["id"] == scenario_id]}
    assert threats.table(fresh) == threats.table(reference)


def test_the_table_needs_its_markers():
    with pytest.raises(threats.ThreatTableError):
        threats.replace("# no markers", REFERENCE)


def test_every_scenario_id_the_threat_model_names_exists():
    known = catalogue_rows()
    named = set(re.findall(r"\bS\d\d\b", MODEL))
    assert named and named <= set(known), sorted(named - set(known))
    assert not re.search(r"\bS\d\d-S\d\d\b", MODEL)  # ids listed one by one, never a range


def test_every_threat_row_points_at_tests_that_exist():
    section = MODEL.split("## Threats and where they are tested", 1)[1].split("\n## ", 1)[0]
    missing = []
    for path in re.findall(r"`(tests/[^`:]+\.py)(?:::[^`]*)?`", section):
        if not (PROJECT_ROOT / path).is_file():
            missing.append(path)
    assert missing == []


def test_every_registered_scenario_has_its_threat_row_test_and_report_row():
    section = MODEL.split("## Threats and where they are tested", 1)[1].split("\n## ", 1)[0]
    for entry in all_scenarios():
        row = next((line for line in section.splitlines()
                    if line.startswith(f"| {entry.id} |")), None)
        assert row is not None, entry.id
        assert f"tests/attacks/test_{entry.id.lower()}_" in row, entry.id
        assert f"{entry.id} {entry.slug}" in row, entry.id  # the report's row


def test_the_crumple_record_strip_test_is_named_by_the_s14_row():
    row = next(line for line in MODEL.splitlines() if line.startswith("| S14 |"))
    assert "tests/escrow/crumple/test_crumple.py::test_s14_" in row


def test_the_catalogue_status_agrees_with_the_registry():
    registered = {s.id: s.slug for s in all_scenarios()}
    rows = catalogue_rows()
    for scenario_id, (slug, status) in rows.items():
        assert status in ("tested", "planned"), (scenario_id, status)
        if status == "tested":
            assert registered.get(scenario_id) == slug, scenario_id
            assert list((PROJECT_ROOT / "tests" / "attacks").glob(
                f"test_{scenario_id.lower()}_*.py")), scenario_id
        else:
            assert scenario_id not in registered, f"{scenario_id} is registered: tested"
    assert set(registered) <= set(rows)
