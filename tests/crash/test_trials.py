"""A small run of every kill -9 trial kind (the large run is ``escrowlab crash --trials 100``),
and the checks that decide "lost", "duplicated" and "corrupt" catch each on purpose."""

from __future__ import annotations

import random
import sqlite3

import pytest

from audit.log import AuditLog
from audit.note import Signer
from audit.storage import LogStore
from escrowlab.crash.audit_trials import check_log
from escrowlab.crash.outcome import Outcome
from escrowlab.crash.processes import sqlite_check
from escrowlab.crash.runner import run_trial


@pytest.mark.parametrize("kind", ["audit-cli", "audit-api", "witness", "relay",
                                  "custodian"])
@pytest.mark.parametrize("index", [0, 1])
def test_a_sigkilled_process_loses_nothing_acknowledged(kind, index):
    outcome = run_trial(kind, "make-test", index)
    assert outcome.acknowledged > 0
    assert not outcome.problems and outcome.lost == outcome.duplicated == outcome.corrupt == \
        outcome.failed_restarts == outcome.errors == 0, outcome.problems


def _log(tmp_path, numbers):
    signer = Signer.generate("crash.test/check")
    path = tmp_path / "log.db"
    with LogStore(path, create=True) as store:
        log = AuditLog(store, signer)
        log.append_events([("crash.trial", "test", {"n": n}) for n in numbers])
        note = log.sign_checkpoint().encode()
    return path, signer, note


def test_check_log_counts_an_acknowledged_entry_that_is_missing(tmp_path):
    path, signer, note = _log(tmp_path, [0, 1])
    outcome = Outcome()
    check_log(path, signer.verifier, {0, 1, 2}, note, None, outcome)
    assert (outcome.acknowledged, outcome.lost, outcome.duplicated, outcome.corrupt) == \
        (3, 1, 0, 0)


def test_check_log_counts_an_entry_present_twice(tmp_path):
    path, signer, note = _log(tmp_path, [0, 1, 1])
    outcome = Outcome()
    check_log(path, signer.verifier, {0, 1}, note, None, outcome)
    assert (outcome.lost, outcome.duplicated, outcome.corrupt) == (0, 1, 0)


def test_check_log_counts_a_tampered_log_and_a_rolled_back_checkpoint(tmp_path):
    path, signer, note = _log(tmp_path, [0, 1, 2])
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM leaves WHERE idx=2")
    outcome = Outcome()
    check_log(path, signer.verifier, {0, 1}, note, note, outcome)
    assert outcome.lost == 0 and outcome.corrupt >= 1, outcome.problems


def test_check_log_counts_a_new_checkpoint_inconsistent_with_the_acknowledged_one(tmp_path):
    path, signer, old = _log(tmp_path, [0, 1])
    fork = LogStore(":memory:", create=True)
    fork.append_batch([b"other", b"entries", b"here"])
    forked = AuditLog(fork, signer).sign_checkpoint().encode()
    outcome = Outcome()
    check_log(path, signer.verifier, {0, 1}, old, forked, outcome)
    assert outcome.corrupt == 1 and "new checkpoint" in outcome.problems[0]


def test_sqlite_check_reports_a_file_that_is_not_a_sound_database(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    assert sqlite_check(bad)
    assert sqlite_check(tmp_path / "missing.sqlite") == [f"{tmp_path / 'missing.sqlite'} is "
                                                          "missing"]


def test_a_trial_that_raises_is_counted_as_an_error(monkeypatch):
    import escrowlab.crash.runner as runner

    def broken(rng: random.Random, work, index: int = 0) -> Outcome:
        raise RuntimeError("harness bug")

    monkeypatch.setattr(runner, "trial_function", lambda kind: broken)
    outcome = runner.run_trial("relay", 0, 0)
    assert outcome.errors == 1 and "harness bug" in outcome.problems[0]


def test_the_relay_check_counts_a_missing_registration_and_a_prekey_still_on_offer(tmp_path):
    from types import SimpleNamespace

    from escrowlab.crash.relay_trials import _check_database
    from messaging.client import Device
    from messaging.relay import RelayService
    from messaging.relay.inprocess import InProcessTransport

    path = tmp_path / "relay.sqlite"
    relay = RelayService(f"sqlite:///{path}")
    keys = Device.create("keys", 1, InProcessTransport(relay), one_time_prekeys=3,
                         kem_prekeys=2)
    ghost = Device.create("ghost", 1, InProcessTransport(RelayService()))  # another relay
    relay.close()
    with sqlite3.connect(path) as db:
        (one_time,) = db.execute("SELECT min(key_id) FROM one_time_prekeys").fetchone()
    traffic = SimpleNamespace(keys=keys, registered=[keys, ghost], bundles=[(one_time, None)])
    outcome = Outcome()
    _check_database(f"sqlite:///{path}", traffic, outcome)
    assert (outcome.lost, outcome.duplicated, outcome.corrupt) == (1, 1, 0), outcome.problems


def test_the_custodian_check_counts_two_attempts_logged_for_one_target(tmp_path):
    from audit.checkpoint import Checkpoint
    from authority_portal.custodian_node.node import RELEASED_TYPE
    from authority_portal.custodian_node.store import NodeStore
    from escrowlab.crash.custodian_trials import NODE, _check_files, _Lab

    lab = _Lab(tmp_path)
    try:
        [case] = lab.cases(1)
        sha = case.warrant.sha256
        receipts = [lab.log.append_event(RELEASED_TYPE, f"custodian:{NODE}", {
            "node": NODE, "warrant_sha256": sha.hex(), "nonce": nonce})
            for nonce in ("a" * 32, "b" * 32)]
        store = NodeStore(tmp_path / "cer" / NODE / "node.db", NODE)
        seen = Checkpoint.parse(receipts[1].checkpoint.split("\n\n")[0] + "\n")
        store.record_release("b" * 32, sha, case.warrant.targets[0], bytes(32), 1,
                             receipts[0].index, 0.0, seen)
        store.close()
        outcome = Outcome()
        _check_files(lab, [case], {"b" * 32, "c" * 32}, tmp_path, outcome)
    finally:
        lab.close()
    assert outcome.duplicated == 1 and outcome.lost == 1
    assert outcome.errors == 1 and "not its decision" in outcome.problems[-1]
