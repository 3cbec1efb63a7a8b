"""S29 css-evade (docs/scenarios.md, docs/css_hashing.md): listed images that the scanner
misses after a black-box perturbation under an L-infinity budget, or after one crop, rotation
or mirror, measured by escrowlab.scenarios.css_evade."""

import math
import statistics

import numpy
import pytest

from escrow.css import images
from escrow.css.hashers import HASHERS, distance
from escrowlab.scenarios._hash_attacks import Oracle, climb, linf, listable, psnr
from escrowlab.scenarios.css_evade import QUICK
from escrowlab.scenarios.registry import get
from tests.attacks.records import outcome, run


def test_the_scenario_applies_to_css_only_and_every_record_holds():
    assert get("S29").modes == ("css",)
    records = run("S29", "css")
    assert sorted(o.variant for o in records) == sorted(
        f"{name}/{kind}" for name in HASHERS for kind in ("perturb", "edits"))
    assert [o.variant for o in records if not o.holds] == []


@pytest.mark.parametrize("name", list(HASHERS))
def test_evasion_stays_within_its_budget_and_grows_with_it(name):
    record = outcome("S29", "css", f"{name}/perturb")
    rows = record.details["per_eps"]
    assert [row["eps"] for row in rows] == list(QUICK["eps"])
    for row in rows:
        assert row["linf_max"] <= row["eps"]
        assert all(1 <= q <= QUICK["budget"] for q in row["queries"])
        assert row["evaded"] == sum(d > HASHERS[name].threshold for d in row["final_distances"])
    assert rows[-1]["rate"] >= 0.5 and rows[-1]["rate"] >= rows[0]["rate"]
    won = [row["psnr_mean"] for row in rows if row["psnr_mean"] is not None]
    assert won and all(25 <= value <= 100 for value in won)
    assert record.details["curve"] == [[r["eps"], r["rate"], r["psnr_mean"] or 0.0]
                                       for r in rows]


@pytest.mark.parametrize("name", list(HASHERS))
def test_work_is_log2_of_the_mean_queries_of_the_evasions_at_eps_8(name):
    record = outcome("S29", "css", f"{name}/perturb")
    row = next(r for r in record.details["per_eps"] if r["eps"] == 8)
    won = [q for q, d in zip(row["queries"], row["final_distances"], strict=True)
           if d > HASHERS[name].threshold]
    assert won
    assert record.metrics["work_log2"] == round(math.log2(statistics.mean(won)), 2)


def test_an_evading_image_really_is_missed_by_the_scanner():
    (_, image), = listable(1, seed=0, side=64)
    for name, hasher in HASHERS.items():
        oracle = Oracle(hasher)
        listed = oracle.digest(image)
        attempt = climb(oracle, image, listed, 16, 400, numpy.random.default_rng(1),
                        evade=True)
        assert attempt.success, name
        assert not oracle.matches(attempt.image, listed)
        assert linf(image, attempt.image) == attempt.linf <= 16
        # every pixel moved by the whole budget is the floor: 20 log10(255 / 16) dB
        assert attempt.psnr == psnr(image, attempt.image) >= 20 * math.log10(255 / 16)


def test_a_mirror_image_evades_every_hasher_and_recompression_none_of_the_64_bit_ones():
    for name in HASHERS:
        rates = outcome("S29", "css", f"{name}/edits").details["evasion_rate"]
        assert rates["mirror"] > 0.9, name
        assert rates["crop-20%"] > 0.8, name
        if HASHERS[name].bits == 64:
            assert rates["jpeg-q75"] == rates["resize-0.5"] == rates["brightness+25"] == 0.0


def test_pdq_at_31_misses_a_five_per_cent_crop_that_dhash_mostly_catches():
    pdq = outcome("S29", "css", "pdq/edits").details["evasion_rate"]
    dhash = outcome("S29", "css", "dhash/edits").details["evasion_rate"]
    assert pdq["crop-5%"] > 0.9 > 0.2 > dhash["crop-5%"]


def test_the_edit_rates_are_measured_on_the_listed_images():
    d = outcome("S29", "css", "phash/edits").details
    listed = listable(d["listed"], seed=0, side=d["side"])
    hasher = HASHERS["phash"]
    mirrored = sum(distance(hasher.hash(im), hasher.hash(images.mirror(im))) > 10
                   for _, im in listed)
    assert d["evasion_rate"]["mirror"] == round(mirrored / len(listed), 4)
