"""The stand-in corpus and the strict PNG codec (escrow/css/images.py)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy
import pytest
from PIL import Image

from escrow.css import images
from escrow.css.errors import CssError
from escrow.css.images import ImageError, decode_image, encode_image, stand_in_images


def test_the_corpus_starts_with_every_bundled_picture_then_generated_images():
    corpus = stand_in_images(len(images.BUNDLED) + 8, seed=3)
    names = [name for name, _ in corpus]
    assert names[:len(images.BUNDLED)] == [f"skimage:{n}" for n in images.BUNDLED]
    kinds = [name.split(":")[0] for name in names[len(images.BUNDLED):]]
    assert kinds == ["tile", "texture", "shapes", "gradient"] * 2
    assert len(set(names)) == len(names)
    for _, image in corpus:
        assert image.dtype == numpy.uint8 and image.ndim in (2, 3)
        assert max(image.shape[:2]) <= images.DEFAULT_SIDE
        assert image.ndim == 2 or image.shape[2] == 3


def test_generated_images_depend_on_the_seed_only():
    first = stand_in_images(len(images.BUNDLED) + 4, seed=7)
    again = stand_in_images(len(images.BUNDLED) + 4, seed=7)
    other = stand_in_images(len(images.BUNDLED) + 4, seed=8)
    assert all(a[0] == b[0] and numpy.array_equal(a[1], b[1])
               for a, b in zip(first, again, strict=True))
    assert any(not numpy.array_equal(a[1], b[1])
               for a, b in zip(first[-4:], other[-4:], strict=True))


def test_a_bundled_picture_is_a_fresh_copy_and_an_unknown_one_is_refused():
    picture = images.bundled("camera", side=64)
    picture[:] = 0
    assert images.bundled("camera", side=64).any()
    with pytest.raises(ImageError, match="no bundled picture"):
        images.bundled("lily")
    with pytest.raises(ImageError):
        images.generated("noise", 0, 0)


def test_a_tile_and_an_edit_name_their_source_picture():
    name, _ = images.generated("tile", seed=1, index=0)
    assert images.source_of(name) == "skimage:" + name[5:].split("@")[0]
    assert images.source_of("skimage:moon/jpeg-q75") == "skimage:moon"
    assert images.source_of("shapes:0:1") == "shapes:0:1"


@pytest.mark.parametrize("edit_name, edit", images.BENIGN_EDITS)
def test_every_benign_edit_keeps_an_image_an_image(edit_name, edit):
    for image in (images.bundled("astronaut", 96), images.bundled("camera", 96)):
        edited = edit(image)
        assert edited.dtype == numpy.uint8 and edited.ndim == image.ndim, edit_name
        assert min(edited.shape[:2]) >= 40
        assert not numpy.array_equal(edited, image) or edited.shape != image.shape


def test_the_edits_do_what_they_say():
    image = images.bundled("camera", 100)
    assert images.crop(image, 0.1).shape == (90, 90)
    assert images.resize(image, 0.5).shape == (50, 50)
    assert numpy.array_equal(images.mirror(images.mirror(image)), image)
    assert images.adjust(image, brightness=20).mean() > image.mean() + 15
    assert images.adjust(image, contrast=0.5).std() < image.std() * 0.6
    assert images.rotate(image, 0).tolist() == image.tolist()


def test_png_round_trips_grey_and_rgb():
    for image in (images.bundled("astronaut", 80), images.bundled("camera", 80)):
        assert numpy.array_equal(decode_image(encode_image(image)), image)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, mode: int = 0, depth: int = 8, rows: bytes | None = None,
         extra: bytes = b"", interlace: int = 0) -> bytes:
    """A hand-made PNG whose header claims ``width x height`` (grey by default)."""
    header = struct.pack(">IIBBBBB", width, height, depth, mode, 0, 0, interlace)
    body = zlib.compress(rows if rows is not None else b"\x00" * (height * (width + 1)))
    return (images.PNG_SIGNATURE + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", body)
            + _chunk(b"IEND", b""))


def test_the_hand_made_png_is_accepted_when_it_is_small():
    assert decode_image(_png(4, 3)).shape == (3, 4)


@pytest.mark.parametrize("data, reason", [
    (_png(images.MAX_IMAGE_SIDE + 1, 1), "sides"),
    (_png(images.MAX_IMAGE_SIDE, images.MAX_IMAGE_SIDE + 1), "sides"),
    (_png(60_000, 60_000, rows=b""), "sides"),
    (_png(4, 4, mode=6), "mode"),
    (_png(4, 4, depth=16), "mode"),
    (_png(4, 3)[:-12] + b"junk" + _png(4, 3)[-12:], "readable"),
    (_png(4, 3, rows=b"\x00" * 5), "readable"),
    (_png(4, 3) + b"trailing", "IEND"),
    (_png(4, 3, rows=b"\x00" * 50_000_000), "readable"),
    (_png(4, 3, extra=_chunk(b"tEXt", b"a\x00b")), "chunks must be"),
    (_png(4, 3, interlace=1), "mode"),
    (_png(4, 3)[:33] + _png(4, 3)[33:].replace(b"IDAT", b"IDAt"), "CRC"),
    (b"GIF89a" + _png(4, 3)[6:], "signature"),
    (b"", "signature"),
])
def test_decode_refuses_bombs_other_modes_and_malformed_bytes(data, reason):
    with pytest.raises(ImageError, match=reason) as refused:
        decode_image(data)
    assert isinstance(refused.value, CssError)


def test_decode_refuses_other_formats_and_oversized_input():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="JPEG")
    for data in (buffer.getvalue(), bytearray(_png(4, 3)), "png",
                 images.PNG_SIGNATURE + b"\x00" * images.MAX_PNG_BYTES + images.PNG_IEND):
        with pytest.raises(ImageError):
            decode_image(data)


@pytest.mark.parametrize("image", [numpy.zeros((4, 4), dtype=numpy.int32),
                                   numpy.zeros((4, 4, 2), dtype=numpy.uint8),
                                   numpy.zeros((0, 4), dtype=numpy.uint8)])
def test_encode_refuses_what_is_not_an_image(image):
    with pytest.raises(ImageError):
        encode_image(image)
