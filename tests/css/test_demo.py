"""``escrowlab demo --escrow css``: the story runs end to end at a small threshold."""

import json

from escrowlab.cli import main


def test_the_css_demo_reports_the_threshold_the_review_an_evasion_and_a_framing(capsys):
    assert main(["demo", "--json", "--escrow", "css", "--voucher-threshold", "3",
                 "--synthetic-percent", "0"]) == 0
    summary = json.loads(capsys.readouterr().out)
    steps = summary["steps"]
    assert summary["mode"] == "css" and summary["voucher_threshold"] == 3
    assert steps["innocent"]["vouchers_opened"] == 0
    assert steps["below_threshold"]["vouchers_opened"] == 2
    assert steps["below_threshold"]["derivatives"] == 0
    assert steps["above_threshold"]["revealed"] and steps["above_threshold"]["derivatives"] == 3
    assert steps["review"] == {"derivatives": 3, "second_hash_matches": 3, "confirmed": 3,
                               "reports": 1}
    assert steps["no_order"]["scans"] == 0 and steps["no_order"]["cover_vouchers"] == 1
    assert steps["evasion"]["opened_after"] == steps["evasion"]["opened_before"]
    framing = steps["framing"]  # the seeded black-box search reaches dHash's threshold
    assert framing["framed"] and framing["distance_after"] <= framing["threshold"] \
        < framing["distance_before"] and framing["queries"] <= 4000
    assert framing["vouchers_opened_after"] == framing["vouchers_opened_before"]  # exact PSI
    assert framing["second_hash_distance"] > framing["second_hash_threshold"]


def test_the_narrated_css_demo_names_the_order_and_the_report(capsys):
    assert main(["demo", "--escrow", "css", "--voucher-threshold", "2"]) == 0
    out = capsys.readouterr().out
    assert "detection order" in out.lower() and "report" in out
