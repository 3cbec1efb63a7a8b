"""S30 css-frame (docs/scenarios.md, docs/css_hashing.md): innocuous images perturbed until the
scanner matches them to a listed hash, the queries it took, whether the collision survives an
independent second hash, and what framing an account at Apple's threshold costs, measured by
escrowlab.scenarios.css_frame."""

import math
import statistics

import numpy
import pytest

from escrow.css import images, vouchers
from escrow.css.hashers import HASHERS
from escrowlab.scenarios._hash_attacks import Oracle, climb
from escrowlab.scenarios.css_frame import QUICK, derivative, pairs
from escrowlab.scenarios.registry import get
from tests.attacks.records import outcome, run


def test_the_scenario_applies_to_css_only_and_every_record_holds():
    assert get("S30").modes == ("css",)
    assert [o.variant for o in run("S30", "css")] == list(HASHERS)
    assert [o.variant for o in run("S30", "css") if not o.holds] == []


def test_innocuous_and_listed_images_come_from_different_pictures():
    for (innocuous, _), (listed, _) in pairs(6, seed=0, side=32):
        assert images.source_of(innocuous) != images.source_of(listed)


@pytest.mark.parametrize("name", ["phash", "dhash", "ahash"])
def test_every_64_bit_hash_is_framed_within_the_budget(name):
    record = outcome("S30", "css", name)
    d = record.details
    won = [q for q, dist in zip(d["queries"], d["final_distances"], strict=True)
           if dist <= d["threshold"]]
    assert record.metrics["forged_accepted"] == len(won) >= 1
    assert record.metrics["work_log2"] == round(math.log2(statistics.mean(won)), 2)
    assert d["account"]["framed_images_needed"] == 30
    assert d["account"]["expected_queries"] == pytest.approx(
        30 * statistics.mean(won) / d["rate"])


def test_pdq_is_not_framed_at_the_quick_budget_and_stays_far_from_its_threshold():
    record = outcome("S30", "css", "pdq")
    assert record.metrics == {"forged_accepted": 0, "work_log2": None}
    assert min(record.details["final_distances"]) > 2 * record.details["threshold"]
    assert record.details["account"]["expected_queries"] is None


@pytest.mark.parametrize("name", list(HASHERS))
def test_the_success_curve_rises_to_the_measured_rate_and_nothing_transfers(name):
    d = outcome("S30", "css", name).details
    xs = [point[0] for point in d["curve"]]
    ys = [point[1] for point in d["curve"]]
    assert xs[0] == 0 and xs[-1] == QUICK["budget"]
    assert ys == sorted(ys) and ys[-1] == d["rate"]
    assert set(d["second_hash"]) == set(HASHERS) - {name}
    assert all(count == 0 for count in d["second_hash"].values())


def test_a_framed_image_really_matches_the_listed_hash_and_keeps_to_its_budget():
    ((_, innocuous), (_, listed)), = pairs(1, seed=0, side=64)
    oracle = Oracle(HASHERS["dhash"])
    target = oracle.digest(listed)
    assert not oracle.matches(innocuous, target)
    attempt = climb(oracle, innocuous, target, 32, 3000, numpy.random.default_rng(2),
                    evade=False)
    assert attempt.success and oracle.matches(attempt.image, target)
    assert attempt.linf <= 32


@pytest.mark.parametrize("name", list(HASHERS))
def test_the_review_stops_the_framed_images_and_passes_the_listed_ones(name):
    d = outcome("S30", "css", name).details
    review = d["review"]
    assert review["second_hash"] != name
    framed, control = review["framed"], review["control"]
    assert framed["derivatives"] == outcome("S30", "css", name).metrics["forged_accepted"]
    assert framed["second_hash_matches"] == framed["confirmed"] == 0
    assert framed["reported"] is False
    assert control["derivatives"] == control["second_hash_matches"] == control["confirmed"] \
        == QUICK["trials"]
    assert control["reported"] is True


def test_a_derivative_fits_a_voucher():
    ((_, innocuous), _), = pairs(1, seed=0, side=64)
    noisy = numpy.random.default_rng(0).integers(0, 256, innocuous.shape, dtype=numpy.uint8)
    for image in (innocuous, noisy):
        data = derivative(image)
        assert len(data) <= vouchers.DERIVATIVE_BYTES
        assert images.decode_image(data).shape == (48, 48)
