"""Black-box attacks on a perceptual hash, for S29 css-evade and S30 css-frame
(docs/css_hashing.md, "The attacks").

The attacker holds an image and an oracle: the client's scanner, which answers with the hash
of any image it is given (a modified client, or the open-source hasher itself), and nothing
else — no gradient, no model. :func:`climb` is a random local search in the style of the
black-box attacks Jain, Cretu and de Montjoye (USENIX Security 2022) run and of the Square
Attack (Andriushchenko et al., ECCV 2020): each query sets a random square of the perturbation
to +eps or -eps (a vertex of the L-infinity ball of radius ``eps`` around the start image) and
keeps the change when the Hamming distance to the target hash does not get worse. To *evade*,
the distance to the listed image's own hash must rise above the threshold; to *frame*, the
distance from an innocuous image to a listed hash must fall to the threshold or below.

An :class:`Oracle` answers ``None`` for an image whose hash the scanner would discard (PDQ
below its quality floor): such an image is never a match. :func:`scenario_hashers` are the
hashers a scenario runs: the registered ones, then any the user brought (``Params.hashers``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy

from escrow.css import images
from escrow.css.hashers import HASHERS, Hasher, PdqHasher, distance

MAX_PSNR = 100.0  # reported for two identical images (the mean squared error is 0)


def scenario_hashers(params) -> dict[str, Hasher]:
    """The registered hashers in their order, then ``params.hashers`` (the user's NeuralHash,
    docs/css_hashing.md, "NeuralHash"), by name."""
    return {**HASHERS, **{hasher.name: hasher for hasher in params.hashers}}


@dataclass
class Oracle:
    """The scanner as the attacker sees it: an image in, the hash it would compare out."""

    hasher: Hasher
    queries: int = 0

    def digest(self, image: numpy.ndarray) -> bytes | None:
        """The hash the client would look up, or None if it would discard it (PDQ quality)."""
        self.queries += 1
        if isinstance(self.hasher, PdqHasher):
            digest, quality = self.hasher.hash_with_quality(image)
            return digest if quality >= self.hasher.min_quality else None
        return self.hasher.hash(image)

    def matches(self, image: numpy.ndarray, target: bytes) -> bool:
        digest = self.digest(image)
        return digest is not None and distance(digest, target) <= self.hasher.threshold


@dataclass(frozen=True)
class Attempt:
    """One attack run: whether it reached its goal, after how many queries, the distance to
    the target it ended at, the image, and the distortion (L-infinity, PSNR)."""

    success: bool
    queries: int
    distance: int
    image: numpy.ndarray = field(repr=False)
    linf: int
    psnr: float


def linf(a: numpy.ndarray, b: numpy.ndarray) -> int:
    """The largest change of one pixel value (0..255)."""
    return int(numpy.abs(a.astype(numpy.int16) - b.astype(numpy.int16)).max())


def psnr(a: numpy.ndarray, b: numpy.ndarray) -> float:
    """Peak signal-to-noise ratio of ``b`` against ``a``, in dB (:data:`MAX_PSNR` if equal)."""
    mse = float(((a.astype(numpy.float64) - b.astype(numpy.float64)) ** 2).mean())
    return MAX_PSNR if mse == 0 else min(MAX_PSNR, 10 * math.log10(255.0 ** 2 / mse))


def climb(oracle: Oracle, start: numpy.ndarray, target: bytes, eps: int, budget: int,
          rng: numpy.random.Generator, evade: bool) -> Attempt:
    """Search the L-infinity ball of radius ``eps`` around ``start`` for at most ``budget``
    queries (module docstring): away from ``target`` if ``evade``, else towards it."""
    height, width = start.shape[:2]
    base = start.astype(numpy.int16)
    delta = numpy.zeros((height, width), dtype=numpy.int16)
    bits = oracle.hasher.bits
    threshold = oracle.hasher.threshold

    def render(perturbation: numpy.ndarray) -> numpy.ndarray:
        shaped = perturbation if start.ndim == 2 else perturbation[..., None]
        return numpy.clip(base + shaped, 0, 255).astype(numpy.uint8)

    def score(image: numpy.ndarray) -> int:
        digest = oracle.digest(image)
        return (bits + 1 if evade else bits) if digest is None else distance(digest, target)

    def done(value: int) -> bool:
        return value > threshold if evade else value <= threshold

    current, image, used = score(start), start, 1
    low, high = max(2, min(height, width) // 16), max(3, min(height, width) // 3)
    while not done(current) and used < budget:
        side = int(rng.integers(low, high))
        y = int(rng.integers(0, height - side + 1))
        x = int(rng.integers(0, width - side + 1))
        candidate = delta.copy()
        candidate[y:y + side, x:x + side] = eps if rng.random() < 0.5 else -eps
        rendered = render(candidate)
        value = score(rendered)
        used += 1
        if (value >= current) if evade else (value <= current):
            current, delta, image = value, candidate, rendered
    return Attempt(done(current), used, min(current, bits), image, linf(start, image),
                   psnr(start, image))


def listable(count: int, seed: int, side: int) -> list[tuple[str, numpy.ndarray]]:
    """The first ``count`` stand-in images (:func:`escrow.css.images.stand_in_images`) that
    every hasher would list: PDQ quality at its floor or above (a database keeps no hash
    Meta's guidance says to discard), one image per source picture."""
    pdq = PdqHasher()
    out, sources, pool = [], set(), count
    while len(out) < count:
        pool = pool * 2 + len(images.BUNDLED)
        out, sources = [], set()
        for name, image in images.stand_in_images(pool, seed, side):
            source = images.source_of(name)
            if source not in sources and pdq.hash_with_quality(image)[1] >= pdq.min_quality:
                out.append((name, image))
                sources.add(source)
            if len(out) == count:
                break
    return out
