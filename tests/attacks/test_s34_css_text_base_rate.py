"""S34 css-text-base-rate (docs/scenarios.md; docs/css_text.md): a text detector that looks
excellent on a balanced lab set reports mostly innocent chats at a prevalence of 1 in
10,000 (``escrowlab.scenarios.css_text``), measured on a seeded synthetic population."""

import pytest

from escrowlab.scenarios.css_text import RULES, bayes_precision, clopper_pearson
from tests.attacks.records import outcome


@pytest.mark.parametrize("rule", list(RULES))
def test_lab_precision_is_high_and_deployed_precision_is_low(rule):
    record = outcome("S34", "css", rule)
    d = record.details
    assert record.holds
    assert d["lab_precision"] >= 0.9 and d["precision"] < 0.5
    assert d["population"] == 20_000 and d["targets"] == 2
    assert d["reports"] == d["true_reports"] + d["false_reports"]
    assert d["fpr"] == d["false_reports"] / (d["population"] - d["targets"])
    low, high = d["fpr_95"]
    assert low < d["fpr"] < high


def test_the_classifier_quoted_at_96_percent_accuracy_makes_tens_of_false_reports_per_true():
    d = outcome("S34", "css", "classifier 0.5").details
    assert d["lab_accuracy"] > 0.95 and d["lab_recall"] > 0.9
    assert d["true_reports"] >= 1 and d["false_reports_per_true_report"] > 10


def test_stricter_rules_trade_recall_for_false_reports_without_reaching_useful_precision():
    loose, strict = (outcome("S34", "css", r).details for r in ("classifier 0.5",
                                                                 "classifier 0.9"))
    assert strict["lab_recall"] < loose["lab_recall"]
    assert strict["false_reports"] < loose["false_reports"]
    one, two = (outcome("S34", "css", r).details for r in ("keywords",
                                                            "keywords, two families"))
    assert two["false_reports"] < one["false_reports"] and two["lab_recall"] < 1.0
    for d in (loose, strict, one, two):
        assert d["predicted_precision"]["1 in 10,000"] < 0.5


def test_predicted_precision_falls_with_prevalence():
    d = outcome("S34", "css", "classifier 0.5").details
    curve = list(d["predicted_precision"].values())
    assert curve == sorted(curve, reverse=True) and curve[-1] < 0.001


def test_the_arithmetic():
    assert bayes_precision(1.0, 0.0, 1e-4) == 1.0
    assert bayes_precision(0.0, 0.0, 1e-4) is None
    assert bayes_precision(0.9, 0.01, 1e-4) == pytest.approx(0.9e-4 / (0.9e-4 + 0.01 * 0.9999))
    assert clopper_pearson(0, 100) == (0.0, pytest.approx(0.0362, abs=1e-4))
    low, high = clopper_pearson(10, 100)
    assert low == pytest.approx(0.0490, abs=1e-4) and high == pytest.approx(0.1762, abs=1e-4)
