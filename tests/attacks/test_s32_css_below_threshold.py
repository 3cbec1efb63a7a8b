"""S32 css-below-threshold (docs/scenarios.md, docs/css_matcher.md): what the provider's
matcher learns about an account's match count below t, measured by
escrowlab.scenarios.css_below_threshold over seeded accounts.

Expected outcome: without synthetic vouchers the count of opened vouchers is the true match
count (error 0); with them, the provider's best estimate errs (more as the rate grows) and
no derivative opens below t; at t real matching vouchers the derivatives open and the
synthetic vouchers are recognised."""

from __future__ import annotations

from escrowlab.scenarios.css_below_threshold import estimate
from escrowlab.scenarios.registry import get
from tests.attacks.records import outcome, run


def test_the_scenario_applies_to_css_only_and_every_variant_holds():
    assert get("S32").modes == ("css",)
    assert [o.variant for o in run("S32", "css") if not o.holds] == []


def test_without_synthetic_vouchers_the_provider_counts_matches_exactly():
    record = outcome("S32", "css", "rate=0.0")
    assert record.details["mean_abs_error"] == 0.0
    assert record.details["exact_fraction"] == 1.0
    assert record.metrics["exposed_total"] == 0


def test_synthetic_vouchers_make_the_estimate_err_and_open_nothing():
    low, high = outcome("S32", "css", "rate=0.1"), outcome("S32", "css", "rate=0.25")
    for record in (low, high):
        assert record.metrics["exposed_total"] == 0
        assert record.details["mean_abs_error"] > 0.5
        assert record.details["exact_fraction"] < 0.5
    assert high.details["mean_opened"] > low.details["mean_opened"]


def test_at_the_threshold_the_real_derivatives_open():
    record = outcome("S32", "css", "above-threshold/rate=0.25")
    (line,) = record.details["runs"]
    assert line["revealed"] is (line["real_matching_vouchers"] >= record.details["threshold"])
    assert record.metrics["exposed_total"] == line["derivatives"]


def test_the_estimator_is_unbiased_for_its_model():
    assert estimate(opened=3, received=20, rate=0.0) == 3
    assert estimate(opened=2 + 5, received=20, rate=0.25) == (7 - 5) / 0.75
