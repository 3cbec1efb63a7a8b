"""S33 css-client-bypass (docs/scenarios.md; docs/css.md): a modified client or two agreeing
endpoints against the real messenger, hooks and matcher (``escrowlab.scenarios.css_bypass``),
under both recipient policies."""

import pytest

from escrowlab.scenarios.css_bypass import ATTACH, FLOOD, POLICIES, THRESHOLD
from tests.attacks.records import outcome, run

REQUIRES, ACCEPTS = POLICIES


def test_every_variant_runs_under_both_policies_and_holds():
    records = run("S33", "css")
    assert len(records) == len(ATTACH) * len(POLICIES)
    assert all(r.holds for r in records), [r.variant for r in records if not r.holds]


@pytest.mark.parametrize("policy", POLICIES)
def test_the_honest_client_is_opened_at_t(policy):
    record = outcome("S33", "css", f"honest/{policy}")
    assert record.metrics["exposed_total"] == THRESHOLD and record.details["scans"] == THRESHOLD


def test_stripping_is_caught_only_by_a_recipient_that_requires_vouchers():
    strict = outcome("S33", "css", f"stripped/{REQUIRES}")
    lax = outcome("S33", "css", f"stripped/{ACCEPTS}")
    assert strict.metrics == {"exposed_total": 0, "forged_accepted": 0,
                              "detectable": "recipient"}
    assert strict.details["refused"] == THRESHOLD
    assert lax.metrics == {"exposed_total": 0, "forged_accepted": THRESHOLD,
                           "detectable": "none"}


@pytest.mark.parametrize("policy", POLICIES)
def test_garbage_is_refused_by_recipient_and_matcher_but_a_well_formed_lie_passes(policy):
    garbage = outcome("S33", "css", f"garbage/{policy}")
    assert garbage.metrics["detectable"] == "recipient" and garbage.details["delivered"] == 0
    assert garbage.details["provider_malformed"] == THRESHOLD
    for variant in ("bit-flipped", "cover-only", "mirrored", "pre-encrypted-text"):
        record = outcome("S33", "css", f"{variant}/{policy}")
        assert record.metrics == {"exposed_total": 0, "forged_accepted": THRESHOLD,
                                  "detectable": "none"}, variant
    assert outcome("S33", "css", f"bit-flipped/{policy}").details["provider_malformed"] == \
        THRESHOLD
    assert outcome("S33", "css", f"cover-only/{policy}").details["provider_malformed"] == 0


def test_floods_do_not_hide_the_matches():
    text = outcome("S33", "css", f"text-flood/{REQUIRES}")
    assert text.details["refused"] == FLOOD and text.metrics["exposed_total"] == THRESHOLD
    synthetic = outcome("S33", "css", f"synthetic-flood/{REQUIRES}")
    assert synthetic.details["vouchers_opened"] == FLOOD + THRESHOLD
    assert synthetic.metrics["exposed_total"] == THRESHOLD
    assert synthetic.details["combinations"] > 1


def test_pre_encryption_needs_another_channel_than_an_image_and_alteration_depends_on_hash():
    image = outcome("S33", "css", f"pre-encrypted-image/{REQUIRES}")
    assert image.details["refused_at_sender"] == THRESHOLD and image.details["sent"] == 0
    text = outcome("S33", "css", f"pre-encrypted-text/{REQUIRES}")
    assert text.details["scans"] == 0 and text.details["vouchers_received"] == 0
    assert outcome("S33", "css", f"one-pixel/{REQUIRES}").metrics["exposed_total"] == THRESHOLD
