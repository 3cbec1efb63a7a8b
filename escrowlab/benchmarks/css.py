"""``escrowlab bench css``: what client-side scanning costs (docs/benchmarks.md, docs/css.md).

On :mod:`escrowlab.css.world` (in process; stand-in images of 128 pixels, PNG), with a
detection order covering the sender, so that every image is scanned:

- ``hash_ms``: decoding one attachment and its perceptual hash (PDQ) on the device;
- ``neuralhash_ms``: with ``--neuralhash-model`` and ``--neuralhash-seed`` only, the user's
  NeuralHash of the same decoded attachment (docs/css_hashing.md, "NeuralHash"), beside PDQ;
  absent otherwise (the lab ships neither file);
- ``voucher_ms``: making its voucher (visual derivative, PSI queries, shares, two layers);
- ``attachment_ms``: the whole content hook per attachment (parse, decode, hash, voucher);
- ``provider_ms_per_voucher``: the matcher taking one voucher (parse, the PSI unwrap, and
  for a match the t-subset search once t are open);
- ``voucher_bytes``: one voucher on the wire (every voucher has this size);
- ``slowdown``: seconds for ``--images`` images sent and received in a css conversation over
  those in the same conversation under mode ``none`` (no hook), the median of ``--rounds``
  interleaved rounds.

Text under an order that includes text (docs/css.md, "Text under an order"), on
``--texts`` lines of synthetic chats (:mod:`escrow.css.chats`, one target in ten) sent in one
conversation, with the detector trained once (not timed) on 600 chats, windows of
:data:`~escrow.css.textscan.DEFAULT_WINDOW` messages:

- ``text_score_ms``: scoring one message's window (normalise, keywords, classifier);
- ``text_message_ms``: the whole content hook per text (parse, window, score, voucher);
- ``text_flag_rate``: the share of those texts whose window was flagged;
- ``text_bytes_per_message``: what a text's envelope weighs more than the same text's under
  mode ``none`` (the voucher, its length field and the version-2 envelope);
- ``text_slowdown``: seconds for the texts sent and received in a css conversation over mode
  ``none``'s, the median of ``--rounds`` interleaved rounds.

Targets: a voucher fits the envelope's voucher field (``messaging.limits.MAX_VOUCHER_LENGTH``),
the scanning adds at most 100 ms per attachment and at most 100 ms per text. The peers are
the libraries the work runs on.
"""

from __future__ import annotations

import argparse
import time

from escrow.css.chats import generate_chats
from escrow.css.hook import visual_derivative
from escrow.css.images import decode_image
from escrow.css.orders import TEXT
from escrow.css.text import TextDetector
from escrowlab.arguments import int_in_range
from escrowlab.benchmarks import (
    Peer,
    Target,
    document,
    print_document,
    round_figures,
    show_verdicts,
)
from escrowlab.css import neuralhash_options
from escrowlab.css.world import DAY, START, build
from messaging.client import Device
from messaging.clock import ManualClock
from messaging.content import encode_content, encode_image
from messaging.content_hook import OutgoingContent
from messaging.limits import MAX_VOUCHER_LENGTH
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport

DEFAULT_IMAGES = 20
DEFAULT_ROUNDS = 3
MAX_IMAGES = 200
DEFAULT_TEXTS = 200
MAX_TEXTS = 5_000
TRAINING_CHATS = 600
ATTACHMENT_TARGET_MS = 100.0
TEXT_TARGET_MS = 100.0
PEERS = (
    Peer("pdqhash", "Meta's PDQ, the on-device perceptual hash", "pdqhash"),
    Peer("rbcl", "ristretto255 for the PSI queries", "rbcl"),
    Peer("cryptography", "ChaCha20-Poly1305 for the voucher layers", "cryptography"),
    Peer("scikit-learn", "the text classifier (TF-IDF, logistic regression)", "scikit-learn"),
    Peer("pyahocorasick", "the text indicators' keyword automaton", "pyahocorasick"),
    Peer("rapidfuzz", "the text normaliser's fuzzy matching", "rapidfuzz"),
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "css", help="client-side scanning: hash and voucher per attachment, provider cost, "
                    "voucher bytes, slowdown against mode none, and the same per text",
        description="Scan stand-in images on a device under a detection order and print the "
                    "cost per attachment (hash, voucher), the provider's cost per voucher, "
                    "the bytes of a voucher and the slowdown of an image conversation "
                    "against mode none; then score synthetic chat lines under an order "
                    "that includes text and print the cost per text message (time, bytes) "
                    "and a text conversation's slowdown.")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--images", type=int_in_range(2, MAX_IMAGES), default=DEFAULT_IMAGES,
                        metavar="N", help=f"images per round, 2..{MAX_IMAGES} (default 20)")
    parser.add_argument("--rounds", type=int_in_range(1, 20), default=DEFAULT_ROUNDS,
                        metavar="N", help="interleaved rounds, 1..20 (default 3)")
    neuralhash_options.add_options(parser)
    parser.add_argument("--texts", type=int_in_range(2, MAX_TEXTS), default=DEFAULT_TEXTS,
                        metavar="N", help=f"text messages per round, 2..{MAX_TEXTS} "
                                          f"(default {DEFAULT_TEXTS})")
    parser.set_defaults(func=run_command)


def default_args() -> argparse.Namespace:
    return argparse.Namespace(json=False, images=DEFAULT_IMAGES, rounds=DEFAULT_ROUNDS,
                              texts=DEFAULT_TEXTS, neuralhash_model=None, neuralhash_seed=None,
                              func=run_command)


def quick_args() -> argparse.Namespace:
    """Tiny parameters for ``bench all --quick`` (checks that it runs; figures mean little)."""
    return argparse.Namespace(json=False, images=2, rounds=1, texts=2, neuralhash_model=None,
                              neuralhash_seed=None, func=run_command)


def _conversation_seconds(images: list[bytes], css: bool) -> float:
    """Seconds for Alice to send ``images`` to Bob and Bob to receive them, under css (a
    world with an order covering Alice) or under mode none."""
    if css:
        world = build(("alice", "bob"), listed=2, innocent=0, voucher_threshold=2)
        now = world.clock.now()
        world.hooks["alice"].accept_order(world.order(("alice",), now, now + DAY))
        pair = world.devices["alice"], world.devices["bob"], world.relay
    else:
        pair = _plain_pair()
    return _timed(*pair, "send_image", images)[0]


def _plain_pair() -> tuple[Device, Device, RelayService]:
    """Alice's and Bob's devices under mode none, and their relay."""
    clock = ManualClock(START)
    relay = RelayService(clock=clock)
    transport = InProcessTransport(relay)
    alice, bob = (Device.create(user, 1, transport, clock=clock) for user in ("alice", "bob"))
    return alice, bob, relay


def _timed(alice: Device, bob: Device, relay: RelayService, send: str, items: list
           ) -> tuple[float, float]:
    """(seconds for Alice to send ``items`` to Bob with ``alice.<send>`` and Bob to receive
    them, mean bytes of their envelopes); the session exists before the timing starts."""
    alice.send_text("bob", "hello")
    bob.receive_all()
    before = len(relay.archive.entries())
    start = time.perf_counter()
    for item in items:
        getattr(alice, send)("bob", item)
    received = bob.receive_all()
    elapsed = time.perf_counter() - start
    if len(received) != len(items):
        raise RuntimeError(f"{len(received)} of {len(items)} messages arrived")
    sizes = [len(e.envelope) for e in relay.archive.entries()[before:]]
    return elapsed, sum(sizes) / len(sizes)


def _neuralhash_ms(hasher, images: list[bytes]) -> float:
    """Milliseconds per attachment for decoding it and its NeuralHash."""
    start = time.perf_counter()
    for image in images:
        hasher.hash(decode_image(image))
    return round((time.perf_counter() - start) / len(images) * 1000, 3)


def _text_lines(count: int) -> list[str]:
    """``count`` lines of synthetic chats, one target chat in ten, in chat order."""
    lines: list[str] = []
    seed = 1
    while len(lines) < count:
        for chat in generate_chats(100, 0.1, seed):
            lines.extend(chat.lines)
        seed += 1
    return lines[:count]


def _text_conversation(texts: list[str], detector: TextDetector | None
                       ) -> tuple[float, float]:
    """(seconds for Alice to send ``texts`` to Bob and Bob to receive them, mean bytes of
    their envelopes), under css with text detection and an order covering Alice's texts
    (``detector``) or under mode none."""
    if detector is not None:
        world = build(("alice", "bob"), listed=2, innocent=0, voucher_threshold=2,
                      text_detector=detector)
        now = world.clock.now()
        world.hooks["alice"].accept_order(world.order(("alice",), now, now + DAY,
                                                      scope=(TEXT,)))
        pair = world.devices["alice"], world.devices["bob"], world.relay
    else:
        pair = _plain_pair()
    return _timed(*pair, "send_text", texts)


def _text_figures(args: argparse.Namespace) -> dict:
    detector = TextDetector.train(generate_chats(TRAINING_CHATS, 0.5, 0), 0)
    texts = _text_lines(args.texts)
    world = build(("alice", "bob"), listed=2, innocent=0, voucher_threshold=2,
                  text_detector=detector)
    hook = world.hooks["alice"]
    now = world.clock.now()
    hook.accept_order(world.order(("alice",), now, now + DAY, scope=(TEXT,)))
    score_s = message_s = 0.0
    for i, text in enumerate(texts):
        window = [*texts[max(0, i - hook.text.window + 1):i], text]
        plaintext = encode_content("text", text, now, to="bob")
        t0 = time.perf_counter()
        detector.scan(window)
        t1 = time.perf_counter()
        hook.inspect(OutgoingContent("dm:alice:bob", "alice:1", ("bob",), plaintext, now))
        t2 = time.perf_counter()
        score_s += t1 - t0
        message_s += t2 - t1
    ratios, extra = [], []
    for _ in range(args.rounds):
        none_s, none_bytes = _text_conversation(texts, None)
        css_s, css_bytes = _text_conversation(texts, detector)
        ratios.append(css_s / none_s)
        extra.append(css_bytes - none_bytes)
    n = len(texts)
    return {"texts": n,
            "text_score_ms": round(score_s / n * 1000, 3),
            "text_message_ms": round(message_s / n * 1000, 3),
            "text_flag_rate": round(sum(s.flagged for s in hook.text_scans) / n, 4),
            "text_bytes_per_message": round(sum(extra) / len(extra), 1),
            **round_figures("text_slowdown", ratios)}


def collect(args: argparse.Namespace) -> dict:
    neuralhash = neuralhash_options.hasher_from(args)
    world = build(("alice", "bob"), listed=2, innocent=max(args.images - 2, 1),
                  voucher_threshold=2)
    hook = world.hooks["alice"]
    now = world.clock.now()
    hook.accept_order(world.order(("alice",), now, now + DAY))
    images = [image for _, image in world.listed + world.innocent][:args.images]
    hash_s = voucher_s = attachment_s = 0.0
    made = []
    for image in images:
        plaintext = encode_image(image, now, to="bob")
        t0 = time.perf_counter()
        decoded = decode_image(image)
        digest = hook.hasher.hash(decoded)
        t1 = time.perf_counter()
        hook.client.voucher(digest, visual_derivative(decoded))
        t2 = time.perf_counter()
        made.append(hook.inspect(OutgoingContent("dm:alice:bob", "alice:1", ("bob",),
                                                 plaintext, now)))
        t3 = time.perf_counter()
        hash_s += t1 - t0
        voucher_s += t2 - t1
        attachment_s += t3 - t2
    start = time.perf_counter()
    for voucher in made:
        world.provider.matcher.submit("alice", voucher)
    provider_s = time.perf_counter() - start
    ratios = []
    for _ in range(args.rounds):
        none = _conversation_seconds(images, css=False)
        css = _conversation_seconds(images, css=True)
        ratios.append(css / none)
    n = len(images)
    figures = {"images": n, "rounds": args.rounds,
               "hash_ms": round(hash_s / n * 1000, 3),
               "voucher_ms": round(voucher_s / n * 1000, 3),
               "attachment_ms": round(attachment_s / n * 1000, 3),
               "provider_ms_per_voucher": round(provider_s / n * 1000, 3),
               "voucher_bytes": len(made[0]),
               "image_bytes_mean": round(sum(map(len, images)) / n, 1),
               **round_figures("slowdown", ratios), **_text_figures(args)}
    if neuralhash is not None:
        figures["neuralhash_ms"] = _neuralhash_ms(neuralhash, images)
    targets = (Target("voucher_bytes", "<=", MAX_VOUCHER_LENGTH,
                      "a voucher fits the envelope's voucher field"),
               Target("attachment_ms", "<=", ATTACHMENT_TARGET_MS,
                      "scanning adds at most 100 ms to sending an attachment"),
               Target("text_message_ms", "<=", TEXT_TARGET_MS,
                      "scanning adds at most 100 ms to sending a text"))
    return document("css", figures, targets, PEERS)


def run_command(args: argparse.Namespace) -> int:
    return print_document(collect(args), args.json, show)


def show(doc: dict) -> None:
    print(f"  per attachment ({doc['images']} stand-in images, mean "
          f"{doc['image_bytes_mean']:,.0f} bytes): hash {doc['hash_ms']:.2f} ms, voucher "
          f"{doc['voucher_ms']:.2f} ms, whole hook {doc['attachment_ms']:.2f} ms")
    if "neuralhash_ms" in doc:
        print(f"  NeuralHash (the user's model) instead of PDQ: {doc['neuralhash_ms']:.2f} ms "
              "per attachment")
    print(f"  provider: {doc['provider_ms_per_voucher']:.2f} ms per voucher; "
          f"{doc['voucher_bytes']:,} bytes per voucher")
    print(f"  image conversation: {doc['slowdown']:.2f}x the time of mode none "
          f"(median of {doc['rounds']} rounds)")
    print(f"  per text ({doc['texts']} synthetic chat lines under a text order): score "
          f"{doc['text_score_ms']:.2f} ms, whole hook {doc['text_message_ms']:.2f} ms, "
          f"{doc['text_bytes_per_message']:,.0f} bytes more than mode none, "
          f"{doc['text_flag_rate']:.1%} flagged")
    print(f"  text conversation: {doc['text_slowdown']:.2f}x the time of mode none")
    show_verdicts(doc)
