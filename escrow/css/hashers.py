"""Perceptual hashers for client-side scanning, each at its deployed match threshold
(docs/css_hashing.md, "Hashers and thresholds").

A :class:`Hasher` turns a ``uint8`` image (``H x W`` grey or ``H x W x 3`` RGB) into
``bits / 8`` bytes; two images *match* when the Hamming :func:`distance` of their hashes is at
most the hasher's ``threshold``. The four registered in :data:`HASHERS`:

- ``phash``, ``dhash``, ``ahash``: the 64-bit DCT, difference and average hashes of the
  ``imagehash`` library (8 x 8 hash grid). Thresholds are the cut-offs their author's
  descriptions give: Krawetz, "Kind of Like That" (Hacker Factor blog, 2013), for dHash
  ("greater than 10 is likely a different image"), and the scale of "Looks Like It" (2011)
  for the average hash (5: "a few things may be different") and the more robust DCT hash
  (10: "probably a very different picture").
- ``pdq``: Meta's 256-bit PDQ (``pdqhash``, the reference C++ code's Python binding) at the
  threshold Meta's ThreatExchange documentation recommends starting from, 31, with its
  quality score: hashes of quality at most 49 are to be discarded, so
  :meth:`PdqHasher.hash` refuses them (:class:`LowQualityError`) and
  :meth:`PdqHasher.hash_with_quality` reports the score.

Apple's NeuralHash is not registered: the lab ships neither its network nor its seed, and
:func:`escrow.css.neuralhash.load` builds it from the files a user obtains themselves, with
the optional extra ``escrowlab[neuralhash]`` (docs/css_hashing.md, "NeuralHash"); nothing in
the test suite needs it. :func:`get_hasher` says so when asked for it by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

import imagehash
import numpy
import pdqhash
from PIL import Image

from escrow.css.errors import CssError

MAX_HASH_SIDE = 8192
PDQ_THRESHOLD = 31
PDQ_MIN_QUALITY = 50
NEURALHASH = "neuralhash"


class HashError(CssError):
    """An image a hasher cannot read (not uint8, wrong shape, empty or too large), two hashes
    of different lengths, or an unknown hasher name."""


class LowQualityError(HashError):
    """A PDQ hash whose quality score is below :data:`PDQ_MIN_QUALITY` (Meta: discard it)."""

    def __init__(self, quality: int) -> None:
        super().__init__(f"PDQ quality {quality} is below {PDQ_MIN_QUALITY}: the image has too "
                         "little gradient for a reliable hash")
        self.quality = quality


class Hasher(Protocol):
    """A perceptual hash at its deployed match threshold (module docstring)."""

    name: str
    bits: int
    threshold: int

    def hash(self, image: numpy.ndarray) -> bytes:
        """``bits / 8`` bytes for a ``uint8`` ``H x W`` or ``H x W x 3`` image."""
        ...


def checked(image: object) -> numpy.ndarray:
    """``image`` as a C-contiguous ``uint8`` array of shape ``H x W`` or ``H x W x 3``;
    :class:`HashError` for anything else."""
    if not isinstance(image, numpy.ndarray) or image.dtype != numpy.uint8:
        raise HashError("an image is a numpy uint8 array")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise HashError(f"an image is H x W or H x W x 3, not {image.shape}")
    height, width = image.shape[:2]
    if not (1 <= height <= MAX_HASH_SIDE and 1 <= width <= MAX_HASH_SIDE):
        raise HashError(f"image sides must be 1..{MAX_HASH_SIDE}, not {height} x {width}")
    return numpy.ascontiguousarray(image)


def _rgb(image: numpy.ndarray) -> numpy.ndarray:
    return numpy.ascontiguousarray(numpy.stack([image] * 3, axis=-1)) if image.ndim == 2 \
        else image


@dataclass(frozen=True)
class ImagehashHasher:
    """One of ``imagehash``'s 64-bit hashes (an 8 x 8 grid of bits, row by row)."""

    name: str
    threshold: int
    function: Callable[..., imagehash.ImageHash]
    bits: int = 64

    def hash(self, image: numpy.ndarray) -> bytes:
        bits = self.function(Image.fromarray(checked(image)), hash_size=8).hash
        return numpy.packbits(bits.reshape(-1)).tobytes()


@dataclass(frozen=True)
class PdqHasher:
    """Meta's PDQ: 256 bits and a quality score 0..100 (module docstring)."""

    name: str = "pdq"
    threshold: int = PDQ_THRESHOLD
    bits: int = 256
    min_quality: int = PDQ_MIN_QUALITY

    def hash_with_quality(self, image: numpy.ndarray) -> tuple[bytes, int]:
        """(hash, quality), whatever the quality."""
        vector, quality = pdqhash.compute(_rgb(checked(image)))
        return numpy.packbits(vector.astype(numpy.uint8)).tobytes(), int(quality)

    def hash(self, image: numpy.ndarray) -> bytes:
        """The hash; :class:`LowQualityError` if its quality is below ``min_quality``."""
        digest, quality = self.hash_with_quality(image)
        if quality < self.min_quality:
            raise LowQualityError(quality)
        return digest


HASHERS: Mapping[str, Hasher] = MappingProxyType({hasher.name: hasher for hasher in (
    ImagehashHasher("phash", 10, imagehash.phash),
    ImagehashHasher("dhash", 10, imagehash.dhash),
    ImagehashHasher("ahash", 5, imagehash.average_hash),
    PdqHasher(),
)})


def get_hasher(name: object) -> Hasher:
    """The registered hasher ``name``; :class:`HashError` naming the registered ones."""
    hasher = HASHERS.get(name) if isinstance(name, str) else None
    if hasher is None:
        registered = f"registered: {', '.join(HASHERS)}"
        if name == NEURALHASH:
            raise HashError("the NeuralHash hasher is not registered: it needs Apple's model "
                            "and seed files, which the lab does not ship; give them as "
                            "--neuralhash-model FILE --neuralhash-seed FILE where a command "
                            "offers it, or build it with escrow.css.neuralhash.load "
                            f"(docs/css_hashing.md, \"NeuralHash\"; {registered})")
        raise HashError(f"unknown hasher {name!r} ({registered})")
    return hasher


def distance(a: bytes, b: bytes) -> int:
    """The Hamming distance of two hashes of the same length; :class:`HashError` otherwise."""
    if not isinstance(a, bytes) or not isinstance(b, bytes) or len(a) != len(b) or not a:
        raise HashError("distance compares two non-empty hashes of the same length")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
