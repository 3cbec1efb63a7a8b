"""The client's detection order (escrow.css.orders): checked when built, and covering
exactly its users, its half-open window and its database version."""

import pytest

from escrow.css.errors import CssError
from escrow.css.orders import DetectionOrder, OrderError
from escrow.errors import EscrowError


def order(**changes) -> DetectionOrder:
    terms = dict(order_id="D-1", users=("bob", "alice"), not_before=100.0, not_after=200.0,
                 database_version=3)
    terms.update(changes)
    return DetectionOrder(**terms)


def test_an_order_covers_its_users_in_its_window_at_its_version_only():
    o = order()
    assert o.users == ("alice", "bob")
    assert o.covers("alice", 100.0, 3) and o.covers("bob", 199.999, 3)
    assert not o.covers("alice", 200.0, 3), "the window's end is excluded"
    assert not o.covers("alice", 99.999, 3)
    assert not o.covers("carol", 150.0, 3)
    assert not o.covers("alice", 150.0, 4)
    assert not o.covers("alic", 150.0, 3), "users are named exactly, never by prefix"


@pytest.mark.parametrize("changes, message", [
    ({"order_id": ""}, "detection order id"),
    ({"users": ()}, "1..10000 users"),
    ({"users": "alice"}, "list of user ids"),
    ({"users": ("alice", "alice")}, "each user once"),
    ({"users": ("alice", 7)}, "detection order user 7"),
    ({"users": ("a\nb",)}, "printable"),
    ({"not_before": 200.0}, "is empty"),
    ({"not_after": float("inf")}, "finite"),
    ({"not_before": True}, "not_before"),
    ({"database_version": -1}, "database version"),
    ({"database_version": True}, "database version"),
    ({"database_version": 1.0}, "database version"),
])
def test_a_malformed_order_is_refused_with_an_order_error(changes, message):
    with pytest.raises(OrderError, match=message):
        order(**changes)


def test_order_errors_are_css_and_escrow_errors():
    assert issubclass(OrderError, CssError) and issubclass(CssError, EscrowError)


def test_an_order_cannot_be_edited():
    with pytest.raises(AttributeError):
        order().users = ("mallory",)
