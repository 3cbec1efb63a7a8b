"""The device store contract, run against the in-memory and the SQLite implementation."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("bad", ["", 7, None, "x" * (MAX_ID_LENGTH + 1), "\udc80"])
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
