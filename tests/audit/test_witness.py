"""Witnesses: cosign only consistent checkpoints, refuse rollback and forks distinctly,
commit state before answering; quorums of 2 of 3."""

from __future__ import annotations

import pytest

from audit.checkpoint import Checkpoint
from audit.errors import (
    QuorumError,
    StorageError,
    WitnessConflictError,
    WitnessError,
    WitnessInconsistencyError,
    WitnessRollbackError,
)
from audit.log import AuditLog
from audit.note import SignedNote, Signer, parse_note
from audit.quorum import WitnessQuorum, verify_checkpoint
from audit.storage import LogStore
from audit.witness import Witness


@pytest.fixture
def plain_log(tmp_path, log_signer, clock):
    log = AuditLog.open(tmp_path / "plain.db", log_signer, clock=clock)
    yield log
    log.close()


def _grow(log, n):
    log.append_batch([b"leaf %d" % (log.size + i) for i in range(n)])
    return log.sign_checkpoint()


def _forked_note(signer, size, salt=b"fork"):
    """A checkpoint the log key signed for a different tree of the same origin."""
    with LogStore(":memory:", create=True) as other:
        other.append_batch([salt + b"%d" % i for i in range(size)])
        body = Checkpoint(signer.name, size, other.root()).body()
    return SignedNote(body, (signer.sign(body),)).encode()


def test_first_checkpoint_is_trusted_then_only_consistent_ones(plain_log, witnesses):
    w = witnesses[0]
    note = _grow(plain_log, 5)
    sig = w.add_checkpoint(0, [], note.encode())
    w.verifier.verify(note.text, sig)
    assert w.latest(plain_log.origin) == (5, plain_log.store.root())
    note2 = _grow(plain_log, 8)
    w.add_checkpoint(5, plain_log.store.consistency_proof(5, 13), note2.encode())
    assert w.latest(plain_log.origin)[0] == 13
    w.add_checkpoint(13, [], note2.encode())  # the same checkpoint again: idempotent


def test_rollback_is_refused_with_its_own_error(plain_log, witnesses, log_signer):
    w = witnesses[0]
    w.add_checkpoint(0, [], _grow(plain_log, 10).encode())
    smaller = Checkpoint(log_signer.name, 6, plain_log.store.root(6)).body()
    note = SignedNote(smaller, (log_signer.sign(smaller),)).encode()
    with pytest.raises(WitnessRollbackError) as info:
        w.add_checkpoint(10, [], note)
    assert (info.value.latest_size, info.value.offered_size) == (10, 6)
    assert w.latest(log_signer.name)[0] == 10


def test_fork_is_refused_as_inconsistent_and_state_is_unchanged(plain_log, witnesses,
                                                                log_signer):
    w = witnesses[0]
    w.add_checkpoint(0, [], _grow(plain_log, 7).encode())
    before = w.latest(log_signer.name)
    fork = _forked_note(log_signer, 12)
    with LogStore(":memory:", create=True) as other:  # a proof from the fork's own tree
        other.append_batch([b"fork%d" % i for i in range(12)])
        proof = other.consistency_proof(7, 12)
    with pytest.raises(WitnessInconsistencyError):
        w.add_checkpoint(7, proof, fork)
    with pytest.raises(WitnessInconsistencyError):
        w.add_checkpoint(7, [], _forked_note(log_signer, 7))
    assert w.latest(log_signer.name) == before


def test_stale_old_size_gets_a_conflict_with_the_real_size(plain_log, witnesses):
    w = witnesses[0]
    w.add_checkpoint(0, [], _grow(plain_log, 4).encode())
    note = _grow(plain_log, 4)
    with pytest.raises(WitnessConflictError) as info:
        w.add_checkpoint(0, [], note.encode())
    assert info.value.latest_size == 4


def test_unknown_logs_and_bad_signatures_are_refused(plain_log, witnesses, log_signer):
    w = witnesses[0]
    stranger = Signer.generate("other.test/log")
    body = Checkpoint(stranger.name, 1, b"\x00" * 32).body()
    with pytest.raises(WitnessError, match="unknown log"):
        w.add_checkpoint(0, [], SignedNote(body, (stranger.sign(body),)).encode())
    impostor = Signer.generate(log_signer.name)
    body = Checkpoint(log_signer.name, 1, b"\x00" * 32).body()
    with pytest.raises(WitnessError, match="not signed by the log"):
        w.add_checkpoint(0, [], SignedNote(body, (impostor.sign(body),)).encode())
    with pytest.raises(WitnessError, match="malformed"):
        w.add_checkpoint(0, [], "garbage")
    assert w.latest(log_signer.name) is None


def test_state_survives_a_restart(tmp_path, plain_log, log_signer, clock):
    signer = Signer.generate("w.test", 0x04, clock.now)
    w = Witness(signer, [log_signer.verifier], tmp_path / "w.db", clock, create=True)
    w.add_checkpoint(0, [], _grow(plain_log, 9).encode())
    w.close()
    again = Witness(signer, [log_signer.verifier], tmp_path / "w.db", clock)
    assert again.latest(log_signer.name)[0] == 9
    with pytest.raises(WitnessRollbackError):
        again.add_checkpoint(9, [], _forked_note(log_signer, 3))
    again.close()


def test_quorum_collects_two_of_three_and_checkpoint_verification_needs_them(
        plain_log, witnesses, log_signer):
    quorum = WitnessQuorum(witnesses, 2)
    note = quorum.cosign(_grow(plain_log, 3).encode(), plain_log.store.consistency_proof)
    assert len(note.signatures) == 4
    verify_checkpoint(note.encode(), log_signer.verifier, quorum.verifiers, 3)
    only_log = SignedNote(note.text, note.signatures[:1])
    with pytest.raises(QuorumError):
        verify_checkpoint(only_log.encode(), log_signer.verifier, quorum.verifiers, 2)
    one = SignedNote(note.text, note.signatures[:2])
    with pytest.raises(QuorumError):
        verify_checkpoint(one.encode(), log_signer.verifier, quorum.verifiers, 2)
    twice = SignedNote(note.text, (note.signatures[0], note.signatures[1], note.signatures[1]))
    with pytest.raises(QuorumError):  # one witness twice is still one cosigner
        verify_checkpoint(twice.encode(), log_signer.verifier, quorum.verifiers, 2)


def test_quorum_retries_a_conflict_and_extends_from_the_witness_state(plain_log, witnesses):
    witnesses[0].add_checkpoint(0, [], _grow(plain_log, 5).encode())
    quorum = WitnessQuorum(witnesses, 3)  # knows nothing of witness 0's state
    note = quorum.cosign(_grow(plain_log, 6).encode(), plain_log.store.consistency_proof)
    assert len(parse_note(note.encode()).signatures) == 4


def test_quorum_fails_below_threshold_and_names_each_refusal(plain_log, witnesses,
                                                             log_signer):
    for w in witnesses[:2]:
        w.add_checkpoint(0, [], _forked_note(log_signer, 4))
    quorum = WitnessQuorum(witnesses, 2)
    with pytest.raises(QuorumError) as info:
        quorum.cosign(_grow(plain_log, 4).encode(), plain_log.store.consistency_proof)
    assert set(info.value.refusals) == {witnesses[0].name, witnesses[1].name}
    assert all("WitnessForkError" in why for why in info.value.refusals.values())


def test_quorum_parameters_are_checked(witnesses):
    with pytest.raises(QuorumError):
        WitnessQuorum(witnesses, 4)
    with pytest.raises(QuorumError):
        WitnessQuorum(witnesses, 0)


@pytest.mark.parametrize("other", ["foreign", "audit_log", "not_sqlite"])
def test_a_witness_never_adopts_another_file_as_its_state(tmp_path, log_signer, clock, other):
    import sqlite3

    path = tmp_path / "state.db"
    if other == "foreign":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t(x)")
    elif other == "audit_log":
        AuditLog.open(path, log_signer, clock=clock).close()
    else:
        path.write_bytes(b"not a database at all" * 10)
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not an escrowlab witness state"
                       if other != "not_sqlite" else "database"):
        Witness.generate("w.test", [log_signer.verifier], path, clock)
    assert path.read_bytes() == before


def test_a_witness_state_survives_a_restart(tmp_path, log_signer, clock):
    signer = Signer.generate("w.test", 0x04, clock.now)
    w = Witness(signer, [log_signer.verifier], tmp_path / "w.db", clock, create=True)
    w.add_checkpoint(0, [], SignedNote(Checkpoint(log_signer.name, 0, bytes(32)).body(), ())
                     .with_signatures([log_signer.sign(Checkpoint(log_signer.name, 0,
                                                                   bytes(32)).body())]).encode())
    w.close()
    w = Witness(signer, [log_signer.verifier], tmp_path / "w.db", clock)
    assert w.latest(log_signer.name) == (0, bytes(32))
    w.close()


@pytest.mark.parametrize("threshold", [-1, -5])
def test_a_negative_or_non_integer_quorum_is_refused(plain_log, witnesses, threshold):
    note = _grow(plain_log, 3)
    with pytest.raises(QuorumError, match="quorum"):
        verify_checkpoint(note.encode(), plain_log.signer.verifier,
                          [w.verifier for w in witnesses], threshold)


def test_one_cosigner_key_under_two_names_counts_once(plain_log, witnesses, log_signer):
    """cosignature/v1 does not sign the cosigner's name (C2SP tlog-cosignature), so one key
    configured under two names must not count twice towards a quorum."""
    from audit.note import SIG_TYPE_COSIGNATURE_V1, Signature, Verifier

    note = _grow(plain_log, 4)
    sig = witnesses[0].add_checkpoint(0, [], note.encode())
    alias = Verifier("alias.test", witnesses[0].verifier.public_key, SIG_TYPE_COSIGNATURE_V1)
    relabelled = Signature(alias.name, alias.key_id, sig.data)
    doubled = note.with_signatures([sig, relabelled])
    keys = [witnesses[0].verifier, alias, witnesses[1].verifier]
    with pytest.raises(QuorumError, match="1 valid witness cosignature"):
        verify_checkpoint(doubled, log_signer.verifier, keys, 2)
    with pytest.raises(QuorumError, match="distinct"):
        verify_checkpoint(doubled, log_signer.verifier, keys, 3)
    with pytest.raises(QuorumError, match="distinct"):
        WitnessQuorum([witnesses[0], _Renamed(witnesses[0], alias)], 2)


def test_the_log_key_is_not_a_witness(plain_log, log_signer):
    from audit.note import SIG_TYPE_COSIGNATURE_V1, Verifier

    note = _grow(plain_log, 2)
    self_witness = Verifier("self.test", log_signer.verifier.public_key, SIG_TYPE_COSIGNATURE_V1)
    with pytest.raises(QuorumError, match="log's own key"):
        verify_checkpoint(note, log_signer.verifier, [self_witness], 1)


class _Renamed:
    def __init__(self, witness, verifier):
        self.verifier = verifier
        self.add_checkpoint = witness.add_checkpoint


def test_a_lost_reply_is_recovered_by_the_callers_retry(plain_log, witnesses, log_signer, clock,
                                                         tmp_path):
    """The state is committed before the witness answers: if the answer is lost (a crash
    between commit and reply), the witness reopened from its file names the new size, and a
    caller that still assumes the old size gets it cosigned again after one 409."""
    w = witnesses[0]
    w.add_checkpoint(0, [], _grow(plain_log, 3).encode())
    note = _grow(plain_log, 5)
    w.add_checkpoint(3, plain_log.store.consistency_proof(3, 8), note.encode())  # reply lost
    w.close()
    reopened = Witness(w.signer, [log_signer.verifier], w.state_path, clock)
    assert reopened.latest(log_signer.name) == (8, plain_log.store.root())
    with pytest.raises(WitnessConflictError) as info:
        reopened.add_checkpoint(3, plain_log.store.consistency_proof(3, 8), note.encode())
    assert info.value.latest_size == 8
    sig = reopened.add_checkpoint(8, [], note.encode())
    reopened.verifier.verify(note.text, sig)
    reopened.close()
    witnesses[0] = reopened


@pytest.mark.parametrize("state", ["missing", "empty", "foreign", "wal_foreign"])
def test_a_witness_creates_state_only_when_told_and_never_in_an_existing_file(
        tmp_path, log_signer, clock, state):
    """An empty or missing state would make the witness trust the next checkpoint (a
    fork) on first use: only create=True on a path where nothing exists makes one."""
    import sqlite3

    path = tmp_path / "state.db"
    if state == "empty":
        path.write_bytes(b"")
    elif state in ("foreign", "wal_foreign"):
        db = sqlite3.connect(path)
        if state == "wal_foreign":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE queue(id INTEGER PRIMARY KEY, body BLOB)")
        db.commit()
        db.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    content = path.read_bytes() if path.exists() else None
    signer = Signer.generate("w.test", 0x04, clock.now)
    with pytest.raises(StorageError, match="no witness state" if state == "missing"
                       else "not an escrowlab witness state"):
        Witness(signer, [log_signer.verifier], path, clock)
    if state != "missing":
        with pytest.raises(StorageError, match="not an escrowlab witness state"):
            Witness(signer, [log_signer.verifier], path, clock, create=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (path.read_bytes() if path.exists() else None) == content


def test_witness_serve_refuses_a_missing_empty_or_foreign_state_and_init_an_existing_one(
        tmp_path, log_signer, capsys):
    from escrowlab.cli import main

    key = str(tmp_path / "w.key")
    base = ["audit", "witness", "serve", "--key-file", key, "--log-key", log_signer.vkey,
            "--port", "0"]
    missing = str(tmp_path / "missing.db")
    assert main([*base, "--state", missing]) == 2
    assert "pass --init" in capsys.readouterr().err
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert main([*base, "--state", str(empty)]) == 2
    assert "empty file" in capsys.readouterr().err
    assert main([*base, "--state", str(empty), "--init"]) == 2
    assert "exists" in capsys.readouterr().err
    log_file = tmp_path / "log.db"
    AuditLog.open(log_file, log_signer).close()
    before = log_file.read_bytes()
    assert main([*base, "--state", str(log_file)]) == 2
    assert "not an escrowlab witness state" in capsys.readouterr().err
    assert empty.read_bytes() == b"" and log_file.read_bytes() == before
    assert not (tmp_path / "missing.db").exists() and not (tmp_path / "w.key").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "log.db"]


def test_a_state_file_whose_format_text_is_not_utf8_is_refused_unchanged(tmp_path):
    """SQLite hands TEXT back as ``str``: a stored value that is not UTF-8 raised a bare
    UnicodeDecodeError while the file was inspected; it is a StorageError like any other
    foreign file."""
    import sqlite3

    from audit.errors import StorageError

    path = str(tmp_path / "witness.db")
    log = Signer.generate("log.test")
    witness = Witness.generate("w.test", [log.verifier], path)
    witness.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = CAST(x'66ff6f' AS TEXT) WHERE key = 'format'")
    conn.close()
    before = open(path, "rb").read()  # noqa: SIM115
    with pytest.raises(StorageError, match="UTF-8"):
        Witness(witness.signer, [log.verifier], path)
    assert open(path, "rb").read() == before  # noqa: SIM115


def test_the_witness_and_its_request_parser_return_named_results(plain_log, witnesses):
    from audit.http.witness_api import parse_request

    note = _grow(plain_log, 3).encode()
    request = parse_request(f"old 0\n\n{note}".encode())
    assert (request.old_size, request.proof, request.note) == (0, [], note)
    witnesses[0].add_checkpoint(*request)
    latest = witnesses[0].latest(plain_log.origin)
    assert (latest.size, latest.root) == (3, plain_log.store.root())
