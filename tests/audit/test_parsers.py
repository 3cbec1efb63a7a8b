"""Every audit parser reads through strictjson and exact type checks, and raises audit's own
errors: evidence files, receipts, entries, witness state, stored rows, checkpoints."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.entries import Entry
from audit.errors import AuditError, EntryError, StorageError, VerificationError
from audit.log import AuditLog
from audit.receipt import Receipt
from audit.storage import LogStore
from audit.verifier import EVIDENCE_KIND, check_misbehaviour_evidence
from audit.witness import Witness
from escrowlab.cli import main

ODD_VALUES = [5, 10**30, 1.5, True, None, [], ["x"], {}, {"a": "b"}]


def _evidence(signer=None):
    """Evidence whose two checkpoints are validly signed, so that every later field is read."""
    from audit.checkpoint import Checkpoint
    from audit.note import SignedNote, Signer, b64

    signer = signer or Signer.generate("e.test/log")

    def note(size, root):
        body = Checkpoint(signer.name, size, root).body()
        return SignedNote(body, (signer.sign(body),)).encode()

    return {"kind": EVIDENCE_KIND, "log_key": signer.vkey, "old_checkpoint": note(2, bytes(32)),
            "new_checkpoint": note(4, bytes([1]) * 32), "consistency_proof": [b64(bytes(32))],
            "implied_old_root": b64(bytes([2]) * 32)}


@pytest.mark.parametrize("field", sorted(_evidence()))
@pytest.mark.parametrize("value", ODD_VALUES)
def test_evidence_with_values_of_the_wrong_type_is_a_verification_error(log_signer, field,
                                                                        value):
    evidence = dict(_evidence(log_signer), **{field: value})
    for form in (evidence, json.dumps(evidence), json.dumps(evidence).encode()):
        with pytest.raises(VerificationError):
            check_misbehaviour_evidence(form, log_signer.verifier)


@pytest.mark.parametrize("item", ODD_VALUES)
def test_evidence_proof_items_of_the_wrong_type_are_refused(log_signer, item):
    with pytest.raises(VerificationError):
        check_misbehaviour_evidence(dict(_evidence(log_signer), consistency_proof=[item]),
                                    log_signer.verifier)
    with pytest.raises(VerificationError, match="does not reach"):  # well-formed: checked
        check_misbehaviour_evidence(_evidence(log_signer), log_signer.verifier)


@pytest.mark.parametrize("text", [
    "", "[]", "{", '{"kind": 1e400}', "[" * 5000 + "]" * 5000, '{"kind": "a", "kind": "b"}',
    '{"kind": "\\ud800"}', '{"n": ' + "9" * 5000 + "}", b"\xff\xfe",
])
def test_malformed_evidence_text_is_a_verification_error(log_signer, text):
    with pytest.raises(VerificationError):
        check_misbehaviour_evidence(text, log_signer.verifier)


@pytest.mark.parametrize("version", ["true", "1.0", '"1"', "2", "0", "null"])
def test_an_entry_version_is_the_integer_1_and_nothing_equal_to_it(version):
    data = b'{"actor":"x","payload":{},"time":1,"type":"a.b","v":' + version.encode() + b"}"
    with pytest.raises(EntryError):
        Entry.decode(data)
    with pytest.raises(EntryError):
        Entry("a.b", "x", 1, {}, json.loads(version))
    assert Entry.decode(data.replace(version.encode(), b"1")).version == 1


@pytest.mark.parametrize("data", [
    b'{"actor":"x","payload":{},"time":1,"type":"a.b","v":1,"v":1}',
    b'{"actor":"x","payload":{},"time":true,"type":"a.b","v":1}',
    b'{"actor":5,"payload":{},"time":1,"type":"a.b","v":1}',
    b'{"actor":"x","payload":[],"time":1,"type":"a.b","v":1}',
    b'{"actor":"\\ud800","payload":{},"time":1,"type":"a.b","v":1}',
    b'{"actor":"x","payload":{"n":1.5},"time":1,"type":"a.b","v":1}',
    b'{"actor":"x","payload":{"n":' + b"9" * 5000 + b'},"time":1,"type":"a.b","v":1}',
    b'{"actor":"x","payload":' + b'{"a":' * 3000 + b"1" + b"}" * 3001 + b',"time":1}',
])
def test_malformed_entries_are_entry_errors(data):
    with pytest.raises(EntryError):
        Entry.decode(data)


def _receipt(log_signer):
    log = AuditLog.open(":memory:", log_signer)
    receipt = log.append_event("a.b", "x", {})
    log.close()
    return receipt.to_json()


@pytest.mark.parametrize("field", ["index", "entry", "proof", "checkpoint"])
@pytest.mark.parametrize("value", ODD_VALUES)
def test_receipts_with_values_of_the_wrong_type_are_entry_errors(log_signer, field, value):
    if field == "index" and type(value) is int:
        value = -1  # any integer is an index's type; a negative one is still refused
    obj = dict(_receipt(log_signer), **{field: value})
    if field == "proof" and value == []:
        obj["entry"] = 5
    with pytest.raises(EntryError):
        Receipt.from_json(obj)
    with pytest.raises(EntryError):
        Receipt.loads(json.dumps(obj))


@pytest.mark.parametrize("text", ["[", '{"index": 1e999}', "[" * 4000 + "]" * 4000,
                                  '{"index": ' + "1" * 5000 + "}", b"\xc3"])
def test_malformed_receipt_text_is_an_entry_error(text):
    with pytest.raises(EntryError):
        Receipt.loads(text)


def test_a_receipt_round_trips_through_its_text(log_signer):
    obj = _receipt(log_signer)
    assert Receipt.loads(json.dumps(obj)).to_json() == obj


@pytest.mark.parametrize("row", ["'text'", "1.5", "NULL", "-1"])
def test_an_edited_witness_state_row_is_a_storage_error(tmp_path, log_signer, clock, row):
    from audit.checkpoint import Checkpoint
    from audit.note import SignedNote

    w = Witness.generate("w.test", [log_signer.verifier], tmp_path / "w.db", clock)
    body = Checkpoint(log_signer.name, 0, bytes(32)).body()
    w.add_checkpoint(0, [], SignedNote(body, (log_signer.sign(body),)).encode())
    column = "size" if row in ("1.5", "-1") else "root"
    db = sqlite3.connect(tmp_path / "w.db")
    db.execute("PRAGMA ignore_check_constraints=1")
    with db:
        db.execute(f"UPDATE witnessed SET {column}={row if row != 'NULL' else 'zeroblob(3)'}")
    db.close()
    with pytest.raises(StorageError, match="corrupt"):
        w.latest(log_signer.name)
    with pytest.raises(AuditError):
        w.add_checkpoint(0, [], SignedNote(body, (log_signer.sign(body),)).encode())
    w.close()


@pytest.mark.parametrize("key", ["log_key", "witness_keys", "quorum", "origin"])
def test_stored_meta_that_is_not_text_fails_verification_cleanly(tmp_path, log_signer, key,
                                                                 capsys):
    path = tmp_path / "a.db"
    log = AuditLog.open(path, log_signer)
    log.append_event("a.b", "x", {})
    log.close()
    db = sqlite3.connect(path)
    with db:
        db.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, b"\x07"))
    db.close()
    with LogStore(path) as store, pytest.raises(StorageError, match="not text"):
        store.get_meta(key)
    if key == "origin":  # only show and the log itself read it
        assert main(["audit", "show", "--log", str(path)]) == 2
        with pytest.raises(StorageError):
            AuditLog.open(path, log_signer)
        assert "not text" in capsys.readouterr().err
        return
    assert main(["audit", "verify", "--log", str(path)]) == 1
    err = capsys.readouterr().err
    assert "FAILED verification" in err and "Traceback" not in err


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_JSONISH, st.fixed_dictionaries({}, optional={
    "kind": _JSONISH, "log_key": _JSONISH, "old_checkpoint": _JSONISH,
    "new_checkpoint": _JSONISH, "consistency_proof": _JSONISH, "implied_old_root": _JSONISH,
    "index": _JSONISH, "entry": _JSONISH, "proof": _JSONISH, "checkpoint": _JSONISH})))
def test_hypothesis_objects_reach_only_audit_errors(obj):
    from audit.note import Signer

    key = Signer.generate("h.test/log").verifier
    for parse in (lambda o: check_misbehaviour_evidence(o, key), Receipt.from_json):
        with contextlib.suppress(AuditError):
            parse(obj)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=80), st.text(st.sampled_from(
    'old 0123\n\u2014 aA=+/{}[]":,.-ev'), max_size=80)))
def test_hypothesis_text_reaches_only_audit_errors(data):
    from audit.checkpoint import Checkpoint
    from audit.http.witness_api import parse_request
    from audit.note import Signer, Verifier, parse_note

    key = Signer.generate("h.test/log").verifier
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    raw = data if isinstance(data, bytes) else data.encode()
    parsers = [lambda: check_misbehaviour_evidence(data, key), lambda: Receipt.loads(data),
               lambda: Entry.decode(raw), lambda: parse_note(text),
               lambda: Checkpoint.parse(text), lambda: parse_request(raw),
               lambda: Verifier.from_vkey(text), lambda: Signer.from_skey(text)]
    for parse in parsers:
        with contextlib.suppress(AuditError):
            parse()
