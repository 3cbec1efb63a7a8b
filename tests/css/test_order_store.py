"""A device's accepted detection orders survive a restart (escrow/css/order_store.py, the
hook's store; docs/detection_orders.md, "Across a restart"): the stored bytes are
re-verified when a hook is built over them, a store that is not the device's, or holds an
order that does not verify, is refused and left as it was, and an expired order is not
honoured after the restart."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from authority_portal.warrants.detection import decode_logged, encode_logged
from escrow.css.order_store import APPLICATION_ID, OrderStore, OrderStoreError, StoredOrder
from escrow.css.orders import OrderError
from escrowlab.css.world import DAY, build


@pytest.fixture
def world(tmp_path):
    return build(("alice", "bob"), listed=2, innocent=0, order_store_dir=tmp_path)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_accepted_order_still_covers_after_a_restart_and_is_not_accepted_twice(world):
    now = world.clock.now()
    order = world.order(("alice",), now, now + DAY)
    world.hooks["alice"].accept_order(order)
    hook = world.restart("alice")
    assert list(hook.orders) == ["D-1"] and hook.lapsed == [] and hook.scans == []
    world.send_image("alice", "bob", world.listed[0][1])
    assert [s.order_id for s in hook.scans] == ["D-1"], "the restarted device still scans"
    with pytest.raises(OrderError, match="replayed"):
        hook.accept_order(order)  # the replay memory came back with the store
    assert [s.order_id for s in world.restart("alice").store.load()] == ["D-1"]


def test_an_expired_order_is_not_honoured_after_a_restart(world):
    now = world.clock.now()
    world.hooks["alice"].accept_order(world.order(("alice",), now, now + DAY))
    world.hooks["alice"].accept_order(world.order(("alice",), now, now + 3 * DAY))
    world.clock.advance(2 * DAY)
    hook = world.restart("alice")
    assert list(hook.orders) == ["D-2"] and hook.lapsed == ["D-1"]
    world.clock.advance(2 * DAY)
    hook = world.restart("alice")
    assert hook.orders == {} and sorted(hook.lapsed) == ["D-1", "D-2"]
    world.send_image("alice", "bob", world.listed[0][1])
    assert hook.scans == [] and hook.covers == 1


def _tamper(path, sql, *params):
    db = sqlite3.connect(path)
    with db:
        db.execute(sql, params)
    db.close()


@pytest.mark.parametrize("damage, reason", [
    ("random bytes", "not an escrowlab detection-order store"),
    ("empty file", "application id is 0x0"),
    ("another sqlite database", "application id is 0x0"),
    ("another format", "format 2"),
    ("an extra table", "tables are not the store's"),
    ("another user's store", "belongs to 'bob'"),
    ("an order's bytes altered", "does not verify"),
    ("an order under another id", "under the id"),
    ("a malformed row", "malformed row"),
    ("an order no judge signed", "does not verify"),
])
def test_a_corrupt_or_foreign_store_is_refused_and_changes_nothing(world, damage, reason):
    alice = world.hooks["alice"]
    now = world.clock.now()
    alice.accept_order(world.order(("alice",), now, now + DAY))
    path = alice.store.path
    if damage == "random bytes":
        path.write_bytes(b"\x93" * 4096)
    elif damage == "empty file":
        path.write_bytes(b"")
    elif damage == "another sqlite database":
        path.unlink()
        _tamper(path, "CREATE TABLE notes (body TEXT)")
    elif damage == "another format":
        _tamper(path, "PRAGMA user_version = 2")
    elif damage == "an extra table":
        _tamper(path, "CREATE TABLE extra (x)")
    elif damage == "another user's store":
        world.hooks["bob"].accept_order(world.order(("bob",), now, now + DAY))
        path.write_bytes(world.hooks["bob"].store.path.read_bytes())
    elif damage == "an order's bytes altered":
        signed, receipt = decode_logged(alice.store.load()[0].encoded)
        _tamper(path, "UPDATE orders SET encoded = ?",
                encode_logged(signed.replace(b'"alice"', b'"alicf"'), receipt))
    elif damage == "an order under another id":
        _tamper(path, "UPDATE orders SET order_id = 'D-9'")
    elif damage == "a malformed row":
        _tamper(path, "UPDATE orders SET accepted_at = 'yesterday'")
    else:
        other = build(("alice",), listed=2, innocent=0)  # another judge and log
        _tamper(path, "INSERT INTO orders VALUES ('D-2', ?, ?)", now,
                other.order(("alice",), now, now + DAY, order_id="D-2"))
    before = _digest(path)
    with pytest.raises(OrderStoreError, match=reason):
        world.restart("alice")
    assert _digest(path) == before, "a refused store is not written to"
    assert world.hooks["alice"] is alice and list(alice.orders) == ["D-1"]


def test_a_new_store_is_the_devices_and_only_opens_as_such(tmp_path, monkeypatch):
    path = tmp_path / "orders"
    store = OrderStore.open(path, "alice")
    assert store.load() == [] and store.user == "alice"
    store.add(StoredOrder("D-1", 5.0, b"order bytes"))
    with pytest.raises(OrderStoreError, match="D-1"):
        store.add(StoredOrder("D-1", 6.0, b"other bytes"))  # one row per order
    monkeypatch.setattr("escrow.css.order_store.MAX_STORED_ORDERS", 1)
    with pytest.raises(OrderStoreError, match="full"):
        store.add(StoredOrder("D-2", 6.0, b"other bytes"))
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()
    assert OrderStore.open(path, "alice").load() == [StoredOrder("D-1", 5.0, b"order bytes")]
    for user in ("", "a b\n", 7):
        with pytest.raises(OrderStoreError, match="user"):
            OrderStore.open(tmp_path / "other", user)
    with pytest.raises(OrderStoreError, match="not a file"):
        OrderStore.open(tmp_path, "alice")
    assert not (tmp_path / "other").exists()


def test_an_order_that_cannot_be_stored_is_not_obeyed(world):
    alice = world.hooks["alice"]
    alice.store.close()
    now = world.clock.now()
    with pytest.raises(OrderStoreError, match="cannot store order D-1"):
        alice.accept_order(world.order(("alice",), now, now + DAY))
    assert alice.orders == {}


def test_a_hook_refuses_another_users_store(world):
    from escrow.css.hook import CssContentHook

    bob = world.hooks["bob"]
    with pytest.raises(OrderStoreError, match="bob's device, not alice's"):
        CssContentHook("alice", bob.client, bob.hasher, bob.verifier, world.clock,
                       store=bob.store)


def test_an_order_whose_judge_is_no_longer_trusted_makes_the_store_refused(world):
    from audit.note import Signer
    from authority_portal.warrants.detection import DetectionOrderVerifier
    from authority_portal.warrants.judges import Judge, JudgeRegistry
    from escrow.css.hook import CssContentHook
    from escrowlab.css.world import JURISDICTION, POLICY

    alice = world.hooks["alice"]
    now = world.clock.now()
    alice.accept_order(world.order(("alice",), now, now + DAY))
    other = Signer.generate("J2")
    revoked = DetectionOrderVerifier(JudgeRegistry([Judge("J2", JURISDICTION, other.verifier)]),
                                     POLICY, world.trust)
    store = OrderStore.open(alice.store.path, "alice")
    with pytest.raises(OrderStoreError, match="does not verify"):
        CssContentHook("alice", alice.client, alice.hasher, revoked, world.clock, store=store)
    assert [s.order_id for s in store.load()] == ["D-1"]
