"""The content hook of mode ``css`` on one device: scan an attachment under a detection order,
attach a safety voucher, and judge the vouchers of received messages (docs/css.md).

Sending (:meth:`CssContentHook.inspect`, called by the client before any envelope of a
message is made, :mod:`messaging.content_hook`):

- a message that is not an ``image`` gets no voucher;
- an image is decoded (:func:`escrow.css.images.decode_image`) whether or not anything will
  be scanned, so that what the device refuses to send tells nobody whether an order covers
  its user; an image the hook cannot read is refused (:class:`ContentRefusedError`): a
  scanning client sends only what it can scan;
- the image is *scanned* only under a detection order the device holds that covers its
  user, the sending time and the database version of the blinded table it holds
  (:meth:`escrow.css.orders.DetectionOrder.covers`; the EU proposal's detection orders,
  docs/detection_orders.md): its perceptual hash (:mod:`escrow.css.hashers`) and a visual
  derivative (a :data:`DERIVATIVE_SIDE`-pixel grey thumbnail, PNG) go into a voucher from
  the account's :class:`~escrow.css.vouchers.VoucherClient` (docs/css_matcher.md);
- without such an order nothing is scanned, and the image still gets a *cover* voucher: a
  voucher for a random hash, which never matches, so that the provider, the relay and the
  recipient cannot tell a scanned image from an unscanned one (whether a user is under an
  order is not theirs to learn), and a recipient can require a voucher on every image. An
  image whose hash the hasher refuses (PDQ's quality below 50) gets a cover voucher too.

Texts (:mod:`escrow.css.textscan`; docs/css.md, "Text under an order"), only on a device given
a :class:`~escrow.css.textscan.TextScanner` (a deployment that scans text): every ``text``
message gets a voucher. Under an order whose scope includes text and that covers the user,
the time and the table's version, the text joins its conversation's sliding window and the
window is scored; a flagged window gets a voucher for the database's text flag entry
carrying the window's messages, everything else a cover voucher. Without such a scanner a
text gets no voucher, as before.

Orders reach the device as signed bytes and are kept only if the device's
:class:`~escrow.css.orders.OrderVerifier` accepts them at the device's clock
(:meth:`CssContentHook.accept_order`). A hook given an
:class:`~escrow.css.order_store.OrderStore` writes every order it accepts there before it
obeys it, and when it is built re-verifies every stored order with its verifier, now or,
failing that, at the time it was accepted (which also rebuilds the verifier's replay
memory): an order that does not verify either way makes the store refused
(:class:`~escrow.css.order_store.OrderStoreError`, no hook), and one that verifies only as
it was (expired by the device's clock now), or whose window has ended, is not honoured
(:attr:`CssContentHook.lapsed`; docs/detection_orders.md, "Across a restart").
:attr:`CssContentHook.scans` lists every scan (order id and time) and
:attr:`CssContentHook.covers` counts the cover vouchers, so that a scenario can count what
was scanned and under which order.

Receiving (:meth:`CssContentHook.check_incoming`, after the tag verified): a voucher rides
only with an image (and, when the device scans text, a text) and must parse as a safety
voucher (:func:`escrow.css.vouchers.decode`); with ``require_vouchers`` (the recipient's
policy) an image (or such a text) without one is refused. A refusal is a
:class:`~messaging.errors.VoucherRefusedError`, and the client then changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy
from PIL import Image

from escrow.css.errors import CssError
from escrow.css.hashers import Hasher
from escrow.css.images import decode_image, encode_image
from escrow.css.mode import MODE
from escrow.css.order_store import OrderStore, OrderStoreError, StoredOrder
from escrow.css.orders import IMAGES, TEXT, DetectionOrder, OrderError, OrderVerifier
from escrow.css.textscan import TextScan, TextScanner, text_derivative, text_flag
from escrow.css.vouchers import VoucherClient, decode
from messaging.addresses import parse_address
from messaging.clock import Clock
from messaging.content import decode_content, image_bytes
from messaging.content_hook import ContentRefusedError, IncomingContent, OutgoingContent
from messaging.errors import MessagingError, VoucherRefusedError

DERIVATIVE_SIDE = 32


def visual_derivative(image: numpy.ndarray) -> bytes:
    """The low-resolution copy a voucher carries for review (Apple's "visual derivative"): the
    image in grey, :data:`DERIVATIVE_SIDE` pixels a side, as PNG (about 1 KB, under the
    voucher's 4,096-byte bound)."""
    grey = Image.fromarray(image).convert("L").resize((DERIVATIVE_SIDE, DERIVATIVE_SIDE),
                                                      Image.Resampling.BILINEAR)
    return encode_image(numpy.asarray(grey))


@dataclass(frozen=True)
class Scan:
    """One image this device scanned: under which order, at what (sending) time."""

    order_id: str
    time: float


class CssContentHook:
    """The ``css`` content hook of the device of ``user`` (module docstring).

    ``client`` makes the account's vouchers for the table it holds, ``hasher`` is the
    on-device perceptual hash, ``verifier`` checks detection orders at ``clock``; ``text``,
    if given, scans texts under orders whose scope includes text; ``store``, if given, keeps
    the accepted orders across a restart.
    """

    mode = MODE

    def __init__(self, user: str, client: VoucherClient, hasher: Hasher,
                 verifier: OrderVerifier, clock: Clock, *, require_vouchers: bool = True,
                 text: TextScanner | None = None, store: OrderStore | None = None) -> None:
        self.user = user
        self.client = client
        self.hasher = hasher
        self.verifier = verifier
        self.clock = clock
        self.require_vouchers = require_vouchers
        self.orders: dict[str, DetectionOrder] = {}
        self.text = text
        self.scans: list[Scan] = []
        self.covers = 0
        self.text_scans: list[TextScan] = []
        self.text_covers = 0
        self.store = store
        self.lapsed: list[str] = []
        if store is not None:
            self._restore(store)

    def __repr__(self) -> str:
        return f"CssContentHook({self.user!r}, {len(self.orders)} order(s))"

    # -- orders -----------------------------------------------------------------------------

    def _restore(self, store: OrderStore) -> None:
        """Take the store's orders (class docstring); refuse it whole if one does not verify."""
        if store.user != self.user:
            raise OrderStoreError(f"{store} keeps the orders of {store.user}'s device, not "
                                  f"{self.user}'s")
        now = self.clock.now()
        kept: dict[str, DetectionOrder] = {}
        lapsed = []
        for stored in store.load():
            try:
                order, in_force = self.verifier.verify(stored.encoded, now), True
            except OrderError:
                try:  # genuine, but no longer in force (expired) by the clock now?
                    order, in_force = self.verifier.verify(stored.encoded,
                                                           stored.accepted_at), False
                except OrderError as exc:
                    raise OrderStoreError(f"{store} holds order {stored.order_id!r}, which "
                                          f"does not verify as it did when accepted: {exc}") \
                        from None
            if order.order_id != stored.order_id:
                raise OrderStoreError(f"{store} holds order {order.order_id!r} under the id "
                                      f"{stored.order_id!r}")
            if in_force and now < order.not_after:
                kept[order.order_id] = order
            else:
                lapsed.append(order.order_id)
        self.orders.update(kept)
        self.lapsed = lapsed

    def accept_order(self, encoded: bytes) -> DetectionOrder:
        """Keep the order ``encoded`` if the verifier accepts it now
        (:class:`~escrow.css.orders.OrderError` otherwise, nothing kept), in the store first
        if the hook has one (:class:`~escrow.css.order_store.OrderStoreError` if it cannot
        be written, and the order is not obeyed)."""
        now = self.clock.now()
        order = self.verifier.verify(encoded, now)
        if self.store is not None:
            self.store.add(StoredOrder(order.order_id, now, encoded))
        self.orders[order.order_id] = order
        return order

    def covering(self, time: float, content: str = IMAGES) -> DetectionOrder | None:
        """The first held order (by id) that covers this user at ``time``, the table's
        database version and ``content`` (images or text), if any."""
        version = self.client.table.version
        for order_id in sorted(self.orders):
            if self.orders[order_id].covers(self.user, time, version, content):
                return self.orders[order_id]
        return None

    # -- sending ----------------------------------------------------------------------------

    def inspect(self, outgoing: OutgoingContent) -> bytes | None:
        try:
            content = decode_content(outgoing.plaintext)
        except MessagingError as exc:
            raise ContentRefusedError(f"the content hook cannot read the message: {exc}") \
                from None
        scanned_text = content["kind"] == "text" and self.text is not None
        if content["kind"] != "image" and not scanned_text:
            return None
        if parse_address(outgoing.sender)[0] != self.user:
            raise ContentRefusedError(f"this content hook scans for {self.user}, not for "
                                      f"{outgoing.sender}")
        if scanned_text:
            return self._inspect_text(outgoing, content["body"])
        try:
            image = decode_image(image_bytes(content["body"]))
        except (CssError, MessagingError) as exc:
            raise ContentRefusedError(f"the attachment cannot be scanned, so it is not sent: "
                                      f"{exc}") from None
        order = self.covering(outgoing.time)
        if order is not None:
            try:
                image_hash = self.hasher.hash(image)
            except CssError:
                pass  # a hash the hasher refuses: the image gets a cover voucher
            else:
                voucher = self.client.voucher(image_hash, visual_derivative(image))
                self.scans.append(Scan(order.order_id, outgoing.time))
                return voucher
        self.covers += 1
        return self._cover()

    def _cover(self) -> bytes:
        return self.client.voucher(os.urandom(self.hasher.bits // 8), b"")

    def _inspect_text(self, outgoing: OutgoingContent, body: str) -> bytes:
        """A text's voucher (module docstring). The content parser bounds a body to what the
        detector takes (``messaging.limits.MAX_BODY_CHARS``), so scoring never refuses one
        and a refusal cannot tell anybody whether an order covers the user."""
        order = self.covering(outgoing.time, TEXT)
        if order is not None:
            version = self.client.table.version
            verdict, messages = self.text.score(outgoing.conversation_id, outgoing.time, body,
                                                order, self.user, version)
            self.text_scans.append(TextScan(order.order_id, outgoing.time, len(messages),
                                            verdict.score, verdict.flagged))
            if verdict.flagged:
                return self.client.voucher(text_flag(version, self.hasher.bits // 8),
                                           text_derivative(messages))
        self.text_covers += 1
        return self._cover()

    # -- receiving --------------------------------------------------------------------------

    def check_incoming(self, incoming: IncomingContent) -> None:
        kinds = ("image", "text") if self.text is not None else ("image",)
        if incoming.voucher is None:
            if incoming.kind in kinds and self.require_vouchers:
                what = "an image" if incoming.kind == "image" else "a text"
                raise VoucherRefusedError(f"{what} from {incoming.sender} without "
                                          f"a safety voucher: mode 'css' requires one on every "
                                          f"{' and every '.join(kinds)}")
            return
        if incoming.kind not in kinds:
            raise VoucherRefusedError(f"a {incoming.kind!r} message from {incoming.sender} "
                                      f"carries a safety voucher: vouchers ride only with "
                                      f"{' and '.join(k + 's' for k in kinds)}")
        try:
            decode(incoming.voucher)
        except CssError as exc:
            raise VoucherRefusedError(f"the {incoming.kind} from {incoming.sender} carries a "
                                      f"malformed safety voucher: {exc}") from None
