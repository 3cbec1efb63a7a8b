"""The perceptual hashers (escrow/css/hashers.py): sizes, thresholds, PDQ's quality score, the
Hamming distance, and that each hash sees a benign edit as the same picture and another
picture as a different one."""

from __future__ import annotations

import numpy
import pytest

from escrow.css import hashers, images
from escrow.css.errors import CssError
from escrow.css.hashers import HASHERS, HashError, LowQualityError, distance, get_hasher


def test_the_registry_holds_the_four_hashers_at_their_documented_thresholds():
    assert {name: (h.bits, h.threshold) for name, h in HASHERS.items()} == {
        "phash": (64, 10), "dhash": (64, 10), "ahash": (64, 5), "pdq": (256, 31)}
    assert all(h.name == name for name, h in HASHERS.items())
    assert get_hasher("pdq") is HASHERS["pdq"]


@pytest.mark.parametrize("name", ["neuralhash", "", None, 3])
def test_an_unknown_hasher_is_refused_naming_the_registered_ones(name):
    with pytest.raises(HashError, match="registered: phash, dhash, ahash, pdq"):
        get_hasher(name)


@pytest.mark.parametrize("name", sorted(HASHERS))
def test_a_hash_is_bits_over_8_bytes_and_deterministic_for_grey_and_rgb(name):
    hasher = HASHERS[name]
    picture = images.bundled("astronaut", side=128)
    grey = images.bundled("camera", side=128)
    for image in (picture, grey):
        digest = hasher.hash(image)
        assert isinstance(digest, bytes) and len(digest) == hasher.bits // 8
        assert hasher.hash(image.copy()) == digest
    assert distance(hasher.hash(picture), hasher.hash(grey)) > hasher.threshold


@pytest.mark.parametrize("name", sorted(HASHERS))
def test_a_jpeg_copy_matches_and_an_unrelated_picture_does_not(name):
    hasher = HASHERS[name]
    original = images.bundled("chelsea", side=192)
    copy = images.jpeg(original, 75)
    assert distance(hasher.hash(original), hasher.hash(copy)) <= hasher.threshold
    other = images.bundled("coffee", side=192)
    assert distance(hasher.hash(original), hasher.hash(other)) > hasher.threshold


def test_a_non_contiguous_view_hashes_like_its_copy():
    # pdqhash reads the buffer as laid out: a strided view must be copied first
    view = images.bundled("astronaut", side=256)[::2, ::2]
    assert not view.flags.c_contiguous
    for hasher in HASHERS.values():
        assert hasher.hash(view) == hasher.hash(numpy.ascontiguousarray(view))


@pytest.mark.parametrize("image", [
    numpy.zeros((8, 8), dtype=numpy.float64),
    numpy.zeros((8, 8, 4), dtype=numpy.uint8),
    numpy.zeros((8,), dtype=numpy.uint8),
    numpy.zeros((0, 8), dtype=numpy.uint8),
    numpy.zeros((hashers.MAX_HASH_SIDE + 1, 1), dtype=numpy.uint8),
    [[0, 1], [2, 3]],
    b"\x89PNG",
])
def test_anything_but_a_uint8_grey_or_rgb_array_is_refused(image):
    for hasher in HASHERS.values():
        with pytest.raises(HashError):
            hasher.hash(image)


def test_pdq_refuses_a_low_quality_hash_and_reports_its_score():
    pdq = HASHERS["pdq"]
    flat = numpy.full((64, 64, 3), 128, dtype=numpy.uint8)
    digest, quality = pdq.hash_with_quality(flat)
    assert len(digest) == 32 and quality < hashers.PDQ_MIN_QUALITY
    with pytest.raises(LowQualityError) as refused:
        pdq.hash(flat)
    assert refused.value.quality == quality and isinstance(refused.value, CssError)
    assert pdq.hash_with_quality(images.bundled("camera"))[1] >= hashers.PDQ_MIN_QUALITY


def test_distance_counts_differing_bits_of_equal_length_hashes():
    assert distance(b"\x00" * 8, b"\x00" * 8) == 0
    assert distance(b"\xff" * 32, b"\x00" * 32) == 256
    assert distance(b"\x01\x80", b"\x00\x00") == 2
    for a, b in ((b"\x00", b"\x00\x00"), (b"", b""), ("00", "00"), (b"\x00", bytearray(1))):
        with pytest.raises(HashError):
            distance(a, b)
