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


def test_the_demo_recovers_through_the_warrant_path_and_verifies_the_log(capsys):
    assert main(["demo", "--escrow", "threshold", "--custodians", "5", "--threshold", "3",
                 "--messages", "6", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    warrant = summary["warrant"]
    assert warrant["targets"] == ["dm:alice:bob"]
    assert summary["window"] == [warrant["window"]["start"], warrant["window"]["end"]]
    assert [s["state"] for s in summary["warrant_states"]] == [
        "draft", "filed", "approved", "releasing", "recovered", "closed"]
    assert summary["custodian_decisions"] == {"K1": "released", "K2": "released",
                                              "K3": "released"}
    types = [e["type"] for e in summary["log_entries"]]
    assert types.count("custodian.released") == 3
    # log, then act: each state's entry is in the log at the index its receipt names
    indexes = {e["index"]: e["type"] for e in summary["log_entries"]}
    for state in summary["warrant_states"]:
        assert indexes[state["log_index"]] == f"warrant.{state['state']}"
    assert types.index("warrant.approved") < types.index("custodian.released")
    verification = summary["log_verification"]
    assert verification["verified"] is True
    assert verification["size"] >= len(types) and verification["unwitnessed_entries"] == 0
    assert len(verification["cosigners"]) == 3
    assert summary["messages_recovered"] == summary["messages_in_scope"] > 0


def test_the_demo_narrates_and_refuses_a_threshold_of_one(capsys):
    assert main(["demo", "--escrow", "threshold", "--messages", "4"]) == 0
    out = capsys.readouterr().out
    assert "Key ceremony" in out and "Lawful access" in out and "Over-collection" in out
    assert main(["demo", "--escrow", "threshold", "--threshold", "1"]) == 2
    assert "t=1 refused" in capsys.readouterr().err
