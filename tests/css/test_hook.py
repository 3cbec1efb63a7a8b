"""The content hook of mode css (escrow/css/hook.py) on real devices (escrowlab/css/world.py):
images are scanned only under a detection order that covers the sender, the time and the
table's version; every image carries a voucher either way; recipients judge vouchers."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authority_portal.warrants.detection import decode_logged, encode_logged
from escrow.css.hook import DERIVATIVE_SIDE, CssContentHook, visual_derivative
from escrow.css.images import decode_image
from escrow.css.orders import OrderError
from escrow.css.vouchers import VOUCHER_BYTES, decode
from escrowlab.css.world import DAY, build
from messaging.content_hook import ContentRefusedError, IncomingContent
from messaging.errors import VoucherRefusedError
from messaging.events import ReceiveFailed


@pytest.fixture(scope="module")
def world():
    return build(listed=3, innocent=2)


def _send_all(w, sender, to, images):
    for _, image in images:
        w.send_image(sender, to, image)
    return w.receive(to)


def test_under_an_order_listed_images_reach_the_provider_at_t_and_nothing_else(world):
    w = world
    now = w.clock.now()
    w.hooks["alice"].accept_order(w.order(("alice",), now, now + DAY))
    delivered = _send_all(w, "alice", "bob", w.innocent + w.listed)
    w.send_text("alice", "bob", "no attachment")
    assert [m.kind for m in delivered + w.receive("bob")] == ["image"] * 5 + ["text"]
    assert w.collect() == 5
    view = w.provider.matcher.view("alice")
    assert (view.received, view.opened, view.revealed) == (5, 3, True)
    assert sorted(view.derivatives) == sorted(visual_derivative(decode_image(image))
                                              for _, image in w.listed)
    assert [s.order_id for s in w.hooks["alice"].scans] == ["D-1"] * 5
    # Bob is under no order: his images are not scanned, and still carry a (cover) voucher
    _send_all(w, "bob", "alice", w.listed)
    assert w.collect() == 3 and w.hooks["bob"].scans == [] and w.hooks["bob"].covers == 3
    assert w.provider.matcher.view("bob").opened == 0


def test_a_derivative_is_a_small_grey_png(world):
    derivative = visual_derivative(decode_image(world.listed[0][1]))
    assert decode_image(derivative).shape == (DERIVATIVE_SIDE, DERIVATIVE_SIDE)
    assert len(derivative) <= 4096


@pytest.mark.parametrize("scope", ["another user", "before the window", "after the window",
                                   "another database version"])
def test_an_order_that_does_not_cover_the_message_scans_nothing(scope):
    w = build(listed=2, innocent=0)
    now = w.clock.now()
    users, start, end, version = ("alice",), now, now + DAY, 1
    if scope == "another user":
        users = ("carol",)
    elif scope == "before the window":
        start, end = now + DAY, now + 2 * DAY
    elif scope == "after the window":
        start, end = now - DAY, now
    else:
        version = 2
    w.hooks["alice"].accept_order(w.order(users, start, end, version))
    _send_all(w, "alice", "bob", w.listed)
    w.collect()
    assert w.hooks["alice"].scans == [] and w.hooks["alice"].covers == 2
    assert w.provider.matcher.view("alice").opened == 0


def test_a_forged_or_replayed_order_is_refused_and_kept_nowhere(world):
    w, hook = world, world.hooks["bob"]
    now = w.clock.now()
    order = w.order(("bob",), now, now + DAY)
    signed, receipt = decode_logged(order)
    assert b"bob" in signed
    forged = encode_logged(signed.replace(b"bob", b"bib", 1), receipt)
    unlogged = signed  # the judge's signature alone: the device wants the logged approval
    for bad in (forged, unlogged, b"not an order"):
        with pytest.raises(OrderError):
            hook.accept_order(bad)
    assert hook.orders == {}
    accepted = hook.accept_order(order)
    with pytest.raises(OrderError, match="replayed"):
        hook.accept_order(order)
    assert list(hook.orders) == [accepted.order_id]


def test_an_image_the_hook_cannot_read_is_not_sent(world):
    alice = world.devices["alice"]
    with pytest.raises(ContentRefusedError, match="cannot be scanned"):
        alice.send_image("bob", b"\x89PNG but not really")
    assert alice.outbox_size == 0


class Rogue(CssContentHook):
    """A modified client: an image gets ``image(honest voucher)``, a text ``text``."""

    def __init__(self, honest: CssContentHook, image, text) -> None:
        self.__dict__.update(honest.__dict__)
        self.image, self.text = image, text

    def inspect(self, outgoing):
        if b'"kind":"image"' in outgoing.plaintext:
            return self.image(super().inspect(outgoing))
        return self.text


@pytest.mark.parametrize("image, text, reason", [
    (lambda honest: None, None, "without a safety voucher"),
    (lambda honest: b"garbage" * 10, None, "malformed safety voucher"),
    (lambda honest: honest, b"v" * 10, "vouchers ride only"),
], ids=["stripped", "garbage", "on a text"])
def test_the_recipient_refuses_what_its_policy_refuses(image, text, reason):
    w = build(listed=1, innocent=0)
    w.devices["alice"].content_hook = Rogue(w.hooks["alice"], image, text)
    w.send_image("alice", "bob", w.listed[0][1])
    w.send_text("alice", "bob", "text")
    delivered = w.receive("bob")
    failures = [e for e in w.devices["bob"].drain_events() if isinstance(e, ReceiveFailed)]
    assert len(delivered) == 1 and len(failures) == 1 and reason in failures[0].reason


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=VOUCHER_BYTES + 8), st.sampled_from(["image", "text"]))
def test_any_voucher_bytes_are_accepted_only_if_they_parse_on_an_image(world, data, kind):
    incoming = IncomingContent("dm:alice:bob", "alice:1", "bob:1", kind, data)
    try:
        world.hooks["bob"].check_incoming(incoming)
    except VoucherRefusedError:
        return
    assert kind == "image" and decode(data).encode() == data
