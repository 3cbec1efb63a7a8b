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

Orders reach the device as signed bytes and are kept only if the device's
:class:`~escrow.css.orders.OrderVerifier` accepts them at the device's clock
(:meth:`CssContentHook.accept_order`). :attr:`CssContentHook.scans` lists every scan
(order id and time) and :attr:`CssContentHook.covers` counts the cover vouchers, so that a
scenario can count what was scanned and under which order.

Receiving (:meth:`CssContentHook.check_incoming`, after the tag verified): a voucher rides
only with an image and must parse as a safety voucher
(:func:`escrow.css.vouchers.decode`); with ``require_vouchers`` (the recipient's policy) an
image without one is refused. A refusal is a :class:`~messaging.errors.VoucherRefusedError`,
and the client then changes nothing.
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
from escrow.css.orders import DetectionOrder, OrderVerifier
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
    on-device perceptual hash, ``verifier`` checks detection orders at ``clock``.
    """

    mode = MODE

    def __init__(self, user: str, client: VoucherClient, hasher: Hasher,
                 verifier: OrderVerifier, clock: Clock, *, require_vouchers: bool = True) -> None:
        self.user = user
        self.client = client
        self.hasher = hasher
        self.verifier = verifier
        self.clock = clock
        self.require_vouchers = require_vouchers
        self.orders: dict[str, DetectionOrder] = {}
        self.scans: list[Scan] = []
        self.covers = 0

    def __repr__(self) -> str:
        return f"CssContentHook({self.user!r}, {len(self.orders)} order(s))"

    # -- orders -----------------------------------------------------------------------------

    def accept_order(self, encoded: bytes) -> DetectionOrder:
        """Keep the order ``encoded`` if the verifier accepts it now
        (:class:`~escrow.css.orders.OrderError` otherwise, nothing kept)."""
        order = self.verifier.verify(encoded, self.clock.now())
        self.orders[order.order_id] = order
        return order

    def covering(self, time: float) -> DetectionOrder | None:
        """The first held order (by id) that covers this user at ``time`` and the table's
        database version, if any."""
        version = self.client.table.version
        for order_id in sorted(self.orders):
            if self.orders[order_id].covers(self.user, time, version):
                return self.orders[order_id]
        return None

    # -- sending ----------------------------------------------------------------------------

    def inspect(self, outgoing: OutgoingContent) -> bytes | None:
        try:
            content = decode_content(outgoing.plaintext)
        except MessagingError as exc:
            raise ContentRefusedError(f"the content hook cannot read the message: {exc}") \
                from None
        if content["kind"] != "image":
            return None
        if parse_address(outgoing.sender)[0] != self.user:
            raise ContentRefusedError(f"this content hook scans for {self.user}, not for "
                                      f"{outgoing.sender}")
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
        return self.client.voucher(os.urandom(self.hasher.bits // 8), b"")

    # -- receiving --------------------------------------------------------------------------

    def check_incoming(self, incoming: IncomingContent) -> None:
        if incoming.voucher is None:
            if incoming.kind == "image" and self.require_vouchers:
                raise VoucherRefusedError(f"an image from {incoming.sender} without a safety "
                                          "voucher: mode 'css' requires one on every image")
            return
        if incoming.kind != "image":
            raise VoucherRefusedError(f"a {incoming.kind!r} message from {incoming.sender} "
                                      "carries a safety voucher: vouchers ride only with images")
        try:
            decode(incoming.voucher)
        except CssError as exc:
            raise VoucherRefusedError(f"the image from {incoming.sender} carries a malformed "
                                      f"safety voucher: {exc}") from None
