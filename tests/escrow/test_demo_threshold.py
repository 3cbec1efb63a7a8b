"""``escrowlab demo --escrow threshold``: the narrated recovery runs end to end."""

import json

from escrowlab.cli import main


def test_the_demo_recovers_exactly_its_window_and_reports_over_collection(capsys):
    assert main(["demo", "--escrow", "threshold", "--custodians", "4", "--threshold", "2",
                 "--messages", "6", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mode"] == "threshold"
    assert summary["messages_recovered"] == summary["messages_in_scope"] > 0
    assert summary["out_of_scope_recoverable"] >= 0
    assert summary["custodians_released"] == ["K1", "K2"]
    assert "1 authentic release(s) of this chain under the authorisation, 2 needed" \
        in summary["below_threshold"]
    assert summary["chain_outcomes"]["recovered"] == summary["records_in_scope"]
    assert summary["out_of_scope_computed_against"]["scope"] == "whole archived conversation"
    assert summary["archive"]["plaintext_hits_in_archive"] == 0
    sent = {s["text"] for s in summary["direct"]["sends"]}
    assert set(summary["texts_recovered"]) < sent


def test_the_demo_narrates_and_refuses_a_threshold_of_one(capsys):
    assert main(["demo", "--escrow", "threshold", "--messages", "4"]) == 0
    out = capsys.readouterr().out
    assert "Key ceremony" in out and "Lawful access" in out and "Over-collection" in out
    assert main(["demo", "--escrow", "threshold", "--threshold", "1"]) == 2
    assert "t=1 refused" in capsys.readouterr().err
