"""``escrowlab demo --escrow ghost [--suppress-ui]`` (docs/ghost.md, "The demo")."""

import json

from escrowlab.cli import main

CHANNELS = {"safety-number change shown to Alice", "device-list notice on Bob's devices",
            "key-transparency self-monitor of bob:1"}


def run_demo(capsys, *argv) -> dict:
    assert main(["demo", "--json", "--escrow", "ghost", "--messages", "2", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_ghost_reads_only_what_is_sent_after_it_was_added(capsys):
    summary = run_demo(capsys)
    assert summary["mode"] == "ghost" and summary["injected_device"] == "bob:99"
    assert summary["messages_recovered"] == summary["messages_in_scope"] == 2
    assert summary["archived_before_order"] > 0
    assert summary["out_of_scope_recoverable"] == 0
    assert summary["archive"]["plaintext_hits_in_archive"] == 0


def test_with_honest_clients_every_channel_raises_the_alarm_at_the_first_message(capsys):
    detections = run_demo(capsys)["detections"]
    assert set(detections) == CHANNELS
    assert all(d["after_messages"] == 1 for d in detections.values())


def test_with_the_ui_suppressed_only_the_self_monitor_remains(capsys):
    detections = run_demo(capsys, "--suppress-ui")["detections"]
    assert set(detections) == {"key-transparency self-monitor of bob:1"}


def test_the_narrated_demo_names_the_compulsion_and_the_alarm(capsys):
    assert main(["demo", "--escrow", "ghost", "--messages", "1"]) == 0
    out = capsys.readouterr().out
    assert "compulsion order" in out and "ALARM" in out and "prospective only" in out
