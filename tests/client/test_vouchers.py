"""Safety vouchers end to end (messaging.content_hook, docs/css.md): the sender's content hook
attaches one voucher to every envelope of a message, the provider reads it from the archive,
and the recipient's hook refuses a message its mode's policy refuses, changing nothing."""

from __future__ import annotations

import pytest

from messaging.addresses import direct_conversation_id
from messaging.content import encode_image
from messaging.content_hook import (
    ContentHook,
    ContentRefusedError,
    IncomingContent,
    NoScanning,
    OutgoingContent,
)
from messaging.errors import ContentError, VoucherRefusedError
from messaging.events import ReceiveFailed
from messaging.limits import MAX_IMAGE_BYTES, MAX_VOUCHER_LENGTH
from messaging.wire import read_voucher

DM = direct_conversation_id("alice", "bob")
IMAGE = b"\x89PNG stand-in " + bytes(range(256))


class Vouching:
    """A test double of a scanning mode: a voucher for every image, and a recipient policy
    that, with ``require``, refuses an image without one (and any voucher on other kinds)."""

    mode = "vouching"

    def __init__(self, voucher: object = b"voucher", require: bool = True) -> None:
        self.voucher, self.require = voucher, require
        self.seen: list[OutgoingContent] = []
        self.judged: list[IncomingContent] = []

    def inspect(self, outgoing: OutgoingContent) -> object:
        self.seen.append(outgoing)
        return self.voucher if b'"kind":"image"' in outgoing.plaintext else None

    def check_incoming(self, incoming: IncomingContent) -> None:
        self.judged.append(incoming)
        if self.require and (incoming.kind == "image") != (incoming.voucher is not None):
            raise VoucherRefusedError(f"a {incoming.kind} message must carry a voucher "
                                      "exactly when it is an image")


@pytest.fixture
def devices(make):
    alice, bob = make("alice"), make("bob")
    bob2 = bob.link_device(2)
    for device in (alice, bob, bob2):
        device.content_hook = Vouching()
    assert isinstance(alice.content_hook, ContentHook)
    alice.send_text("bob", "hello")  # sessions exist; the next message is a normal one
    for device in (bob, bob2):
        device.receive_all()
    return alice, bob, bob2


def test_every_envelope_of_an_image_carries_the_voucher_and_the_provider_reads_it(devices,
                                                                                 relay):
    alice, bob, bob2 = devices
    ids = alice.send_image("bob", IMAGE)
    entries = [relay.archive.entry(i) for i in ids]
    assert sorted(e.recipient for e in entries) == ["bob:1", "bob:2"]
    assert [e.voucher for e in entries] == [b"voucher", b"voucher"]
    assert [read_voucher(e.envelope) for e in entries] == [b"voucher", b"voucher"]
    assert all(b"voucher" not in e.envelope[-len(IMAGE):] for e in entries)
    texts = [relay.archive.entry(i) for i in alice.send_text("bob", "no attachment")]
    assert [e.voucher for e in texts] == [None, None]
    for device in (bob, bob2):
        (image, text) = device.receive_all()
        assert (image.kind, image.image, text.body) == ("image", IMAGE, "no attachment")
        assert [(j.kind, j.voucher) for j in device.content_hook.judged[-2:]] == \
            [("image", b"voucher"), ("text", None)]


def test_an_image_without_a_voucher_is_refused_and_changes_nothing(devices):
    alice, bob, _ = devices
    alice.content_hook = Vouching(voucher=None)  # a modified client that attaches none
    alice.send_image("bob", IMAGE)
    before = bob.session_with(DM, "alice:1").serialize()
    assert bob.receive_all() == []
    (failed,) = [e for e in bob.drain_events() if isinstance(e, ReceiveFailed)]
    assert "voucher" in failed.reason and failed.sender == "alice:1"
    assert bob.session_with(DM, "alice:1").serialize() == before
    alice.content_hook = Vouching()
    alice.send_image("bob", IMAGE)
    assert [m.image for m in bob.receive_all()] == [IMAGE]


def test_a_recipient_that_does_not_require_vouchers_accepts_the_image(devices):
    alice, bob, _ = devices
    alice.content_hook = Vouching(voucher=None)
    bob.content_hook = Vouching(require=False)
    alice.send_image("bob", IMAGE)
    assert [(m.kind, m.image) for m in bob.receive_all()] == [("image", IMAGE)]


def test_a_device_that_scans_nothing_refuses_a_voucher(make):
    alice, bob = make("alice"), make("bob")
    alice.content_hook = Vouching()
    assert isinstance(bob.content_hook, NoScanning)
    alice.send_image("bob", IMAGE)  # a first (prekey) message: no session may start
    assert bob.receive_all() == []
    (failed,) = [e for e in bob.drain_events() if isinstance(e, ReceiveFailed)]
    assert "voucher" in failed.reason
    assert bob.session_with(DM, "alice:1") is None
    alice.content_hook = NoScanning()
    alice.send_image("bob", IMAGE)
    assert [m.image for m in bob.receive_all()] == [IMAGE]


class Failing(Vouching):
    def check_incoming(self, incoming: IncomingContent) -> None:
        raise RuntimeError("policy bug")


def test_a_content_hook_that_fails_is_a_refusal(devices):
    alice, bob, _ = devices
    bob.content_hook = Failing()
    alice.send_text("bob", "x")
    assert bob.receive_all() == []
    (failed,) = [e for e in bob.drain_events() if isinstance(e, ReceiveFailed)]
    assert "content hook failed (RuntimeError)" in failed.reason


@pytest.mark.parametrize("voucher", [b"", b"v" * (MAX_VOUCHER_LENGTH + 1), "text", 7])
def test_a_bad_voucher_from_the_hook_stops_the_send_with_nothing_queued(devices, voucher):
    alice, bob, _ = devices
    alice.content_hook = Vouching(voucher=voucher)
    with pytest.raises(ContentRefusedError, match="voucher"):
        alice.send_image("bob", IMAGE)
    assert alice.outbox_size == 0
    assert bob.receive_all() == []


def test_the_largest_voucher_and_image_fit_one_request_to_every_device(devices):
    alice, bob, bob2 = devices
    alice.link_device(2).content_hook = Vouching()
    alice.content_hook = Vouching(voucher=b"v" * MAX_VOUCHER_LENGTH)
    big = bytes(range(256)) * (MAX_IMAGE_BYTES // 256)
    assert len(alice.send_image("bob", big)) == 3
    assert [m.image == big for m in bob.receive_all()] == [True]


def test_image_content_is_bounded_and_non_images_have_no_image():
    with pytest.raises(ValueError):
        encode_image(b"", 1.0, "bob")
    with pytest.raises(ValueError):
        encode_image(bytes(MAX_IMAGE_BYTES + 1), 1.0, "bob")
    assert encode_image(b"ABC", 1.0, "bob") == \
        b'{"body":"QUJD","group":null,"kind":"image","sent_at":1.0,"to":"bob","v":1}'


def test_a_text_message_has_no_image(devices):
    alice, bob, _ = devices
    alice.send_text("bob", "hi")
    (message,) = bob.receive_all()
    with pytest.raises(ContentError):
        _ = message.image


def test_queued_images_go_out_in_requests_the_relay_accepts(make):
    alice, bob = make("alice"), make("bob")
    alice.send_text("bob", "hello")
    bob.receive_all()
    requests = []
    send = alice.relay.send
    alice.relay.send = lambda envelopes, **kw: requests.append(len(envelopes)) or \
        send(envelopes, **kw)
    big = bytes(range(256)) * (MAX_IMAGE_BYTES // 256)
    for _ in range(6):
        alice.queue_content(DM, ("bob",), encode_image(big, 1.0, "bob"))
    assert len(alice.flush()) == 6
    assert sum(requests) == 6 and len(requests) > 1 and max(requests) < 6
    assert [m.image == big for m in bob.receive_all()] == [True] * 6
