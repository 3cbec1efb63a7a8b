"""S35 css-order-scope (docs/scenarios.md; docs/css.md): scanning and reporting outside a
detection order's users, window, database version or scope (texts under an images-only
order), through the real hook, client, relay and matcher
(``escrowlab.scenarios.css_order_scope``), for the honest hook and for a modified provider
build that ignores orders."""

import pytest

from escrowlab.scenarios.css_order_scope import CASES, THRESHOLD
from tests.attacks.records import outcome, run

OUT_OF_SCOPE = [case for case in CASES if case != "in scope"]


def test_every_case_of_both_builds_holds():
    records = run("S35", "css")
    assert len(records) == 2 * len(CASES)
    assert all(r.holds for r in records), [r.variant for r in records if not r.holds]


@pytest.mark.parametrize("case", OUT_OF_SCOPE)
def test_the_honest_hook_scans_and_reports_nothing_outside_the_order(case):
    record = outcome("S35", "css", f"honest/{case}")
    assert record.metrics["exposed_out_of_scope"] == 0
    assert record.details["scanned"] == record.details["reported"] == 0
    assert record.details["delivered"] == record.details["vouchers"] == THRESHOLD


def test_inside_the_order_every_image_is_scanned_and_reported():
    record = outcome("S35", "css", "honest/in scope")
    assert record.details["scanned"] == record.metrics["exposed_total"] == THRESHOLD


@pytest.mark.parametrize("case", OUT_OF_SCOPE)
def test_a_build_that_ignores_orders_reports_everything_and_nobody_sees_it(case):
    record = outcome("S35", "css", f"modified provider build/{case}")
    assert record.metrics == {"exposed_total": THRESHOLD, "exposed_out_of_scope": THRESHOLD,
                              "detectable": "none"}
    assert record.details["scanned_out_of_scope"] == THRESHOLD
    assert len(record.details["voucher_sizes"]) == 1  # cover and scanned vouchers alike
