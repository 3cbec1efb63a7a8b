"""The particularity policy (authority_portal.warrants.policy): every limit refuses with
the reason, and all violations are listed at once."""

import pytest

from authority_portal.warrants.errors import PolicyError
from authority_portal.warrants.policy import ParticularityPolicy, is_wildcard
from tests.portal.warrant_helpers import DAY, T0, warrant


def test_the_reference_warrant_is_within_the_default_policy():
    ParticularityPolicy().check(warrant())


@pytest.mark.parametrize("change, message", [
    (dict(targets=tuple(f"C{i}" for i in range(6))), "6 targets; at most 5"),
    (dict(window_start=T0, window_end=T0 + 3650 * DAY), "window of 3650 days"),
    (dict(expires_at=T0 + 365 * DAY), "valid for 365 days"),
    (dict(targets=("dm:alice:*",)), "wildcard"),
    (dict(targets=("group:",)), "wildcard"),
    (dict(targets=("dm:alice:",)), "wildcard"),
])
def test_each_limit_refuses_with_its_reason(change, message):
    with pytest.raises(PolicyError, match=message):
        ParticularityPolicy().check(warrant(**change))


def test_every_violation_is_listed():
    broad = warrant(targets=tuple(f"C{i}*" for i in range(9)), window_start=T0,
                    window_end=T0 + 400 * DAY, expires_at=T0 + 400 * DAY)
    assert len(ParticularityPolicy().violations(broad)) == 4


def test_an_unlimited_policy_lets_anything_the_model_holds_through():
    ParticularityPolicy.unlimited().check(warrant(targets=("*",), window_start=0,
                                                  window_end=T0 + 3650 * DAY))


def test_direct_and_group_ids_are_not_wildcards():
    assert not is_wildcard("dm:alice:bob") and not is_wildcard("group:g1")
    assert not is_wildcard("C1") and is_wildcard("C?")


@pytest.mark.parametrize("terms", [dict(max_targets=0), dict(judges_required=4),
                                   dict(max_window=True), dict(forbid_wildcards=1)])
def test_a_policy_out_of_range_is_refused(terms):
    with pytest.raises(PolicyError):
        ParticularityPolicy(**terms)


def test_the_policy_round_trips_through_json():
    p = ParticularityPolicy(max_targets=2, judges_required=2)
    assert ParticularityPolicy.from_json(p.to_json()) == p
    with pytest.raises(PolicyError):
        ParticularityPolicy.from_json({**p.to_json(), "max_targets": "2"})
