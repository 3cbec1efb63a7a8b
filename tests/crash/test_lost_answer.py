"""Answer lost after commit, for every relay write endpoint: nothing acknowledged is lost
or duplicated when the real client retries (escrowlab.crash.lost_answer)."""

from __future__ import annotations

import random
import sqlite3

import pytest

from escrowlab.crash.lost_answer import CASES, LoopbackRelay, run_case


@pytest.mark.parametrize("name", CASES)
def test_a_lost_answer_after_commit_loses_and_duplicates_nothing(name, tmp_path):
    outcome = run_case(name, random.Random(name), tmp_path)
    assert outcome.ok, outcome.problems
    assert outcome.acknowledged > 0


def test_the_dropped_answer_is_committed_and_the_client_retries_it(tmp_path):
    relay = LoopbackRelay(tmp_path)
    try:
        alice, bob = relay.device("alice"), relay.device("bob")
        relay.dropper.drop_next("POST", "/v1/messages")
        alice.send_text("bob", "once")
        assert relay.dropper.dropped == [("POST", "/v1/messages", "200 OK")]
        assert [m.body for m in bob.receive_all()] == ["once"]
        assert bob.duplicates == 0  # the relay knew the resent envelope (docs/relay.md)
    finally:
        relay.close()
    with sqlite3.connect(relay.path) as db:  # the first send had committed; stored once
        assert db.execute("SELECT count(*) FROM archive WHERE recipient='bob:1'").fetchone() \
            == (1,)


def test_a_request_not_selected_keeps_its_answer(tmp_path):
    relay = LoopbackRelay(tmp_path)
    try:
        relay.dropper.drop_next("POST", "/v1/messages/ack")
        alice = relay.device("alice")
        relay.device("bob")
        alice.send_text("bob", "hi")  # POST /v1/messages: a path the rule does not match
        assert relay.dropper.dropped == []
    finally:
        relay.close()
