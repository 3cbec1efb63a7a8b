"""After the threshold: the provider's second, secret perceptual hash over the visual
derivatives, a simulated human reviewer and the report sink (docs/css_matcher.md,
"Review").

Apple, "Security Threat Model Review of Apple's Child Safety Features" (2021), on the
independent server-side perceptual hash and human review: once an account crosses the
threshold, the visual derivatives are checked against an independent perceptual hash that is kept
secret (so adversarial images made to collide with the on-device hash are unlikely to
collide with it too), and only those that still match are shown to a human reviewer, who
confirms before a report goes out (in the US, to NCMEC).

The second hash is any hasher of the :class:`escrow.css.hashers.Hasher` shape (``name``,
``bits``, ``threshold``, ``hash(image)``), the derivative decoder is a parameter (a PNG
decoder in the deployment), and the reviewer is simulated: it knows the ground truth through
a callback and errs with a configured probability, from a seeded generator.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from escrow.css.errors import CssError, ReviewError


class SecondHasher(Protocol):
    """What the review needs of a hasher (the shape of :class:`escrow.css.hashers.Hasher`)."""

    name: str
    bits: int
    threshold: int

    def hash(self, image: Any) -> bytes: ...


def hamming(a: bytes, b: bytes) -> int:
    """The number of differing bits of two hashes of one length."""
    if len(a) != len(b):
        raise ReviewError("hashes of different lengths cannot be compared")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


class SecondHash:
    """The provider's secret second hash: the hasher and its hashes of the database's
    originals; a derivative matches if it is within the hasher's threshold of one."""

    def __init__(self, hasher: SecondHasher, originals: Iterable[Any],
                 decode: Callable[[bytes], Any]) -> None:
        self.hasher = hasher
        self.decode = decode
        self.hashes = tuple(hasher.hash(image) for image in originals)
        if any(len(h) * 8 != hasher.bits for h in self.hashes):
            raise ReviewError(f"hasher {hasher.name} returned a hash of the wrong length")

    def matches(self, derivative: bytes) -> bool:
        try:
            image = self.decode(derivative)
        except CssError as exc:
            raise ReviewError(f"the second hash cannot read a derivative: {exc}") from exc
        value = self.hasher.hash(image)
        return any(hamming(value, h) <= self.hasher.threshold for h in self.hashes)


class SimulatedReviewer:
    """A human reviewer who sees a derivative and says whether it is illegal material:
    ``truth(derivative)``, flipped with probability ``error_rate`` (seeded)."""

    def __init__(self, truth: Callable[[bytes], bool], error_rate: float = 0.0,
                 seed: int = 0) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ReviewError("a reviewer's error rate is in 0..1")
        self.truth = truth
        self.error_rate = error_rate
        self._rng = random.Random(seed)
        self.seen = 0

    def confirms(self, derivative: bytes) -> bool:
        self.seen += 1
        return self.truth(derivative) != (self._rng.random() < self.error_rate)


@dataclass(frozen=True)
class Report:
    """What goes to the report sink about one account."""

    account: str
    derivatives: int
    second_hash_matches: int
    confirmed: int


@dataclass
class ReportSink:
    """Where confirmed reports go (a list, in the lab)."""

    reports: list[Report] = field(default_factory=list)

    def file(self, report: Report) -> None:
        self.reports.append(report)


@dataclass(frozen=True)
class ReviewOutcome:
    """What one review did: how many derivatives passed each stage, and the report if any."""

    account: str
    derivatives: int
    second_hash_matches: int
    confirmed: int
    report: Report | None


class Review:
    """Second hash, then reviewer, then report (at least ``min_confirmed`` confirmations)."""

    def __init__(self, second: SecondHash, reviewer: SimulatedReviewer, sink: ReportSink,
                 min_confirmed: int = 1) -> None:
        if min_confirmed < 1:
            raise ReviewError("a report needs at least one confirmation")
        self.second = second
        self.reviewer = reviewer
        self.sink = sink
        self.min_confirmed = min_confirmed

    def review(self, account: str, derivatives: Sequence[bytes]) -> ReviewOutcome:
        passed = [d for d in derivatives if self.second.matches(d)]
        confirmed = sum(self.reviewer.confirms(d) for d in passed)
        report = None
        if confirmed >= self.min_confirmed:
            report = Report(account, len(derivatives), len(passed), confirmed)
            self.sink.file(report)
        return ReviewOutcome(account, len(derivatives), len(passed), confirmed, report)
