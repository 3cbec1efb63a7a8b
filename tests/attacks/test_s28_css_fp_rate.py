"""S28 css-fp-rate (docs/scenarios.md, docs/css_hashing.md): innocent images flagged per image,
per pair and per account at each hasher's deployed threshold, measured by
escrowlab.scenarios.css_fp_rate on the stand-in corpus and its benign edits."""

import math

import pytest

from escrow.css import images
from escrow.css.hashers import HASHERS
from escrowlab.scenarios import _rates, css_fp_rate
from escrowlab.scenarios.registry import get
from tests.attacks.records import outcome, run


def test_the_scenario_applies_to_css_only_and_every_record_holds():
    assert get("S28").modes == ("css",)
    records = run("S28", "css")
    assert [o.variant for o in records] == list(HASHERS)
    assert [o.variant for o in records if not o.holds] == []


def test_no_user_image_shares_a_source_picture_with_a_listed_one():
    corpus = images.stand_in_images(30, seed=5, side=64)
    listed, user = css_fp_rate.split(corpus, seed=5)
    assert listed and user and len(listed) + len(user) == len(corpus)
    assert not {images.source_of(n) for n, _ in listed} & {images.source_of(n) for n, _ in user}


@pytest.mark.parametrize("name", list(HASHERS))
def test_the_counts_and_their_intervals_agree(name):
    record = outcome("S28", "css", name)
    d = record.details
    assert record.metrics["exposed_total"] == d["k"] <= d["n"]
    assert d["n"] == sum(c[1] for c in d["by_kind"].values())
    assert sum(c[0] for c in d["by_kind"].values()) == d["k"]
    low, high = d["per_image"]["interval_95"]
    assert low <= d["k"] / d["n"] <= d["per_image"]["upper_95"] <= high
    assert d["pairs"] == d["n"] * d["database"]
    assert d["pair_matches"] >= d["k"]
    for user_image, listed_image, distance in d["examples"]:
        assert distance <= d["threshold"]
        assert images.source_of(user_image) != images.source_of(listed_image)


def test_every_user_image_comes_with_each_benign_edit():
    d = outcome("S28", "css", "phash").details
    assert d["discarded_user"] == 0
    assert d["n"] % (1 + len(images.BENIGN_EDITS)) == 0
    assert d["edits"] == [edit for edit, _ in images.BENIGN_EDITS]


def test_flat_images_collide_under_dhash_while_no_photograph_is_flagged_by_phash_or_pdq():
    dhash = outcome("S28", "css", "dhash").details
    assert dhash["by_kind"]["gradient"][0] >= 1
    assert any(example[2] == 0 for example in dhash["examples"])
    for name in ("phash", "pdq"):
        assert outcome("S28", "css", name).details["photographs"]["k"] == 0


def test_pdq_discards_low_quality_hashes_on_both_sides():
    d = outcome("S28", "css", "pdq").details
    assert d["discarded_user"] >= 1 and d["discarded_listed"] >= 1
    assert d["distance_min"] > d["threshold"]


@pytest.mark.parametrize("name", list(HASHERS))
def test_the_account_level_follows_the_binomial_and_cannot_confirm_the_claim(name):
    d = outcome("S28", "css", name).details
    level = d["account"]
    assert level["t"] == 30 and level["claim"] == 1e-12
    if d["k"] == 0:
        assert d["per_image"]["upper_95"] == pytest.approx(1 - 0.05 ** (1 / d["n"]))
        assert d["per_image"]["upper_95"] == pytest.approx(3 / d["n"], rel=0.05)
    needed = level["per_image_rate_needed"]
    assert _rates.account_rate(needed, level["images_per_year"], 30) == pytest.approx(
        1e-12, rel=1e-3)
    assert level["clean_images_needed"] == pytest.approx(-math.log(0.05) / needed, rel=0.01)
    assert level["supports_claim"] == (level["rate_upper"] <= 1e-12)
    assert level["per_image_upper_deployed"] > 0.5
    assert level["supports_claim_deployed"] is False
    rates = [point[2] for point in d["curve"]]
    assert [point[0] for point in d["curve"]] == list(range(1, 41))
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))
