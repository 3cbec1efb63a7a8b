"""The device store contract, run against the in-memory and the SQLite implementation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messaging.sqlite_store import Argon2Params, SqliteDeviceStore
from messaging.store import (
    MAX_ID_LENGTH,
    DeviceStore,
    IdentityStore,
    InMemoryDeviceStore,
    PrekeyStore,
    SessionStore,
)

CHEAP = Argon2Params(time_cost=1, memory_cost_kib=64, parallelism=1)


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryDeviceStore()
    else:
        with SqliteDeviceStore.create(tmp_path / "device.db", "passphrase", CHEAP) as sqlite:
            yield sqlite


def test_both_implementations_satisfy_every_protocol(store):
    for protocol in (SessionStore, IdentityStore, PrekeyStore, DeviceStore):
        assert isinstance(store, protocol)


def test_empty_store_has_nothing(store):
    assert store.load_session("c1", "bob:1") is None
    assert store.list_sessions() == []
    assert store.load_local_identity() is None
    assert store.load_peer_identity("bob:1") is None
    assert store.list_peer_identities() == []
    assert store.load_prekeys() is None
    assert store.delete_session("c1", "bob:1") is False


def test_sessions_round_trip_per_conversation_and_peer(store):
    store.store_session("c1", "bob:1", b"session c1 bob1")
    store.store_session("c1", "bob:2", b"session c1 bob2")
    store.store_session("c2", "bob:1", b"session c2 bob1")
    assert store.load_session("c1", "bob:1") == b"session c1 bob1"
    assert store.load_session("c1", "bob:2") == b"session c1 bob2"
    assert store.load_session("c2", "bob:1") == b"session c2 bob1"
    assert store.list_sessions() == [("c1", "bob:1"), ("c1", "bob:2"), ("c2", "bob:1")]


def test_storing_a_session_again_replaces_it(store):
    store.store_session("c1", "bob:1", b"old")
    store.store_session("c1", "bob:1", bytearray(b"new"))
    assert store.load_session("c1", "bob:1") == b"new"
    assert store.list_sessions() == [("c1", "bob:1")]


def test_delete_session_removes_only_that_session(store):
    store.store_session("c1", "bob:1", b"a")
    store.store_session("c1", "carol:1", b"b")
    assert store.delete_session("c1", "bob:1") is True
    assert store.load_session("c1", "bob:1") is None
    assert store.load_session("c1", "carol:1") == b"b"
    assert store.list_sessions() == [("c1", "carol:1")]


def test_ids_are_not_confused_by_separators(store):
    store.store_session("a:b", "c", b"first")
    store.store_session("a", "b:c", b"second")
    assert store.load_session("a:b", "c") == b"first"
    assert store.load_session("a", "b:c") == b"second"


def test_identities_round_trip(store):
    store.store_local_identity(b"\x01" * 64)
    store.store_local_identity(b"\x02" * 64)
    assert store.load_local_identity() == b"\x02" * 64
    store.store_peer_identity("bob:1", b"record bob")
    store.store_peer_identity("alice:2", b"record alice")
    assert store.load_peer_identity("bob:1") == b"record bob"
    assert store.list_peer_identities() == ["alice:2", "bob:1"]


def test_prekeys_round_trip(store):
    store.store_prekeys(b"prekeys v1")
    store.store_prekeys(b"prekeys v2")
    assert store.load_prekeys() == b"prekeys v2"


def test_empty_values_are_kept_apart_from_missing_ones(store):
    store.store_session("c1", "bob:1", b"")
    assert store.load_session("c1", "bob:1") == b""


@pytest.mark.parametrize("bad", ["", 7, None, "x" * (MAX_ID_LENGTH + 1), "x" * 256, "\udc80"])
def test_bad_ids_are_rejected_and_change_nothing(store, bad):
    store.store_session("c1", "bob:1", b"kept")
    with pytest.raises(ValueError):
        store.store_session(bad, "bob:1", b"x")
    with pytest.raises(ValueError):
        store.store_peer_identity(bad, b"x")
    with pytest.raises(ValueError):
        store.load_session("c1", bad)
    assert store.list_sessions() == [("c1", "bob:1")]
    assert store.list_peer_identities() == []


def test_non_bytes_values_are_rejected_and_change_nothing(store):
    with pytest.raises(TypeError):
        store.store_session("c1", "bob:1", "text, not bytes")
    with pytest.raises(TypeError):
        store.store_prekeys(None)
    assert store.load_session("c1", "bob:1") is None
    assert store.load_prekeys() is None


_ids = st.sampled_from(["c1", "c2", "bob:1", "bob:2", "ü:1"])
_values = st.binary(max_size=64)
_operations = st.lists(
    st.one_of(
        st.tuples(st.just("store_session"), _ids, _ids, _values),
        st.tuples(st.just("delete_session"), _ids, _ids),
        st.tuples(st.just("store_peer_identity"), _ids, _values),
        st.tuples(st.just("store_local_identity"), _values),
        st.tuples(st.just("store_prekeys"), _values),
    ),
    max_size=25,
)


@settings(max_examples=25, deadline=None)
@given(operations=_operations)
def test_sqlite_store_behaves_like_the_in_memory_store(tmp_path_factory, operations):
    memory = InMemoryDeviceStore()
    path = tmp_path_factory.mktemp("model") / "device.db"
    with SqliteDeviceStore.create(path, "pw", CHEAP) as sqlite:
        for name, *args in operations:
            assert getattr(memory, name)(*args) == getattr(sqlite, name)(*args)
    with SqliteDeviceStore.open(path, "pw") as sqlite:
        assert sqlite.list_sessions() == memory.list_sessions()
        assert sqlite.list_peer_identities() == memory.list_peer_identities()
        for key in memory.list_sessions():
            assert sqlite.load_session(*key) == memory.load_session(*key)
        for address in memory.list_peer_identities():
            assert sqlite.load_peer_identity(address) == memory.load_peer_identity(address)
        assert sqlite.load_local_identity() == memory.load_local_identity()
        assert sqlite.load_prekeys() == memory.load_prekeys()
