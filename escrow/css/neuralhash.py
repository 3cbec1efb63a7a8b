"""Apple's NeuralHash as an optional hasher the user brings (docs/css_hashing.md, "NeuralHash").

The lab ships neither the network nor its projection matrix: both are Apple's, extracted from
iOS and macOS in August 2021, and never vendored here. A user who holds them points
:func:`load` at two files: the network converted to ONNX (``model.onnx``, as the public
conversion AsuharietYgvar/AppleNeuralHash2ONNX produces it) and the projection matrix as
Apple ships it (``neuralhash_128x96_seed1.dat``). Running the network needs ``onnxruntime``,
the optional extra ``escrowlab[neuralhash]``; nothing in ``make test`` needs either.

The computation is the one that conversion's README and its ``nnhash.py`` describe:

1. the image is converted to RGB (Pillow's ``convert("RGB")``: grey is repeated over three
   channels, an alpha channel is dropped) and resized to 360 x 360 (Pillow's default filter
   for ``resize``, bicubic);
2. its values are scaled to [-1, 1] (``x / 255 * 2 - 1``) and laid out as one float32
   ``1 x 3 x 360 x 360`` tensor (batch, channel, row, column: NCHW) — :func:`preprocess`;
3. the network maps it to a descriptor of 128 floats;
4. the seed file, after a 128-byte header, is a 96 x 128 matrix of little-endian float32
   (:func:`parse_seed`); each of its rows is a hyperplane (Apple's technical summary:
   "Hyperplane LSH"), and bit ``i`` of the hash is ``row_i . descriptor >= 0``, the first row
   the most significant bit — :func:`project`. 96 bits, 12 bytes.

The network sits behind :class:`Network`, the one method of an ``onnxruntime``
``InferenceSession`` the hasher uses, so that the steps around it are tested without
``onnxruntime``.

Threshold: 0. Apple's "CSAM Detection: Technical Summary" (August 2021) has the device put the
NeuralHash itself into the private set intersection, which tests it for equality with a
listed hash: the deployed match is exact, as the lab's PSI is (docs/css.md, "Exact matching").
Public analyses report near-duplicates at small non-zero distances instead — the conversion's
README lists one image's hash from four devices (an iPad, an M1 Mac, the iOS simulator and
ONNX Runtime) 1 to 9 bits apart — so a Hamming threshold above 0 would be a choice of the
lab's, not a published setting, and an exact-match scanner misses such a copy.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy
from PIL import Image

from escrow.css.hashers import MAX_HASH_SIDE, HashError

NAME = "neuralhash"
INPUT_SIDE = 360
INPUT_SHAPE = (1, 3, INPUT_SIDE, INPUT_SIDE)
DESCRIPTOR_LENGTH = 128
BITS = 96
THRESHOLD = 0
SEED_HEADER_BYTES = 128
SEED_BYTES = SEED_HEADER_BYTES + BITS * DESCRIPTOR_LENGTH * 4  # 49,280
MAX_MODEL_BYTES = 128 * 1024 * 1024
INSTALL_HINT = "pip install 'escrowlab[neuralhash]'"


class NeuralHashError(HashError):
    """A NeuralHash that cannot be set up or computed: ``onnxruntime`` missing, a model or
    seed file missing, unreadable or not NeuralHash's, or a network output of the wrong
    shape."""


class Network(Protocol):
    """What the hasher needs of the network: ``onnxruntime.InferenceSession.run``."""

    def run(self, output_names: Sequence[str] | None,
            input_feed: Mapping[str, numpy.ndarray]) -> Sequence[numpy.ndarray]:
        """The named outputs (all if None) for ``input_feed`` (input name -> tensor)."""
        ...


def preprocess(image: object) -> numpy.ndarray:
    """Steps 1 and 2 of the module docstring: a ``uint8`` ``H x W`` grey, ``H x W x 3`` RGB
    or ``H x W x 4`` RGBA image as NeuralHash's float32 ``1 x 3 x 360 x 360`` input in
    [-1, 1]; :class:`NeuralHashError` for anything else."""
    if not isinstance(image, numpy.ndarray) or image.dtype != numpy.uint8:
        raise NeuralHashError("an image is a numpy uint8 array")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise NeuralHashError(f"an image is H x W, H x W x 3 or H x W x 4, not {image.shape}")
    height, width = image.shape[:2]
    if not (1 <= height <= MAX_HASH_SIDE and 1 <= width <= MAX_HASH_SIDE):
        raise NeuralHashError(f"image sides must be 1..{MAX_HASH_SIDE}, not {height} x {width}")
    rgb = Image.fromarray(numpy.ascontiguousarray(image)).convert("RGB")
    resized = rgb.resize((INPUT_SIDE, INPUT_SIDE), Image.Resampling.BICUBIC)
    scaled = numpy.asarray(resized, dtype=numpy.float32) / numpy.float32(255.0)
    scaled = scaled * numpy.float32(2.0) - numpy.float32(1.0)
    return numpy.ascontiguousarray(scaled.transpose(2, 0, 1)[numpy.newaxis])


def parse_seed(data: object) -> numpy.ndarray:
    """Step 4: the 96 x 128 float32 projection matrix of a seed file's bytes.

    The file is exactly :data:`SEED_BYTES` long (the 128-byte header, which is skipped, and
    96 x 128 little-endian float32); every value is finite and no row is all zeros (a zero
    hyperplane would give a bit that is 1 for every image). :class:`NeuralHashError`
    otherwise."""
    if not isinstance(data, bytes | bytearray):
        raise NeuralHashError("a seed file's contents are bytes")
    if len(data) != SEED_BYTES:
        raise NeuralHashError(
            f"a NeuralHash seed file (neuralhash_128x96_seed1.dat) is {SEED_BYTES:,} bytes "
            f"(a {SEED_HEADER_BYTES}-byte header and a {BITS} x {DESCRIPTOR_LENGTH} float32 "
            f"matrix), not {len(data):,}")
    matrix = numpy.frombuffer(bytes(data), dtype="<f4", offset=SEED_HEADER_BYTES)
    matrix = matrix.reshape(BITS, DESCRIPTOR_LENGTH).astype(numpy.float32)
    if not numpy.isfinite(matrix).all():
        raise NeuralHashError("the seed file's matrix holds values that are not finite "
                              "numbers: it is not a NeuralHash seed file")
    if not matrix.any(axis=1).all():
        raise NeuralHashError("the seed file's matrix has a row of zeros: it is not a "
                              "NeuralHash seed file")
    return matrix


def project(seed: numpy.ndarray, descriptor: object) -> bytes:
    """Step 4: the 12-byte hash of a network output (128 finite floats in any shape, such as
    ``1 x 128`` or ``1 x 128 x 1 x 1``) under ``seed`` (from :func:`parse_seed`)."""
    vector = numpy.asarray(descriptor)
    if vector.size != DESCRIPTOR_LENGTH or not numpy.issubdtype(vector.dtype, numpy.floating):
        raise NeuralHashError(f"NeuralHash's network outputs {DESCRIPTOR_LENGTH} floats, not "
                              f"{vector.size} of {vector.dtype}")
    vector = vector.reshape(DESCRIPTOR_LENGTH).astype(numpy.float32)
    if not numpy.isfinite(vector).all():
        raise NeuralHashError("the network's output holds values that are not finite numbers")
    return numpy.packbits(seed @ vector >= 0).tobytes()


@dataclass(frozen=True, eq=False)
class NeuralHasher:
    """NeuralHash as a :class:`escrow.css.hashers.Hasher`: 96 bits at threshold 0 (module
    docstring). ``network`` is run with ``{input_name: preprocess(image)}`` and its
    ``output_name`` output is projected with ``seed``."""

    network: Network
    input_name: str
    output_name: str
    seed: numpy.ndarray
    name: str = NAME
    bits: int = BITS
    threshold: int = THRESHOLD

    def descriptor(self, image: object) -> numpy.ndarray:
        """The network's output for ``image``, as it returned it."""
        outputs = self.network.run([self.output_name], {self.input_name: preprocess(image)})
        if len(outputs) != 1:
            raise NeuralHashError(f"the network returned {len(outputs)} outputs for one name")
        return numpy.asarray(outputs[0])

    def hash(self, image: numpy.ndarray) -> bytes:
        """The 12-byte NeuralHash of a ``uint8`` grey, RGB or RGBA image."""
        return project(self.seed, self.descriptor(image))


def _read(path: object, what: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; anything else (no
    such file, a directory, a FIFO, a larger file) is a :class:`NeuralHashError`."""
    if not isinstance(path, str | os.PathLike):
        raise NeuralHashError(f"the NeuralHash {what} is a file path")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before it can be refused
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise NeuralHashError(f"the NeuralHash {what} {os.fspath(path)!r} is not a "
                                      "regular file")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise NeuralHashError(f"cannot read the NeuralHash {what} {os.fspath(path)!r}: "
                              f"{exc.strerror or exc}") from None
    if len(data) > limit:
        raise NeuralHashError(f"the NeuralHash {what} {os.fspath(path)!r} is larger than "
                              f"{limit:,} bytes")
    return data


def load_seed(path: object) -> numpy.ndarray:
    """The projection matrix of the seed file at ``path`` (:func:`parse_seed`)."""
    return parse_seed(_read(path, "seed file", SEED_BYTES))


def _onnxruntime():
    try:
        return importlib.import_module("onnxruntime")
    except ImportError:
        raise NeuralHashError("the NeuralHash hasher runs its network with onnxruntime, which "
                              f"is not installed: {INSTALL_HINT}") from None


def _dims(shape: object) -> list:
    return list(shape) if isinstance(shape, list | tuple) else []


def _fits_input(arg) -> bool:
    """One float tensor of shape 1 x 3 x 360 x 360 (the batch may be left symbolic)."""
    shape = _dims(arg.shape)
    return (arg.type == "tensor(float)" and len(shape) == 4
            and (shape[0] == 1 or not isinstance(shape[0], int))
            and shape[1:] == list(INPUT_SHAPE[1:]))


def _fits_output(arg) -> bool:
    """A float tensor of 128 values after the batch (``1 x 128``, ``1 x 128 x 1 x 1``...)."""
    shape = _dims(arg.shape)
    rest = shape[1:]
    return (arg.type == "tensor(float)" and len(shape) >= 2
            and all(isinstance(d, int) for d in rest)
            and int(numpy.prod(rest)) == DESCRIPTOR_LENGTH)


def session_hasher(session, seed: numpy.ndarray) -> NeuralHasher:
    """The hasher around an ``onnxruntime.InferenceSession`` whose single input and first
    output have NeuralHash's shapes, checked by running it once on a grey image;
    :class:`NeuralHashError` naming the shapes otherwise."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or not _fits_input(inputs[0]):
        found = ", ".join(f"{arg.name} {arg.type} {_dims(arg.shape)}" for arg in inputs)
        raise NeuralHashError("NeuralHash's network takes one float tensor of shape "
                              f"{list(INPUT_SHAPE)}; this model takes {found or 'nothing'}")
    if not outputs or not _fits_output(outputs[0]):
        found = ", ".join(f"{arg.name} {arg.type} {_dims(arg.shape)}" for arg in outputs)
        raise NeuralHashError("NeuralHash's network outputs a float tensor of "
                              f"{DESCRIPTOR_LENGTH} values (1 x {DESCRIPTOR_LENGTH}); this "
                              f"model outputs {found or 'nothing'}")
    hasher = NeuralHasher(session, inputs[0].name, outputs[0].name, seed)
    try:
        hasher.hash(numpy.full((INPUT_SIDE, INPUT_SIDE), 128, dtype=numpy.uint8))
    except NeuralHashError:
        raise
    except Exception as exc:  # onnxruntime's own failures have no common base class
        raise NeuralHashError(f"the model loads but does not run on NeuralHash's input: "
                              f"{exc}") from None
    return hasher


def load(model_path: object, seed_path: object) -> NeuralHasher:
    """NeuralHash from the user's ONNX model file and seed file (module docstring).

    The seed file is checked first, then ``onnxruntime`` is imported (a clear
    :class:`NeuralHashError` with :data:`INSTALL_HINT` when it is missing), the model read
    (at most :data:`MAX_MODEL_BYTES`) and loaded on the CPU, and its shapes checked
    (:func:`session_hasher`)."""
    seed = load_seed(seed_path)
    runtime = _onnxruntime()
    model = _read(model_path, "model file", MAX_MODEL_BYTES)
    try:
        session = runtime.InferenceSession(model, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own failures have no common base class
        raise NeuralHashError(f"the NeuralHash model file {os.fspath(model_path)!r} is not an "
                              f"ONNX model onnxruntime can load: {exc}") from None
    return session_hasher(session, seed)
