"""Text detection on the device, under a detection order (docs/css.md, "Text under an
order").

The EU proposal's second detector (docs/css_text.md) run where the proposal would run it:
on the sending device, on the user's own outgoing text messages, and only under an order
whose scope includes text (:data:`escrow.css.orders.TEXT`). What it finds reaches the
provider through the voucher machinery (docs/css_matcher.md), so that a text flag is
revealed, like an image match, only once the account has t opened vouchers:

- every version of the database has one public, fixed *text flag* entry
  (:func:`text_flag`): a hash of the database's length derived from a label and the version,
  which a deployment that scans text adds to its blinded table (:func:`with_text_flag`), so
  an auditor can recompute it and it stands for no image;
- :class:`TextScanner` keeps, per conversation, a bounded sliding window of the user's last
  ``window`` outgoing texts that an order covered when they were sent (nothing sent outside
  an order is kept), and scores the window's messages the current order covers with the
  :class:`~escrow.css.text.TextDetector`. A flag empties the window, so that each flag is
  made of its own messages and one conversation cannot cross t on one window;
- a flagged window becomes a voucher for :func:`text_flag` whose inner layer (the "visual
  derivative" of an image) is :func:`text_derivative`: the window's messages, newest kept
  when they do not all fit :data:`~escrow.css.vouchers.DERIVATIVE_BYTES`. The provider
  tells such a derivative from an image's by its prefix (:func:`read_text_derivative`).

A text the window does not flag, and every text outside an order, gets a cover voucher
(the hook's, :mod:`escrow.css.hook`): scanned and unscanned texts look alike to the relay,
the provider and the recipient.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import strictjson
from escrow.css.database import HashDatabase
from escrow.css.errors import CssError
from escrow.css.orders import TEXT, DetectionOrder
from escrow.css.vouchers import DERIVATIVE_BYTES

if TYPE_CHECKING:
    from escrow.css.text import TextDetector, TextVerdict

DEFAULT_WINDOW = 8
MAX_WINDOW = 64
_FLAG_LABEL = b"escrowlab/css/text-flag/v1\x00"
DERIVATIVE_PREFIX = b"escrowlab text flag v1\n"


class TextScanError(CssError):
    """A text scanner's bad setting, or a derivative that is not a text flag's."""


def text_flag(version: int, hash_bytes: int) -> bytes:
    """The text flag entry of database ``version`` whose hashes are ``hash_bytes`` long: the
    first ``hash_bytes`` of SHA-512 over a fixed label and the version (u32)."""
    if isinstance(hash_bytes, bool) or not isinstance(hash_bytes, int) or \
            not 1 <= hash_bytes <= hashlib.sha512().digest_size:
        raise TextScanError("a text flag is 1..64 bytes")
    return hashlib.sha512(_FLAG_LABEL + struct.pack(">I", version)).digest()[:hash_bytes]


def with_text_flag(database: HashDatabase) -> HashDatabase:
    """``database`` with its version's text flag entry added (the table a text-scanning
    deployment blinds; the suppliers' intersection itself is unchanged)."""
    flag = text_flag(database.version, database.hash_bytes)
    return HashDatabase(database.version, database.hash_bytes, database.suppliers,
                        tuple(sorted({*database.hashes, flag})))


def _encode(messages: Sequence[str]) -> bytes:
    return DERIVATIVE_PREFIX + json.dumps(list(messages), ensure_ascii=False,
                                          separators=(",", ":")).encode()


def text_derivative(messages: Sequence[str]) -> bytes:
    """What a text flag's voucher carries for review: :data:`DERIVATIVE_PREFIX` and the
    messages as a JSON array, at most :data:`DERIVATIVE_BYTES` bytes (the oldest messages
    dropped, then the newest cut at a character, until it fits)."""
    kept = list(messages)
    while len(kept) > 1 and len(_encode(kept)) > DERIVATIVE_BYTES:
        kept.pop(0)
    encoded = _encode(kept)
    while len(encoded) > DERIVATIVE_BYTES:
        # a character takes at most 6 bytes in the JSON, so this never cuts too much
        excess = len(encoded) - DERIVATIVE_BYTES
        kept[-1] = kept[-1][:len(kept[-1]) - max(1, excess // 6)]
        encoded = _encode(kept)
    return encoded


def read_text_derivative(derivative: bytes) -> tuple[str, ...] | None:
    """The messages of a text flag's derivative; ``None`` for any other derivative (an
    image's PNG). One that has the prefix but does not parse is refused
    (:class:`TextScanError`)."""
    if not isinstance(derivative, bytes) or not derivative.startswith(DERIVATIVE_PREFIX):
        return None
    body = strictjson.loads(derivative[len(DERIVATIVE_PREFIX):], what="text flag derivative",
                            error=TextScanError, allow_floats=False,
                            max_bytes=DERIVATIVE_BYTES)
    if not isinstance(body, list) or any(not isinstance(m, str) for m in body):
        raise TextScanError("a text flag derivative is a list of messages")
    return tuple(body)


@dataclass(frozen=True)
class TextScan:
    """One text this device scored: under which order, when, the window's score and flag."""

    order_id: str
    time: float
    messages: int
    score: float
    flagged: bool


class TextScanner:
    """The device's sliding windows of covered outgoing texts, scored by ``detector``
    (module docstring)."""

    def __init__(self, detector: TextDetector, window: int = DEFAULT_WINDOW) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or \
                not 1 <= window <= MAX_WINDOW:
            raise TextScanError(f"a text window holds 1..{MAX_WINDOW} messages")
        self.detector = detector
        self.window = window
        self._windows: dict[str, deque[tuple[float, str]]] = {}

    def held(self, conversation: str) -> int:
        """How many texts of ``conversation`` the device keeps for scoring."""
        return len(self._windows.get(conversation, ()))

    def score(self, conversation: str, time: float, message: str, order: DetectionOrder,
              user: str, database_version: int) -> tuple[TextVerdict, tuple[str, ...]]:
        """Add ``message`` (sent at ``time`` under ``order``, which covers it) to the
        conversation's window and score the window's messages ``order`` covers; a flag
        empties the window. Returns the verdict and the scored messages."""
        window = self._windows.setdefault(conversation, deque(maxlen=self.window))
        window.append((time, message))
        messages = tuple(m for t, m in window
                         if order.covers(user, t, database_version, TEXT))
        verdict = self.detector.scan(messages)
        if verdict.flagged:
            window.clear()
        return verdict, messages
