"""Lookups under a witnessed checkpoint, and every tampering refused (docs/
key_transparency.md, "What a client refuses")."""

from dataclasses import replace

import pytest

from audit.errors import AuditError
from audit.kt.directory import KeyDirectory
from audit.kt.errors import KTEpochError, KTError, KTHistoryError, KTProofError
from audit.kt.lookup import (
    AbsenceProof,
    LookupProof,
    verify_absence_proof,
    verify_lookup,
)
from audit.kt.monitor import History, checked_lookup
from audit.kt.value import DeviceSet
from tests.kt.helpers import identity, populated, trust_of


def test_a_lookup_verifies_and_shows_the_served_devices(log, log_signer, witnesses):
    directory, lists = populated(log)
    proof = directory.lookup("user2")
    verified = verify_lookup(proof, "user2", trust_of(log_signer, witnesses))
    assert verified.devices.as_dict() == lists["user2"]
    assert (verified.epoch, verified.version) == (0, 1)
    assert verified.head.checkpoint.size == 1


def test_an_unknown_user_has_a_verified_absence(log, log_signer, witnesses):
    directory, _ = populated(log)
    proof = directory.lookup("nobody")
    assert isinstance(proof, AbsenceProof)
    assert verify_absence_proof(proof, "nobody", trust_of(log_signer, witnesses)).epoch == 0


def test_a_change_bumps_the_version_and_an_unchanged_list_does_not(log):
    directory, lists = populated(log)
    directory.stage("user1", lists["user1"])
    directory.stage("user2", {**lists["user2"], "user2:2": identity()})
    assert directory.publish_epoch() == 1
    assert directory.lookup("user1").version == 1
    assert directory.lookup("user2").version == 2
    assert directory.lookup("user2", 0).version == 1


def test_an_edited_device_is_refused(log, log_signer, witnesses):
    directory, _ = populated(log)
    proof = directory.lookup("user1")
    edited = replace(proof, devices=DeviceSet.of({"user1:1": identity()}))
    with pytest.raises(KTProofError):
        verify_lookup(edited, "user1", trust_of(log_signer, witnesses))
    added = replace(proof, devices=DeviceSet.of({**proof.devices.as_dict(),
                                                 "user1:9": identity()}))
    with pytest.raises(KTProofError):
        verify_lookup(added, "user1", trust_of(log_signer, witnesses))


def test_a_proof_for_another_user_is_refused(log, log_signer, witnesses):
    directory, _ = populated(log)
    proof = directory.lookup("user1")
    with pytest.raises(KTProofError, match="for user"):
        verify_lookup(proof, "user2", trust_of(log_signer, witnesses))
    with pytest.raises(KTProofError):
        verify_lookup(replace(proof, user="user2"), "user2", trust_of(log_signer, witnesses))


def test_a_wrong_epoch_is_refused(log, log_signer, witnesses):
    directory, _ = populated(log)
    directory.publish_epoch()
    proof = directory.lookup("user1", 0)
    with pytest.raises(KTEpochError):
        verify_lookup(replace(proof, epoch=1), "user1", trust_of(log_signer, witnesses))
    with pytest.raises(KTEpochError):
        verify_lookup(replace(proof, receipt=directory.lookup("user1", 1).receipt,
                              epoch=0), "user1", trust_of(log_signer, witnesses))


def test_a_stale_version_is_refused(log, log_signer, witnesses):
    directory, lists = populated(log)
    old = directory.lookup("user1")
    directory.stage("user1", {**lists["user1"], "user1:2": identity()})
    directory.publish_epoch()
    trust = trust_of(log_signer, witnesses)
    new = directory.lookup("user1")
    stale_under_new_epoch = LookupProof("user1", new.epoch, old.version, old.devices, old.path,
                                        new.receipt)
    with pytest.raises(KTProofError):
        verify_lookup(stale_under_new_epoch, "user1", trust)
    history = History()
    checked_lookup(directory, "user1", trust, history)
    with pytest.raises(KTHistoryError, match="rollback"):
        checked_lookup(directory, "user1", trust, history, epoch=0)


def test_a_truncated_proof_is_refused(log, log_signer, witnesses):
    directory, _ = populated(log, 40)
    proof = directory.lookup("user1")
    short = replace(proof, path=replace(proof.path, siblings=proof.path.siblings[:-1]))
    with pytest.raises(KTProofError):
        verify_lookup(short, "user1", trust_of(log_signer, witnesses))
    directory.publish_epoch()
    directory.publish_epoch()
    later = directory.lookup("user1", 0)
    with pytest.raises(KTEpochError):
        verify_lookup(replace(later, receipt=replace(later.receipt,
                                                     proof=later.receipt.proof[:-1])),
                      "user1", trust_of(log_signer, witnesses))


def test_a_checkpoint_below_the_quorum_is_refused(tmp_path, log_signer, witnesses, clock):
    from audit.log import AuditLog

    unwitnessed = AuditLog.open(tmp_path / "plain.db", log_signer, clock=clock)
    directory, _ = populated(unwitnessed)
    with pytest.raises(KTEpochError, match="witnessed"):
        verify_lookup(directory.lookup("user1"), "user1", trust_of(log_signer, witnesses))
    unwitnessed.close()


def test_a_forked_epoch_is_refused_by_the_witnesses(tmp_path, log, log_signer, witnesses,
                                                    clock):
    from audit.log import AuditLog
    from audit.quorum import WitnessQuorum

    directory, lists = populated(log)
    fork_log = AuditLog.open(tmp_path / "fork.db", log_signer, clock=clock,
                             quorum=WitnessQuorum(witnesses, 2))
    fork = directory.replicate(fork_log)
    directory.publish_epoch()  # the honest epoch 1 is witnessed first
    fork.stage("user1", {**lists["user1"], "ghost:1": identity()})
    with pytest.raises(AuditError, match="witnesses cosigned"):
        fork.publish_epoch()
    assert fork.epoch == 0
    fork_log.close()


def test_a_forked_history_is_detected_by_a_client_holding_the_honest_checkpoint(
        tmp_path, log, log_signer, witnesses, clock):
    from audit.log import AuditLog

    directory, lists = populated(log)
    directory.publish_epoch()
    trust = trust_of(log_signer, witnesses, 0)
    history = History()
    checked_lookup(directory, "user1", trust, history)
    unwitnessed = AuditLog.open(tmp_path / "fork.db", log_signer, clock=clock)
    fork = KeyDirectory(unwitnessed)
    for user, devices in lists.items():
        fork.stage(user, devices)
    fork.publish_epoch()
    fork.stage("user1", {"user1:1": identity()})
    fork.publish_epoch()
    fork.publish_epoch()
    with pytest.raises(KTHistoryError, match="forked"):
        checked_lookup(fork, "user1", trust, history)
    unwitnessed.close()


def test_an_omitted_entry_is_detected_by_its_owner(log, log_signer, witnesses):
    from audit.kt.monitor import SelfMonitor

    directory, lists = populated(log)
    monitor = SelfMonitor(directory, "user1", trust_of(log_signer, witnesses))
    assert monitor.check(lists["user1"]) == []
    directory._entries.pop("user1")  # the provider drops the entry from its next tree
    directory.publish_epoch()
    with pytest.raises(KTHistoryError, match="omitted"):
        monitor.check(lists["user1"])


def test_the_directory_log_holds_only_epochs(log):
    log.append_event("other.event", "x", {})
    with pytest.raises(KTError):
        KeyDirectory(log)


def test_bad_input_is_refused_without_state_change(log):
    directory, _ = populated(log)
    with pytest.raises(KTError):
        directory.stage("", {})
    with pytest.raises(KTError):
        directory.stage("user1", {"user1:1": "not bytes"})
    with pytest.raises(KTEpochError):
        directory.lookup("user1", 5)
    assert directory.pending() == 0 and directory.epoch == 0


def test_a_cached_checkpoint_still_refuses_a_tampered_lookup(log, log_signer, witnesses):
    from audit.kt.lookup import CheckpointCache
    from audit.note import Signer

    directory, _ = populated(log, 20)
    trust = trust_of(log_signer, witnesses)
    cache = CheckpointCache()
    proof = directory.lookup("user3")
    verify_lookup(proof, "user3", trust, cache)
    edited = replace(proof, devices=DeviceSet.of({"user3:1": identity()}))
    with pytest.raises(KTProofError):
        verify_lookup(edited, "user3", trust, cache)
    with pytest.raises(KTEpochError):
        verify_lookup(replace(proof, receipt=replace(proof.receipt, proof=(bytes(32),))),
                      "user3", trust, cache)
    impostor = replace(trust, log_key=Signer.generate(log_signer.name).verifier)
    with pytest.raises(KTEpochError):
        verify_lookup(proof, "user3", impostor, CheckpointCache())
