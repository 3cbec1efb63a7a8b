"""Every stored-object parser: a mutated encoding parses to exactly itself or is a StateError.

Trust records, session states, prekey states and the encrypted store's rows are
read back from disk, where anything may have happened to them. Each parser
either refuses the bytes with :class:`messaging.errors.StateError` or returns the
object whose encoding is exactly those bytes: no other exception, and nothing
dropped, coerced or normalised (mutations in :mod:`tests.messaging.mutations`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging.errors import StateError
from messaging.identity import IdentityKeyPair
from messaging.prekey_state import DevicePrekeys
from messaging.sqlite_store import Argon2Params, SqliteDeviceStore
from messaging.state import SessionState
from messaging.trust import TrustRecord
from tests.messaging.helpers import make_pair
from tests.messaging.mutations import mutated_bytes, mutated_document

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def _sessions() -> list[bytes]:
    alice, bob, _, _ = make_pair()
    pending = alice.serialize()  # Alice still sends her PQXDH block
    alice.decrypt(bob.encrypt(b"r"))
    bob.decrypt(alice.encrypt(b"a"))
    alice.encrypt(b"skipped")
    bob.decrypt(alice.encrypt(b"after"))
    return [pending, bob.serialize()]


TRUST = TrustRecord(IdentityKeyPair.generate().public, True, 1_700_000_123.5).encode()
SESSIONS = _sessions()
PREKEYS = DevicePrekeys.generate(IdentityKeyPair.generate(), "none", 2, 1).serialize()

# (parser, encoder of the parsed object, canonical JSON dump, samples)
PARSERS = {
    "trust record": (TrustRecord.decode, TrustRecord.encode,
                     lambda d: json.dumps(d, sort_keys=True).encode(), [TRUST]),
    "session state": (SessionState.deserialize, SessionState.serialize,
                      lambda d: json.dumps(d, sort_keys=True, separators=(",", ":")).encode(),
                      SESSIONS),
    "prekey state": (DevicePrekeys.deserialize, DevicePrekeys.serialize,
                     lambda d: json.dumps(d, sort_keys=True).encode(), [PREKEYS]),
}


def _parses_exactly_or_refuses(name: str, data: bytes) -> None:
    parse, encode, _, _ = PARSERS[name]
    try:
        parsed = parse(data)
    except StateError:
        return
    assert encode(parsed) == data


@pytest.mark.parametrize("name", PARSERS)
def test_every_sample_parses_to_exactly_itself(name):
    for sample in PARSERS[name][3]:
        _parses_exactly_or_refuses(name, sample)
        assert PARSERS[name][1](PARSERS[name][0](sample)) == sample


@pytest.mark.parametrize("name", PARSERS)
@PROPERTY
@given(data=st.data())
def test_a_byte_mutated_stored_object_parses_exactly_or_is_a_state_error(name, data):
    sample = data.draw(st.sampled_from(PARSERS[name][3]))
    _parses_exactly_or_refuses(name, data.draw(mutated_bytes(sample)))


@pytest.mark.parametrize("name", PARSERS)
@PROPERTY
@given(data=st.data())
def test_a_value_mutated_stored_object_parses_exactly_or_is_a_state_error(name, data):
    """Mutations of the JSON values, dumped in the encoder's own canonical form, so that it
    is each field's check (and not only the canonical-bytes check) that must hold."""
    dump = PARSERS[name][2]
    sample = data.draw(st.sampled_from(PARSERS[name][3]))
    doc = data.draw(mutated_document(json.loads(sample)))
    _parses_exactly_or_refuses(name, dump(doc))


@pytest.mark.parametrize("name", PARSERS)
@pytest.mark.parametrize("snippet", [
    b'"x":' + b"9" * 5000 + b",", b'"x":' + b"1" * 401 + b",", b'"x":' + b"[" * 100_000 + b",",
    b'"x":"\\ud800",', b'"\\udfff":1,',
], ids=["5000-digit", "10**400", "deep", "surrogate value", "surrogate name"])
def test_hostile_json_in_a_stored_object_is_a_state_error(name, snippet):
    sample = PARSERS[name][3][0]
    with pytest.raises(StateError):
        PARSERS[name][0](b"{" + snippet + sample[1:])


def test_a_trust_time_beyond_float_range_is_a_state_error():
    doc = json.loads(TRUST)
    for first_seen in (10**400, 10**39, -1, 2**64, True):
        text = json.dumps(dict(doc, first_seen=first_seen), sort_keys=True).encode()
        with pytest.raises(StateError):
            TrustRecord.decode(text)


@pytest.mark.parametrize("version", [True, 1.0, "1", None])
def test_a_trust_record_version_is_exactly_the_integer_1(version):
    doc = dict(json.loads(TRUST), version=version)
    with pytest.raises(StateError, match="version"):
        TrustRecord.decode(json.dumps(doc, sort_keys=True).encode())


def test_an_upper_case_or_spaced_hex_identity_is_a_state_error():
    doc = json.loads(TRUST)
    for identity in (doc["identity"].upper(), " ".join([doc["identity"][:2],
                                                        doc["identity"][2:]])):
        with pytest.raises(StateError, match="hex"):
            TrustRecord.decode(json.dumps(dict(doc, identity=identity), sort_keys=True).encode())


# -- the encrypted store's rows ----------------------------------------------------------

CHEAP = Argon2Params(time_cost=1, memory_cost_kib=8, parallelism=1)
ROWS = {("session", ("dm:alice:bob", "bob:1")): b"session bytes",
        ("peer_identity", ("bob:1",)): b"trust record",
        ("local_identity", ()): b"identity", ("prekeys", ()): b"prekeys"}


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "device.db"
    with SqliteDeviceStore.create(path, "pass", CHEAP) as store:
        store.store_session("dm:alice:bob", "bob:1", ROWS[("session", ("dm:alice:bob",
                                                                        "bob:1"))])
        store.store_peer_identity("bob:1", b"trust record")
        store.store_local_identity(b"identity")
        store.store_prekeys(b"prekeys")
    return path.read_bytes()


def _load(store: SqliteDeviceStore, kind: str, parts: tuple[str, ...]) -> bytes | None:
    if kind == "session":
        return store.load_session(*parts)
    if kind == "peer_identity":
        return store.load_peer_identity(*parts)
    return store.load_local_identity() if kind == "local_identity" else store.load_prekeys()


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_store_row_reads_exactly_or_is_a_state_error(store_file, data):
    """A row's sealed value, blinded row id or kind mutated: reading it, or listing its
    kind, is a StateError or gives exactly what was stored (never another exception)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "device.db"
        path.write_bytes(store_file)
        _mutate_a_row_and_read(path, data)


def _mutate_a_row_and_read(path: Path, data) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    rows = db.execute("SELECT rowid, kind, row_id, value FROM records ORDER BY rowid").fetchall()
    rowid, kind, row_id, value = data.draw(st.sampled_from(rows))
    column = data.draw(st.sampled_from(["value", "row_id", "kind"]))
    original = {"value": value, "row_id": row_id, "kind": kind.encode()}[column]
    mutated = data.draw(mutated_bytes(original))
    if column == "kind":
        mutated = mutated.decode("utf-8", "replace")
    try:
        db.execute(f"UPDATE records SET {column} = ? WHERE rowid = ?", (mutated, rowid))
    except sqlite3.IntegrityError:  # collides with another row's key: not a reachable state
        return
    finally:
        db.close()
    with SqliteDeviceStore.open(path, "pass") as store:
        for (kind_name, parts), stored in ROWS.items():
            with contextlib.suppress(StateError):
                assert _load(store, kind_name, parts) in (stored, None)
        for listing in (store.list_sessions, store.list_peer_identities):
            with contextlib.suppress(StateError):
                listing()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_kdf_meta_row_opens_nothing_but_the_store_or_is_a_state_error(
        store_file, data):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "device.db"
        path.write_bytes(store_file)
        _mutate_the_kdf_and_open(path, data)


def _mutate_the_kdf_and_open(path: Path, data) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    (kdf,) = db.execute("SELECT value FROM meta WHERE name = 'kdf'").fetchone()
    mutated = data.draw(mutated_bytes(kdf.encode())).decode("utf-8", "replace")
    # keep the cost of a mutated (still valid) parameter set small: numbers of two digits
    if any(len(d) > 2 for d in "".join(c if c.isdigit() else " " for c in mutated).split()):
        db.close()
        return
    db.execute("UPDATE meta SET value = ? WHERE name = 'kdf'", (mutated,))
    db.close()
    try:
        store = SqliteDeviceStore.open(path, "pass")
    except StateError:
        return
    with store:
        assert store.load_prekeys() == b"prekeys"


@pytest.mark.parametrize("kdf", [
    '{"algorithm":"argon2id","version":19.0,"time_cost":1,"memory_cost_kib":8,"parallelism":1}',
    '{"algorithm":"argon2id","version":true,"time_cost":1,"memory_cost_kib":8,"parallelism":1}',
    '{"algorithm":"argon2id","version":19,"time_cost":1.0,"memory_cost_kib":8,"parallelism":1}',
    '{"algorithm":"argon2id","version":19,"time_cost":' + "1" * 5000 + "}",
    "[" * 100_000,
    '{"algorithm":"\\ud800"}',
], ids=["version 19.0", "version true", "cost 1.0", "5000 digits", "deep", "surrogate"])
def test_malformed_kdf_parameters_are_a_state_error(kdf):
    with pytest.raises(StateError):
        Argon2Params.from_json(kdf)
