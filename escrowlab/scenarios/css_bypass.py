"""S33 css-client-bypass (docs/scenarios.md; docs/css.md, "The recipient's policy").

Every sender is under a detection order that covers it and sends Bob the t listed stand-in
images (t = :data:`THRESHOLD`), so that an honest client puts the account over the
threshold and the provider opens its t visual derivatives. A modified client, or two
endpoints that agree, try to send the same images without that happening:

- ``honest``: the unmodified client (the baseline);
- ``stripped``: no voucher on any image;
- ``garbage``: random bytes of a voucher's length in place of each voucher;
- ``bit-flipped``: the honest voucher with one bit of its outer ciphertext flipped (it still
  parses as a voucher);
- ``cover-only``: a cover voucher (a voucher for a random hash) on every image, as the
  client attaches when no order covers it: it never scans;
- ``text-flood``: honest images, and a voucher on each of :data:`FLOOD` text messages too;
- ``synthetic-flood``: :data:`FLOOD` innocent images first, every voucher of them made
  synthetic (the client's rate set to 1 past its bound), then the listed ones honestly;
- ``pre-encrypted-text``: the endpoints share a key; the sender encrypts each image
  (AES-256-GCM) and sends it as text (base64), which no hook scans;
- ``pre-encrypted-image``: the same ciphertext sent as an image attachment;
- ``mirrored`` and ``one-pixel``: the endpoints alter each image before sending (a mirror
  image; the lowest bit of one pixel) and the honest client scans what is sent: the match is
  exact (the PSI compares hashes, as Apple's did), so what decides is whether the perceptual
  hash changes.

Each variant runs under both recipient policies (Bob requires a voucher on every image, or
accepts images without one) against the real messenger (:mod:`escrowlab.css.world`: the
devices, the relay, the content hooks and the provider's matcher). Measured: how many of the
listed images Bob received (``delivered``), how many derivatives the provider opened
(``exposed_total``), how many listed images Bob received without the provider opening them
(``forged_accepted``: the bypass worked), what Bob's client refused (``detectable``:
``recipient``) and what the provider's matcher refused as malformed (in ``details``; a
provider detection has no channel of its own in docs/scenarios.md). The provider can tell
a tampered voucher from a well-formed one only when its hash matched: the candidate key
unwraps and the outer layer then fails (``bit-flipped``); a tampered voucher of a
non-matching image looks like any non-match.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

import numpy
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from escrow.css.hook import CssContentHook
from escrow.css.images import decode_image, encode_image, mirror
from escrow.css.vouchers import VOUCHER_BYTES
from escrowlab.css.world import DAY, CssWorld, build
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.content_hook import ContentRefusedError, OutgoingContent
from messaging.events import ReceiveFailed

THRESHOLD = 3
FLOOD = 6
POLICIES = {"recipient requires vouchers": True, "recipient accepts images without": False}
_IMAGE = b'"kind":"image"'


class ModifiedClient(CssContentHook):
    """A client whose hook attaches ``attach(self, outgoing)`` instead of the honest voucher;
    the rest (orders, the recipient's side) is the honest hook's."""

    def __init__(self, honest: CssContentHook,
                 attach: Callable[[CssContentHook, OutgoingContent], bytes | None]) -> None:
        self.__dict__.update(honest.__dict__)
        self.attach = attach

    def inspect(self, outgoing: OutgoingContent) -> bytes | None:
        return self.attach(self, outgoing)


def _honest(hook: CssContentHook, outgoing: OutgoingContent) -> bytes | None:
    return CssContentHook.inspect(hook, outgoing)


def _stripped(hook: CssContentHook, outgoing: OutgoingContent) -> bytes | None:
    return None


def _garbage(hook: CssContentHook, outgoing: OutgoingContent) -> bytes | None:
    return os.urandom(VOUCHER_BYTES) if _IMAGE in outgoing.plaintext else None


def _bit_flipped(hook: CssContentHook, outgoing: OutgoingContent) -> bytes | None:
    voucher = _honest(hook, outgoing)
    return None if voucher is None else voucher[:-1] + bytes([voucher[-1] ^ 1])


def _cover_only(hook: CssContentHook, outgoing: OutgoingContent) -> bytes | None:
    if _IMAGE not in outgoing.plaintext:
        return None
    return hook.client.voucher(os.urandom(hook.hasher.bits // 8), b"")


def _text_flood(hook: CssContentHook, outgoing: OutgoingContent) -> bytes | None:
    if _IMAGE in outgoing.plaintext:
        return _honest(hook, outgoing)
    return hook.client.voucher(os.urandom(hook.hasher.bits // 8), b"")


ATTACH = {"honest": _honest, "stripped": _stripped, "garbage": _garbage,
          "bit-flipped": _bit_flipped, "cover-only": _cover_only, "text-flood": _text_flood,
          "synthetic-flood": _honest, "pre-encrypted-text": _honest,
          "pre-encrypted-image": _honest, "mirrored": _honest, "one-pixel": _honest}


def _one_pixel(image: numpy.ndarray) -> numpy.ndarray:
    altered = image.copy()
    altered.flat[0] ^= 1
    return altered


def _send(world: CssWorld, sender: str, variant: str, key: bytes) -> tuple[dict, set[bytes]]:
    """Run ``variant`` from ``sender`` to Bob; what was sent and refused at the sender, and
    the listed images as sent (altered, for the variants that alter them)."""
    hook = world.devices[sender].content_hook
    sent = refused_at_sender = 0
    as_sent = set()
    if variant == "synthetic-flood":
        hook.client.synthetic_rate = 1.0  # past VoucherClient's bound: a modified client
        for _, image in world.innocent[:FLOOD]:
            world.send_image(sender, "bob", image)
        hook.client.synthetic_rate = 0.0
    for _, image in world.listed:
        if variant == "mirrored":
            image = encode_image(mirror(decode_image(image)))
        elif variant == "one-pixel":
            image = encode_image(_one_pixel(decode_image(image)))
        as_sent.add(image)
        if variant.startswith("pre-encrypted"):
            nonce = os.urandom(12)
            sealed = nonce + AESGCM(key).encrypt(nonce, image, None)
            if variant == "pre-encrypted-text":
                world.send_text(sender, "bob", base64.b64encode(sealed).decode("ascii"))
                sent += 1
                continue
            image = sealed
        try:
            world.send_image(sender, "bob", image)
        except ContentRefusedError:
            refused_at_sender += 1
            continue
        sent += 1
    if variant == "text-flood":
        for i in range(FLOOD):
            world.send_text(sender, "bob", f"flood {i}")
    return {"sent": sent, "refused_at_sender": refused_at_sender}, as_sent


def _received(world: CssWorld, sender: str, key: bytes, listed: set[bytes]
              ) -> tuple[int, int, int]:
    """(listed images Bob holds, texts accepted, messages Bob refused) from ``sender``."""
    messages = [m for m in world.receive("bob") if m.sender_user == sender]
    refused = [e for e in world.devices["bob"].drain_events()
               if isinstance(e, ReceiveFailed) and e.sender.startswith(f"{sender}:")]
    images = 0
    for message in messages:
        if message.kind == "image":
            images += message.image in listed
        else:
            try:
                sealed = base64.b64decode(message.body, validate=True)
                images += AESGCM(key).decrypt(sealed[:12], sealed[12:], None) in listed
            except ValueError:
                continue  # not a pre-encrypted image (a flood text)
    texts = sum(m.kind == "text" for m in messages)
    return images, texts, len(refused)


EXPECTED = {
    "honest": ("all delivered; the provider opens the t derivatives",
               lambda r: r["delivered"] == THRESHOLD and r["exposed"] == THRESHOLD),
    "garbage": ("refused by the recipient; the provider refuses the vouchers as malformed",
                lambda r: r["delivered"] == 0 and r["provider_malformed"] == THRESHOLD),
    "bit-flipped": ("accepted by the recipient (a voucher that parses cannot be checked "
                    "further); the provider opens nothing, and refuses as malformed only the "
                    "vouchers whose hash matched", lambda r: r["delivered"] == THRESHOLD
                    and not r["exposed"] and r["provider_malformed"] == THRESHOLD),
    "cover-only": ("accepted and never scanned: a cover voucher looks like any other",
                   lambda r: r["delivered"] == THRESHOLD and not r["exposed"]),
    "text-flood": ("the flood texts refused by the recipient; the images opened at t",
                   lambda r: r["refused"] == FLOOD and r["exposed"] == THRESHOLD),
    "synthetic-flood": ("the matches still open at t; the flood costs the provider t-subsets",
                        lambda r: r["exposed"] == THRESHOLD and r["combinations"] > 1),
    "pre-encrypted-text": ("accepted and never scanned: scanning binds only cooperating "
                           "endpoints", lambda r: r["delivered"] == THRESHOLD
                           and not r["exposed"] and r["scans"] == 0),
    "pre-encrypted-image": ("the honest client refuses to send what it cannot scan",
                            lambda r: r["refused_at_sender"] == THRESHOLD
                            and r["delivered"] == 0),
    "mirrored": ("an altered image evades the exact match: delivered, nothing opened",
                 lambda r: r["delivered"] == THRESHOLD and not r["exposed"]),
    "one-pixel": ("the perceptual hash absorbs a one-bit change: the t derivatives still open",
                  lambda r: r["delivered"] == THRESHOLD and r["exposed"] == THRESHOLD),
}


def _expected(variant: str, requires: bool) -> tuple[str, Callable[[dict], bool]]:
    if variant != "stripped":
        return EXPECTED[variant]
    if requires:
        return ("refused by the recipient: nothing delivered",
                lambda r: r["delivered"] == 0 and r["refused"] == THRESHOLD)
    return ("delivered unscanned: the provider learns nothing",
            lambda r: r["delivered"] == THRESHOLD and not r["exposed"])


def run_policy(requires: bool, seed: int) -> dict[str, dict]:
    """Every variant against one world whose recipient has policy ``requires``; one sender
    account per variant, each under its own detection order."""
    senders = {variant: f"s{i}" for i, variant in enumerate(ATTACH)}
    world = build(("bob", *senders.values()), listed=THRESHOLD, innocent=FLOOD,
                  voucher_threshold=THRESHOLD, seed=seed, require_vouchers=requires)
    now = world.clock.now()
    key = AESGCM.generate_key(256)
    for variant, sender in senders.items():
        honest = world.hooks[sender]
        honest.accept_order(world.order((sender,), now, now + DAY))
        world.devices[sender].content_hook = ModifiedClient(honest, ATTACH[variant])
    results = {}
    for variant, sender in senders.items():
        sending, as_sent = _send(world, sender, variant, key)
        delivered, texts, refused = _received(world, sender, key, as_sent)
        results[variant] = {"sender": sender, **sending, "delivered": delivered,
                            "texts_accepted": texts, "refused": refused}
    world.collect()
    for variant, sender in senders.items():
        view = world.provider.matcher.view(sender)
        results[variant].update(
            exposed=len(view.derivatives), vouchers_received=view.received,
            vouchers_opened=view.opened, combinations=view.combinations,
            scans=len(world.hooks[sender].scans),
            provider_malformed=sum(a == sender for a, _ in world.provider.refusals))
    return results


@scenario("S33", "css-client-bypass",
          "a modified client strips, garbles or floods vouchers; endpoints pre-encrypt or "
          "alter images", ("css",))
def css_client_bypass(params: Params, mode: str) -> list[Outcome]:
    outcomes = []
    for policy, requires in POLICIES.items():
        for variant, r in run_policy(requires, params.seed).items():
            expected, check = _expected(variant, requires)
            evaded = max(r["delivered"] - r["exposed"], 0)
            outcomes.append(Outcome(
                "S33", mode, f"{variant}/{policy}", expected, check(r),
                metrics={"exposed_total": r["exposed"], "forged_accepted": evaded,
                         "detectable": "recipient" if r["refused"] else "none"},
                details={**r, "threshold": THRESHOLD, "listed_images": THRESHOLD,
                         "requires_vouchers": requires}))
    return outcomes
