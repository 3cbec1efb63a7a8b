"""S32 css-below-threshold (docs/scenarios.md, docs/css_matcher.md): what the provider's
matcher learns about an account's match count below t, measured by
escrowlab.scenarios.css_below_threshold over seeded accounts.

Expected outcome: without synthetic vouchers the count of opened vouchers is the true match
count (error 0); with them, the provider's best estimate errs (more as the rate grows) and
no derivative opens below t; at t real matching vouchers the derivatives open and the
synthetic vouchers are recognised; with r real matching vouchers and s synthetic ones the
Reed-Solomon decoder opens the account when r - s >= t, and below that bound only the
bounded subset search can (docs/css_matcher.md, "Decoding through synthetic shares")."""

from __future__ import annotations

from escrow.css import matcher
from escrowlab.scenarios.css_below_threshold import decoder_bound, estimate
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
    assert line["opened_by"] == ([matcher.SEARCH] if line["revealed"] else [])
    assert line["combinations"] > 0 and line["decodings"] > 0


def test_at_the_decoders_bound_the_account_opens_and_below_it_the_decoder_cannot():
    record = outcome("S32", "css", "decoder-bound")
    threshold = record.details["threshold"]
    for line in record.details["at_bound"]:
        assert line["real_matching_vouchers"] - line["synthetic_issued"] == threshold
        assert line["revealed"] and line["derivatives"] == line["real_matching_vouchers"]
        assert line["known_synthetic"] == line["synthetic_issued"]
    for line in record.details["below_bound"]:
        assert line["real_matching_vouchers"] - line["synthetic_issued"] == threshold - 1
        assert matcher.DECODER not in line["opened_by"]
    # at t = 6 the search is cheap: it opens an account as soon as t real vouchers are in,
    # before the decoder's bound is reached
    assert all(line["opened_by"] == [matcher.SEARCH]
               and line["opened_after_vouchers"] == threshold + line["synthetic_issued"]
               for line in record.details["below_bound"])


def test_without_synthetic_vouchers_the_decoder_opens_at_t():
    (line, *_) = outcome("S32", "css", "decoder-bound").details["at_bound"]
    assert line["synthetic_issued"] == 0 and line["opened_by"] == [matcher.DECODER]
    assert line["opened_after_vouchers"] == line["real_matching_vouchers"]
    assert line["combinations"] == 0


def test_the_decoder_opens_where_the_bounded_search_gives_up():
    # what happens at t = 30 (docs/css_matcher.md), in small: 4 synthetic vouchers, then 10
    # real ones, t = 6, and a search bound of 5 subsets per voucher: the search gives up at
    # every voucher, and the decoder opens the account at the last one (r - s = t)
    line = decoder_bound(6, 10, 4, seed=1, max_combinations=5)
    assert line["opened_by"] == [matcher.DECODER] and line["opened_after_vouchers"] == 14
    assert line["derivatives"] == 10 and line["known_synthetic"] == 4
    # the decoder ran at each of the 9 vouchers from the 6th; the search after the 8 that
    # failed, and the first of those had a single subset to try
    assert line["decodings"] == 9 and line["gave_up"] == 7
    below = decoder_bound(6, 9, 4, seed=1, max_combinations=5)
    assert not below["revealed"] and below["opened_by"] == [] and below["derivatives"] == 0


def test_the_estimator_is_unbiased_for_its_model():
    assert estimate(opened=3, received=20, rate=0.0) == 3
    assert estimate(opened=2 + 5, received=20, rate=0.25) == (7 - 5) / 0.75
