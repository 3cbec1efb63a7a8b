"""Text detection on the device under a detection order (escrow/css/textscan.py,
escrow/css/hook.py; docs/css.md, "Text under an order"): the user's covered outgoing texts
in a conversation are scored in a sliding window, a flag is a voucher for the database's
text flag entry, revealed to the provider only at t, and every other text gets a cover
voucher."""

from __future__ import annotations

import pytest

from escrow.css import psi
from escrow.css.chats import generate_chats
from escrow.css.orders import IMAGES, TEXT
from escrow.css.text import MAX_MESSAGE_CHARS, TextDetector
from escrow.css.textscan import (
    DERIVATIVE_PREFIX,
    MAX_WINDOW,
    TextScanError,
    TextScanner,
    read_text_derivative,
    text_derivative,
    text_flag,
    with_text_flag,
)
from escrow.css.vouchers import DERIVATIVE_BYTES, VOUCHER_BYTES, decode, open_outer
from escrowlab.css.world import DAY, build
from messaging.content import encode_content
from messaging.content_hook import ContentRefusedError, IncomingContent, OutgoingContent
from messaging.errors import VoucherRefusedError
from messaging.events import ReceiveFailed
from messaging.limits import MAX_BODY_CHARS
from messaging.wire import read_voucher

BENIGN = ["hi sam how are you", "did you finish the maths homework", "see you at the park"]
SECRECY = "keep our chats secret"
CHANNEL = "add me on another app instead"


@pytest.fixture(scope="module")
def detector() -> TextDetector:
    """Trained once for the module; flags a window whose indicators span two families."""
    return TextDetector.train(generate_chats(300, 0.5, seed=0), seed=0).with_rule(0.5, 2)


def text_world(detector, **changes):
    return build(("alice", "bob", "carol"), listed=2, innocent=0, text_detector=detector,
                 **changes)


def send_texts(w, sender, to, texts):
    for text in texts:
        w.send_text(sender, to, text)


def test_a_flagged_window_reaches_the_provider_only_at_t(detector):
    w = text_world(detector)
    now = w.clock.now()
    hook = w.hooks["alice"]
    hook.accept_order(w.order(("alice",), now, now + DAY, scope=(TEXT,)))
    send_texts(w, "alice", "bob", BENIGN)
    assert [s.flagged for s in hook.text_scans] == [False] * 3
    windows = []
    for i in range(3):  # t = 3: each flag is its own window of two families
        send_texts(w, "alice", "bob", [SECRECY, f"benign line {i}", CHANNEL])
        windows.append(([*BENIGN] if i == 0 else []) + [SECRECY, f"benign line {i}", CHANNEL])
        w.collect()
        view = w.provider.matcher.view("alice")
        assert view.opened == i + 1, "below t the provider counts opened vouchers, nothing else"
        assert view.revealed == (i == 2)
        assert w.provider.flagged_texts("alice") == (() if i < 2 else tuple(
            tuple(x) for x in windows))
    assert [s.flagged for s in hook.text_scans].count(True) == 3
    assert hook.text.held("dm:alice:bob") == 0, "a flag empties the window"
    assert [m.body for m in w.receive("bob")] == BENIGN + [
        line for i in range(3) for line in (SECRECY, f"benign line {i}", CHANNEL)]
    assert w.provider.matcher.view("bob").received == 0


def test_the_window_is_bounded_and_per_conversation(detector):
    w = text_world(detector, text_window=2)
    now = w.clock.now()
    hook = w.hooks["alice"]
    hook.accept_order(w.order(("alice",), now, now + DAY, scope=(TEXT,)))
    send_texts(w, "alice", "bob", [SECRECY, "one", CHANNEL])  # SECRECY left the window
    w.send_text("alice", "carol", SECRECY)
    w.send_text("alice", "bob", "two")
    w.send_text("alice", "carol", CHANNEL)  # carol's window: SECRECY, CHANNEL
    assert [(s.messages, s.flagged) for s in hook.text_scans] == [
        (1, False), (2, False), (2, False), (1, False), (2, False), (2, True)]
    assert hook.text.held("dm:alice:bob") == 2 and hook.text.held("dm:alice:carol") == 0


@pytest.mark.parametrize("scope", ["another user", "before the window", "after the window",
                                   "another database version", "images only"])
def test_nothing_is_scored_outside_the_order(detector, scope):
    w = text_world(detector)
    now = w.clock.now()
    users, start, end, version, what = ("alice",), now, now + DAY, 1, (TEXT,)
    if scope == "another user":
        users = ("carol",)
    elif scope == "before the window":
        start, end = now + DAY, now + 2 * DAY
    elif scope == "after the window":
        start, end = now - DAY, now
    elif scope == "another database version":
        version = 2
    else:
        what = (IMAGES,)
    hook = w.hooks["alice"]
    hook.accept_order(w.order(users, start, end, version, scope=what))
    send_texts(w, "alice", "bob", [SECRECY, CHANNEL] * 3)
    w.collect()
    assert hook.text_scans == [] and hook.text_covers == 6
    assert hook.text.held("dm:alice:bob") == 0, "nothing outside an order is kept"
    assert w.provider.matcher.view("alice").received == 6
    assert w.provider.matcher.view("alice").opened == 0


def test_texts_sent_before_the_order_are_never_scored(detector):
    w = text_world(detector)
    hook = w.hooks["alice"]
    w.send_text("alice", "bob", SECRECY)
    now = w.clock.now()
    hook.accept_order(w.order(("alice",), now, now + DAY, scope=(TEXT,)))
    w.send_text("alice", "bob", CHANNEL)
    assert [(s.messages, s.flagged) for s in hook.text_scans] == [(1, False)]


def test_an_images_and_text_order_scans_both_and_a_text_order_no_image(detector):
    w = text_world(detector)
    now = w.clock.now()
    w.hooks["alice"].accept_order(w.order(("alice",), now, now + DAY, scope=(IMAGES, TEXT)))
    w.hooks["bob"].accept_order(w.order(("bob",), now, now + DAY, scope=(TEXT,)))
    for user, to in (("alice", "bob"), ("bob", "alice")):
        w.send_image(user, to, w.listed[0][1])
        w.send_text(user, to, "hello")
    assert len(w.hooks["alice"].scans) == 1 and len(w.hooks["alice"].text_scans) == 1
    assert w.hooks["bob"].scans == [] and w.hooks["bob"].covers == 1
    assert len(w.hooks["bob"].text_scans) == 1


def test_scanned_and_unscanned_texts_look_alike(detector):
    w = text_world(detector)
    now = w.clock.now()
    w.hooks["alice"].accept_order(w.order(("alice",), now, now + DAY, scope=(TEXT,)))
    texts = [SECRECY, CHANNEL, "see you at six"]  # the second flags the window
    send_texts(w, "alice", "bob", texts)
    send_texts(w, "carol", "bob", texts)  # carol is under no order
    entries = w.relay.archive.entries()
    sizes = {(e.sender.split(":")[0], len(e.envelope)) for e in entries}
    vouchers = [read_voucher(e.envelope) for e in entries]
    assert all(v is not None and len(v) == VOUCHER_BYTES for v in vouchers)
    assert len({n for _, n in sizes}) == len(texts), "one size per text, whoever sent it"
    opened = [open_outer(w.provider.secret, decode(v)) is not None for v in vouchers]
    assert opened == [False, True, False, False, False, False]
    assert len(w.receive("bob")) == 6


def test_the_text_flag_is_public_per_version_and_blinded_only_for_text(detector):
    flag = text_flag(1, 32)
    assert flag == text_flag(1, 32) and flag != text_flag(2, 32) and len(text_flag(1, 8)) == 8
    w, images_only = text_world(detector), build(listed=2, innocent=0)
    assert w.provider.text_flag == flag and images_only.provider.text_flag is None
    assert flag not in w.provider.database, "the suppliers' intersection is unchanged"
    assert w.provider.table == psi.build_table(with_text_flag(w.provider.database),
                                               w.provider.secret)
    assert images_only.provider.table == psi.build_table(images_only.provider.database,
                                                         images_only.provider.secret)
    for bad in (0, 65, True, "32"):
        with pytest.raises(TextScanError):
            text_flag(1, bad)


def test_a_derivative_keeps_the_newest_messages_within_its_bound():
    assert read_text_derivative(text_derivative(["a", "b\n\"c\""])) == ("a", "b\n\"c\"")
    long = [f"{i} " + "é" * 900 for i in range(10)]
    derivative = text_derivative(long)
    kept = read_text_derivative(derivative)
    assert len(derivative) <= DERIVATIVE_BYTES and kept == tuple(long[-len(kept):])
    one = text_derivative(["\x00" * MAX_MESSAGE_CHARS])
    assert len(one) <= DERIVATIVE_BYTES and read_text_derivative(one)[0] == "\x00" * (
        len(read_text_derivative(one)[0]))
    assert read_text_derivative(b"\x89PNG\r\n") is None
    for bad in (DERIVATIVE_PREFIX + b"{", DERIVATIVE_PREFIX + b"[1]",
                DERIVATIVE_PREFIX + b'{"a":"b"}'):
        with pytest.raises(TextScanError):
            read_text_derivative(bad)


def test_the_detector_takes_every_body_the_content_parser_accepts():
    assert MAX_BODY_CHARS <= MAX_MESSAGE_CHARS


def test_malformed_input_is_refused_and_changes_nothing(detector):
    w = text_world(detector)
    now = w.clock.now()
    hook = w.hooks["alice"]
    hook.accept_order(w.order(("alice",), now, now + DAY, scope=(TEXT,)))
    for plaintext, sender, match in ((b"not content", "alice:1", "cannot read"),
                                     (encode_content("text", SECRECY, now, to="bob"),
                                      "bob:1", "scans for alice")):
        with pytest.raises(ContentRefusedError, match=match):
            hook.inspect(OutgoingContent("dm:alice:bob", sender, ("bob",), plaintext, now))
    assert hook.text_scans == [] and hook.text.held("dm:alice:bob") == 0
    for bad in (0, MAX_WINDOW + 1, True, 2.0):
        with pytest.raises(TextScanError):
            TextScanner(detector, bad)


@pytest.mark.parametrize("kind, voucher, reason", [
    ("text", None, "without a safety voucher"),
    ("text", b"v" * 10, "malformed safety voucher"),
    ("group-text", "honest", "ride only with images and texts"),
])
def test_the_recipient_refuses_a_text_its_policy_refuses(detector, kind, voucher, reason):
    w = text_world(detector)
    if voucher == "honest":
        voucher = w.hooks["alice"].inspect(OutgoingContent(
            "dm:alice:bob", "alice:1", ("bob",), encode_content("text", "hi", 0.0, to="bob"),
            0.0))
    with pytest.raises(VoucherRefusedError, match=reason):
        w.hooks["bob"].check_incoming(IncomingContent("dm:alice:bob", "alice:1", "bob:1",
                                                      kind, voucher))


def test_a_client_that_sends_texts_without_vouchers_is_refused(detector):
    w = text_world(detector)
    w.devices["alice"].content_hook = w.hooks["alice"].__class__(
        "alice", w.hooks["alice"].client, w.hooks["alice"].hasher,
        w.hooks["alice"].verifier, w.clock)  # the same device, without the text scanner
    w.send_text("alice", "bob", "hello")
    assert w.receive("bob") == []
    failures = [e for e in w.devices["bob"].drain_events() if isinstance(e, ReceiveFailed)]
    assert len(failures) == 1 and "without a safety voucher" in failures[0].reason


def test_flags_and_image_matches_share_one_threshold(detector):
    w = text_world(detector)
    now = w.clock.now()
    w.hooks["alice"].accept_order(w.order(("alice",), now, now + DAY, scope=(IMAGES, TEXT)))
    for _, image in w.listed:  # two image matches, t = 3
        w.send_image("alice", "bob", image)
    w.collect()
    assert not w.provider.matcher.view("alice").revealed
    send_texts(w, "alice", "bob", [SECRECY, CHANNEL])
    w.collect()
    view = w.provider.matcher.view("alice")
    assert view.revealed and len(view.derivatives) == 3
    assert w.provider.flagged_texts("alice") == ((SECRECY, CHANNEL),)
