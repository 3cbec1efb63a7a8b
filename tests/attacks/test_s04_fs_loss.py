"""S04 fs-loss (docs/scenarios.md): a snapshot at time T of a device, of t custodians' keys,
or of both; and with the custodian set rotated every R days.

Pinned: under every mode a device copy opens no message received before T and nothing
after the device's next DH step; under ``none`` custodian keys open nothing, under every
escrow mode they open the whole archive whatever T (no forward secrecy, no healing);
rotation bounds the exposure to the epoch holding T, growing with R.
"""

import functools

import pytest

from escrowlab.scenarios.registry import Params, get

ESCROW = ("threshold", "leaf16", "crumple")


@functools.cache
def outcomes(mode: str) -> dict:
    return {o.variant: o for o in get("S04").run(mode, Params(seed=0))}


@pytest.mark.parametrize("mode", ("none", *ESCROW))
def test_a_device_snapshot_exposes_no_past_and_heals_at_the_next_dh_step(mode):
    device = outcomes(mode)["device"]
    assert device.holds
    for point in device.details["points"]:
        assert point["device"]["past"] == 0
        assert point["device"]["after_heal"] == 0
        assert 0 < point["device"]["future"] < point["archived"]["future"]


def test_none_custodian_keys_open_nothing():
    result = outcomes("none")
    assert result["custodians"].holds and result["custodians"].metrics["exposed_total"] == 0
    assert result["both"].metrics["exposed_total"] == result["device"].metrics["exposed_total"]
    assert "rotation" not in result


@pytest.mark.parametrize("mode", ESCROW)
def test_escrow_custodian_keys_open_the_whole_archive_whatever_t(mode):
    result = outcomes(mode)
    keys = result["custodians"]
    assert keys.holds and result["both"].holds
    archived = keys.details["archived"]
    assert keys.metrics["exposed_total"] == archived
    for point in keys.details["points"]:
        assert point["custodians"]["past"] == point["archived"]["past"]
        assert point["custodians"]["future"] == point["archived"]["future"]
        assert point["both"]["total"] == archived


@pytest.mark.parametrize("mode", ("threshold", "crumple"))
def test_rotation_bounds_the_exposure_to_the_epoch_holding_t(mode):
    rotation = outcomes(mode)["rotation"]
    assert rotation.holds
    curve = rotation.details["curve"]
    exposed = [count for _, count in curve]
    assert exposed == sorted(exposed) and exposed[0] > 0
    assert exposed[-1] < rotation.details["without_rotation"]
    for points in rotation.details["points_by_R"].values():
        for point in points:
            low, high = point["epoch_days"]
            assert low <= point["exposed_span_days"][0]
            assert point["exposed_span_days"][1] < high + 0.5  # one chain of r=2 at 4/day


def test_leaf16_unit_keys_cannot_rotate():
    assert "rotation" not in outcomes("leaf16")


@pytest.mark.parametrize("mode", ESCROW)
def test_under_escrow_a_device_copy_exposes_what_it_exposes_without(mode):
    assert outcomes(mode)["device"].details["curve"] == \
        outcomes("none")["device"].details["curve"]
