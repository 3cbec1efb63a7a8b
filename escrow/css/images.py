"""Stand-in images for client-side scanning, their benign edits, and a strict PNG codec
(docs/css_hashing.md, "The stand-in corpus").

The lab never holds real abuse material: every image here is either a picture shipped inside
``scikit-image`` (:data:`BUNDLED`, files in the package, no download), a tile cut from one of
those pictures, or an image generated from a seed (gradients, shapes, noise textures).
:func:`stand_in_images` returns them by name; :func:`source_of` names the picture an image
came from, so that a false-positive count never pairs an image with its own tile.

The edits (:data:`BENIGN_EDITS`) are what an honest user's software does to a photograph:
JPEG re-compression, resizing, brightness and contrast, a small crop, a small rotation, a
mirror image, a caption.

:func:`encode_image` writes PNG; :func:`decode_image` reads only what it writes: at most
:data:`MAX_PNG_BYTES` bytes, the chunks ``IHDR``, ``IDAT``..., ``IEND`` with their CRCs and
nothing after, 8-bit grey or RGB without interlacing, sides at most :data:`MAX_IMAGE_SIDE` and
:data:`MAX_IMAGE_PIXELS` pixels (checked from the header before anything is decompressed), and
image data that inflates to exactly the rows the header announces (inflation stops one byte
past that, so a decompression bomb is refused without being expanded).
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Callable

import numpy
import skimage.data
from PIL import Image, ImageDraw, ImageFont

from escrow.css.errors import CssError

MAX_IMAGE_SIDE = 4096
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_PNG_BYTES = 32 * 1024 * 1024
DEFAULT_SIDE = 256
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"

# The pictures of skimage.data that are files inside the package (no download), by loader.
BUNDLED = ("astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins",
           "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
           "immunohistochemistry", "logo", "microaneurysms", "moon", "motorcycle", "page",
           "retina", "rocket", "text")
GENERATED = ("gradient", "shapes", "texture", "tile")
# The bundled pictures large enough (shorter side >= 300 pixels) to cut tiles from.
TILED = ("astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins",
         "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
         "immunohistochemistry", "logo", "moon", "motorcycle", "retina", "rocket")


class ImageError(CssError):
    """Bytes that are not a PNG this module accepts, or an array that is not an image."""


def _uint8(picture: numpy.ndarray) -> numpy.ndarray:
    """A bundled picture as uint8 grey or RGB (booleans scaled, alpha composed on white)."""
    if picture.dtype == bool:
        picture = picture.astype(numpy.uint8) * 255
    if picture.ndim == 3 and picture.shape[2] == 4:
        alpha = picture[..., 3:].astype(numpy.float64) / 255.0
        picture = numpy.round(picture[..., :3] * alpha + 255.0 * (1.0 - alpha))
    return numpy.ascontiguousarray(picture.astype(numpy.uint8))


def _fit(image: numpy.ndarray, side: int) -> numpy.ndarray:
    """``image`` scaled (Lanczos) so that its longer side is at most ``side``."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return numpy.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


@functools.cache
def _picture(name: str, side: int) -> numpy.ndarray:
    picture = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" \
        else getattr(skimage.data, name)()
    fitted = _fit(_uint8(picture), side)
    fitted.flags.writeable = False
    return fitted


def bundled(name: str, side: int = DEFAULT_SIDE) -> numpy.ndarray:
    """The bundled picture ``name`` (one of :data:`BUNDLED`), longer side at most ``side``."""
    if name not in BUNDLED:
        raise ImageError(f"no bundled picture {name!r} (bundled: {', '.join(BUNDLED)})")
    return _picture(name, side).copy()


def _gradient(rng: numpy.random.Generator, side: int) -> numpy.ndarray:
    y, x = numpy.mgrid[0:side, 0:side] / side
    angle = rng.uniform(0, 2 * numpy.pi)
    ramp = numpy.cos(angle) * x + numpy.sin(angle) * y
    ramp = (ramp - ramp.min()) / max(float(numpy.ptp(ramp)), 1e-9)
    low, high = rng.uniform(0, 255, (2, 3))
    return numpy.round(low + ramp[..., None] * (high - low)).astype(numpy.uint8)


def _shapes(rng: numpy.random.Generator, side: int) -> numpy.ndarray:
    canvas = Image.new("RGB", (side, side), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = (int(v) for v in rng.integers(0, side, 2))
        w, h = (int(v) for v in rng.integers(side // 10, side // 2, 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = (x0, y0, x0 + w, y0 + h)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return numpy.asarray(canvas)


def _texture(rng: numpy.random.Generator, side: int) -> numpy.ndarray:
    """Noise summed over octaves (coarse grids scaled up), in two random colours."""
    field = numpy.zeros((side, side))
    for octave in range(2, 7):
        cells = 2 ** octave
        grid = Image.fromarray(rng.random((cells, cells)).astype(numpy.float32))
        field += numpy.asarray(grid.resize((side, side), Image.Resampling.BICUBIC)) / octave
    field = (field - field.min()) / max(float(numpy.ptp(field)), 1e-9)
    low, high = rng.uniform(0, 255, (2, 3))
    return numpy.round(low + field[..., None] * (high - low)).astype(numpy.uint8)


def _tile(rng: numpy.random.Generator, side: int) -> tuple[str, numpy.ndarray]:
    """A random square cut from a large bundled picture, scaled to ``side``."""
    name = TILED[int(rng.integers(len(TILED)))]
    picture = _picture(name, 1024)
    height, width = picture.shape[:2]
    size = int(rng.integers(min(height, width) // 4, min(height, width) // 2 + 1))
    y, x = int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
    cut = numpy.ascontiguousarray(picture[y:y + size, x:x + size])
    return f"tile:{name}@{x},{y},{size}", _fit(cut, side)


def generated(kind: str, seed: int, index: int,
              side: int = DEFAULT_SIDE) -> tuple[str, numpy.ndarray]:
    """(name, image) of the ``index``-th generated image of ``kind`` for ``seed``."""
    if kind not in GENERATED:
        raise ImageError(f"no generated kind {kind!r} (kinds: {', '.join(GENERATED)})")
    rng = numpy.random.default_rng([seed, GENERATED.index(kind), index])
    if kind == "tile":
        return _tile(rng, side)
    draw = {"gradient": _gradient, "shapes": _shapes, "texture": _texture}[kind]
    return f"{kind}:{seed}:{index}", draw(rng, side)


def stand_in_images(count: int, seed: int,
                    side: int = DEFAULT_SIDE) -> list[tuple[str, numpy.ndarray]]:
    """``count`` stand-in images: the bundled pictures first (in :data:`BUNDLED` order), then
    generated ones for ``seed`` (tiles, textures, shapes, gradients in turn)."""
    if not isinstance(count, int) or count < 0:
        raise ImageError("count is a whole number")
    out = [(f"skimage:{name}", bundled(name, side)) for name in BUNDLED[:count]]
    kinds = ("tile", "texture", "shapes", "gradient")
    index = 0
    while len(out) < count:
        out.append(generated(kinds[index % len(kinds)], seed, index // len(kinds), side))
        index += 1
    return out


def source_of(name: str) -> str:
    """The picture an image of :func:`stand_in_images` comes from (a tile's picture, or the
    image itself), and of its edits (``name/edit``)."""
    base = name.split("/", 1)[0]
    if base.startswith("tile:"):
        return "skimage:" + base[len("tile:"):].split("@", 1)[0]
    return base


# ------------------------------------------------------------------------------ edits

def jpeg(image: numpy.ndarray, quality: int) -> numpy.ndarray:
    """``image`` compressed as JPEG at ``quality`` (1..95) and decoded again."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return numpy.asarray(decoded.convert(_mode(image)))


def resize(image: numpy.ndarray, scale: float) -> numpy.ndarray:
    """``image`` scaled by ``scale`` (bilinear)."""
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return numpy.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def adjust(image: numpy.ndarray, brightness: float = 0.0, contrast: float = 1.0
           ) -> numpy.ndarray:
    """``(image - mean) * contrast + mean + brightness``, clipped to 0..255."""
    pixels = image.astype(numpy.float64)
    mean = pixels.mean()
    return numpy.clip(numpy.round((pixels - mean) * contrast + mean + brightness), 0, 255
                      ).astype(numpy.uint8)


def crop(image: numpy.ndarray, fraction: float) -> numpy.ndarray:
    """``image`` with ``fraction`` of its height and width cut away, half on each side."""
    height, width = image.shape[:2]
    dy, dx = round(height * fraction / 2), round(width * fraction / 2)
    return numpy.ascontiguousarray(image[dy:height - dy or None, dx:width - dx or None])


def rotate(image: numpy.ndarray, degrees: float) -> numpy.ndarray:
    """``image`` rotated by ``degrees`` about its centre (bilinear), same size, corners
    filled with the image's mean colour."""
    fill = tuple(int(v) for v in numpy.round(image.reshape(-1, _channels(image)).mean(0)))
    rotated = Image.fromarray(image).rotate(degrees, resample=Image.Resampling.BILINEAR,
                                            fillcolor=fill[0] if len(fill) == 1 else fill)
    return numpy.asarray(rotated)


def mirror(image: numpy.ndarray) -> numpy.ndarray:
    """``image`` flipped left to right."""
    return numpy.ascontiguousarray(image[:, ::-1])


def caption(image: numpy.ndarray, text: str = "happy birthday!") -> numpy.ndarray:
    """``image`` with ``text`` written near its bottom edge in white on a dark band."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    height = image.shape[0]
    font = ImageFont.load_default(size=max(8, height // 12))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    y = height - (bottom - top) - height // 20
    draw.rectangle((0, y - 2, right - left + 8, y + bottom - top + 4),
                   fill=0 if image.ndim == 2 else (0, 0, 0))
    draw.text((4, y - top), text, font=font, fill=255 if image.ndim == 2 else (255, 255, 255))
    return numpy.asarray(canvas)


Edit = Callable[[numpy.ndarray], numpy.ndarray]

BENIGN_EDITS: tuple[tuple[str, Edit], ...] = (
    ("jpeg-q75", lambda image: jpeg(image, 75)),
    ("jpeg-q40", lambda image: jpeg(image, 40)),
    ("resize-0.5", lambda image: resize(image, 0.5)),
    ("brightness+25", lambda image: adjust(image, brightness=25)),
    ("contrast-0.8", lambda image: adjust(image, contrast=0.8)),
    ("crop-5%", lambda image: crop(image, 0.05)),
    ("rotate-2", lambda image: rotate(image, 2)),
    ("mirror", mirror),
    ("caption", caption),
)


def _channels(image: numpy.ndarray) -> int:
    return 1 if image.ndim == 2 else image.shape[2]


def _mode(image: numpy.ndarray) -> str:
    return "L" if image.ndim == 2 else "RGB"


# ------------------------------------------------------------------------------ PNG codec

def _check_array(image: object) -> numpy.ndarray:
    if not isinstance(image, numpy.ndarray) or image.dtype != numpy.uint8:
        raise ImageError("an image is a numpy uint8 array")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ImageError(f"an image is H x W or H x W x 3, not {image.shape}")
    _check_size(image.shape[1], image.shape[0])
    return numpy.ascontiguousarray(image)


def _check_size(width: int, height: int) -> None:
    if not (1 <= width <= MAX_IMAGE_SIDE and 1 <= height <= MAX_IMAGE_SIDE) \
            or width * height > MAX_IMAGE_PIXELS:
        raise ImageError(f"image of {width} x {height}: sides must be 1..{MAX_IMAGE_SIDE} and "
                         f"at most {MAX_IMAGE_PIXELS} pixels")


def encode_image(image: numpy.ndarray) -> bytes:
    """``image`` (uint8 grey or RGB) as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(_check_array(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, body) chunks of PNG ``data``, every length and CRC checked."""
    chunks, at = [], len(PNG_SIGNATURE)
    while at < len(data):
        if at + 12 > len(data):
            raise ImageError("not a readable PNG: a truncated chunk")
        (length,), kind = struct.unpack(">I", data[at:at + 4]), data[at + 4:at + 8]
        end = at + 8 + length
        if end + 4 > len(data):
            raise ImageError("not a readable PNG: a chunk runs past the end")
        body = data[at + 8:end]
        if struct.unpack(">I", data[end:end + 4])[0] != zlib.crc32(kind + body):
            raise ImageError("not a readable PNG: a chunk's CRC is wrong")
        chunks.append((kind, body))
        at = end + 4
    return chunks


def _header(chunks: list[tuple[bytes, bytes]]) -> tuple[int, int, int]:
    """(width, height, channels) of a chunk list shaped IHDR, IDAT..., IEND."""
    kinds = [kind for kind, _ in chunks]
    if len(kinds) < 3 or kinds[0] != b"IHDR" or kinds[-1] != b"IEND" or chunks[-1][1] \
            or set(kinds[1:-1]) != {b"IDAT"} or len(chunks[0][1]) != 13:
        raise ImageError("not a PNG this codec writes: chunks must be IHDR, IDAT..., IEND")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1])
    _check_size(width, height)
    if depth != 8 or colour not in (0, 2) or (compression, filtering, interlace) != (0, 0, 0):
        raise ImageError(f"PNG mode (depth {depth}, colour type {colour}, interlace "
                         f"{interlace}) is not 8-bit grey or RGB, non-interlaced")
    return width, height, 1 if colour == 0 else 3


def decode_image(data: bytes) -> numpy.ndarray:
    """The uint8 image of PNG ``data`` (module docstring: what is refused, with
    :class:`ImageError`). The chunk structure, the header and the exact size of the
    decompressed rows are checked here, before Pillow undoes the row filters."""
    if not isinstance(data, bytes):
        raise ImageError("an encoded image is bytes")
    if len(data) > MAX_PNG_BYTES:
        raise ImageError(f"an encoded image is at most {MAX_PNG_BYTES} bytes")
    if not data.startswith(PNG_SIGNATURE) or not data.endswith(PNG_IEND):
        raise ImageError("not a PNG: no signature, or bytes after the IEND chunk")
    chunks = _chunks(data)
    width, height, channels = _header(chunks)
    expected = height * (1 + width * channels)
    inflater = zlib.decompressobj()
    try:
        rows = inflater.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"),
                                   expected + 1)
    except zlib.error:
        raise ImageError("not a readable PNG: the image data does not decompress") from None
    if len(rows) != expected or not inflater.eof or inflater.unused_data:
        raise ImageError(f"not a readable PNG: {len(rows)} bytes of rows where the header "
                         f"needs {expected}")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as png:
            png.load()
            pixels = numpy.array(png)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"not a readable PNG: {type(exc).__name__}") from None
    return _check_array(pixels)
