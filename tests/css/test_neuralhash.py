"""NeuralHash as the optional hasher a user brings (escrow/css/neuralhash.py;
docs/css_hashing.md, "NeuralHash"): the preprocessing, the seed file, the projection, the hash
under a stand-in network, the model checks and the errors. Nothing here needs onnxruntime or
Apple's files: the network is a fixed random linear map behind the same ``run`` protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import types

import numpy
import pytest

from escrow.css import images, neuralhash
from escrow.css.hashers import HASHERS, HashError, distance, get_hasher
from escrow.css.neuralhash import (
    BITS,
    DESCRIPTOR_LENGTH,
    INSTALL_HINT,
    SEED_BYTES,
    SEED_HEADER_BYTES,
    NeuralHasher,
    NeuralHashError,
    load,
    load_seed,
    parse_seed,
    preprocess,
    project,
    session_hasher,
)
from escrowlab.cli import main
from escrowlab.scenarios import css_evade, css_fp_rate
from escrowlab.scenarios._hash_attacks import scenario_hashers
from escrowlab.scenarios.registry import Params, get
from tests.paths import PROJECT_ROOT

POOL = 30  # the stand-in network averages 30 x 30 blocks: 3 x 12 x 12 values


def seed_matrix(seed: int = 1) -> numpy.ndarray:
    return numpy.random.default_rng(seed).standard_normal((BITS, DESCRIPTOR_LENGTH)
                                                          ).astype(numpy.float32)


def seed_file(matrix: numpy.ndarray, header: bytes = b"\x00" * SEED_HEADER_BYTES) -> bytes:
    return header + matrix.astype("<f4").tobytes()


class LinearNetwork:
    """A stand-in for NeuralHash's network: block means of the input, then a fixed random
    128 x 432 matrix; it returns a ``1 x 128 x 1 x 1`` output, as the converted model does,
    and records what it was fed."""

    def __init__(self, input_name: str = "image", output_name: str = "leaf", seed: int = 7):
        self.input_name, self.output_name = input_name, output_name
        side = neuralhash.INPUT_SIDE // POOL
        self.weights = numpy.random.default_rng(seed).standard_normal(
            (DESCRIPTOR_LENGTH, 3 * side * side)).astype(numpy.float32)
        self.feeds: list[dict] = []

    def run(self, output_names, input_feed):
        assert list(output_names) == [self.output_name]
        assert list(input_feed) == [self.input_name]
        self.feeds.append(input_feed)
        tensor = input_feed[self.input_name]
        side = neuralhash.INPUT_SIDE // POOL
        pooled = tensor.reshape(3, side, POOL, side, POOL).mean(axis=(2, 4)).reshape(-1)
        return [(self.weights @ pooled).reshape(1, DESCRIPTOR_LENGTH, 1, 1)]


def stand_in_hasher(seed: int = 1) -> NeuralHasher:
    return NeuralHasher(LinearNetwork(), "image", "leaf", seed_matrix(seed))


# ---------------------------------------------------------------------------- preprocessing

def test_the_input_is_one_float32_nchw_tensor_of_360_by_360_in_minus_one_to_one():
    image = numpy.random.default_rng(0).integers(0, 256, (360, 360, 3), dtype=numpy.uint8)
    tensor = preprocess(image)
    assert tensor.shape == (1, 3, 360, 360) and tensor.dtype == numpy.float32
    assert tensor.flags.c_contiguous
    # At 360 x 360 nothing is resized: channel c, row y, column x is pixel (y, x)'s channel c.
    expected = image.transpose(2, 0, 1)[numpy.newaxis].astype(numpy.float32) / 255 * 2 - 1
    numpy.testing.assert_allclose(tensor, expected, atol=1e-6)
    assert preprocess(numpy.zeros((50, 70), numpy.uint8)).max() == -1.0
    assert preprocess(numpy.full((50, 70), 255, numpy.uint8)).min() == 1.0


def test_a_constant_colour_keeps_its_channels_in_order():
    image = numpy.empty((90, 40, 3), numpy.uint8)
    image[...] = (255, 0, 128)
    tensor = preprocess(image)[0]
    numpy.testing.assert_allclose(tensor[0], 1.0)
    numpy.testing.assert_allclose(tensor[1], -1.0)
    numpy.testing.assert_allclose(tensor[2], 128 / 255 * 2 - 1, atol=1e-6)


def test_the_resize_keeps_rows_as_rows_and_columns_as_columns():
    image = numpy.zeros((720, 1440), numpy.uint8)
    image[:, 720:] = 255  # right half white
    tensor = preprocess(image)[0, 0]
    assert tensor.shape == (360, 360)
    assert (tensor[:, :170] == -1.0).all() and (tensor[:, 190:] == 1.0).all()
    image = numpy.zeros((1440, 720), numpy.uint8)
    image[720:] = 255  # bottom half white
    tensor = preprocess(image)[0, 0]
    assert (tensor[:170] == -1.0).all() and (tensor[190:] == 1.0).all()


def test_grey_is_repeated_over_three_channels_and_alpha_is_dropped():
    rng = numpy.random.default_rng(1)
    grey = rng.integers(0, 256, (64, 48), dtype=numpy.uint8)
    tensor = preprocess(grey)
    assert tensor.shape == (1, 3, 360, 360)
    numpy.testing.assert_array_equal(tensor[0, 0], tensor[0, 1])
    numpy.testing.assert_array_equal(tensor[0, 0], tensor[0, 2])
    numpy.testing.assert_array_equal(tensor, preprocess(numpy.stack([grey] * 3, axis=-1)))
    rgba = rng.integers(0, 256, (64, 48, 4), dtype=numpy.uint8)
    opaque = rgba.copy()
    opaque[..., 3] = 255
    numpy.testing.assert_array_equal(preprocess(rgba), preprocess(rgba[..., :3].copy()))
    numpy.testing.assert_array_equal(preprocess(rgba), preprocess(opaque))


@pytest.mark.parametrize("image", [
    numpy.zeros((8, 8), numpy.float32), numpy.zeros((8, 8, 2), numpy.uint8),
    numpy.zeros((8, 8, 5), numpy.uint8), numpy.zeros((0, 8), numpy.uint8),
    numpy.zeros((8,), numpy.uint8), [[0, 1], [2, 3]], None,
], ids=["float", "two-channels", "five-channels", "empty", "one-dimensional", "list", "none"])
def test_an_image_neuralhash_cannot_read_is_refused(image):
    with pytest.raises(NeuralHashError):
        preprocess(image)
    with pytest.raises(HashError):
        stand_in_hasher().hash(image)


# ---------------------------------------------------------------------------- the seed file

def test_the_seed_file_is_a_skipped_header_and_a_96_by_128_float32_matrix():
    matrix = seed_matrix()
    parsed = parse_seed(seed_file(matrix))
    assert parsed.shape == (96, 128) and parsed.dtype == numpy.float32
    numpy.testing.assert_array_equal(parsed, matrix)
    other_header = bytes(range(SEED_HEADER_BYTES))
    numpy.testing.assert_array_equal(parse_seed(seed_file(matrix, other_header)), matrix)
    assert SEED_BYTES == 128 + 96 * 128 * 4 == 49_280


@pytest.mark.parametrize("size", [0, SEED_BYTES - SEED_HEADER_BYTES, SEED_BYTES - 1,
                                  SEED_BYTES + 1, SEED_BYTES + 4, 2 * SEED_BYTES])
def test_a_seed_file_of_the_wrong_size_is_refused_naming_the_size(size):
    data = (seed_file(seed_matrix()) * 2)[:size]
    with pytest.raises(NeuralHashError, match="49,280 bytes"):
        parse_seed(data)


def test_a_seed_file_of_garbage_is_refused():
    with pytest.raises(NeuralHashError, match="row of zeros"):
        parse_seed(bytes(SEED_BYTES))
    matrix = seed_matrix()
    matrix[40, 3] = numpy.nan
    with pytest.raises(NeuralHashError, match="not finite"):
        parse_seed(seed_file(matrix))
    matrix = seed_matrix()
    matrix[95] = 0
    with pytest.raises(NeuralHashError, match="row of zeros"):
        parse_seed(seed_file(matrix))
    with pytest.raises(NeuralHashError, match="bytes"):
        parse_seed("not bytes")
    noise = numpy.random.default_rng(3).integers(0, 256, SEED_BYTES, dtype=numpy.uint8)
    with pytest.raises(NeuralHashError, match="not finite|row of zeros"):
        # random bytes hold exponent-all-ones patterns (NaN, infinity) with certainty here
        parse_seed(noise.tobytes())


def test_the_seed_file_is_read_from_a_regular_file_of_bounded_size(tmp_path):
    good = tmp_path / "neuralhash_128x96_seed1.dat"
    good.write_bytes(seed_file(seed_matrix()))
    numpy.testing.assert_array_equal(load_seed(good), seed_matrix())
    numpy.testing.assert_array_equal(load_seed(str(good)), seed_matrix())
    with pytest.raises(NeuralHashError, match="cannot read the NeuralHash seed file"):
        load_seed(tmp_path / "missing.dat")
    with pytest.raises(NeuralHashError, match="not a regular file|cannot read"):
        load_seed(tmp_path)
    fifo = tmp_path / "fifo.dat"
    os.mkfifo(fifo)  # refused at once, without waiting for a writer
    with pytest.raises(NeuralHashError, match="not a regular file"):
        load_seed(fifo)
    big = tmp_path / "big.dat"
    big.write_bytes(seed_file(seed_matrix()) + b"\x00" * 1000)
    with pytest.raises(NeuralHashError, match="larger than 49,280 bytes"):
        load_seed(big)
    with pytest.raises(NeuralHashError, match="file path"):
        load_seed(3)


# ---------------------------------------------------------------------------- the projection

def reference_bits(seed: numpy.ndarray, descriptor: numpy.ndarray) -> bytes:
    """The projection as the public reimplementation writes it: a string of bits, the first
    row the most significant, read as one 96-bit number."""
    values = seed.astype(numpy.float64) @ descriptor.reshape(-1).astype(numpy.float64)
    text = "".join("1" if value >= 0 else "0" for value in values)
    return int(text, 2).to_bytes(12, "big")


def test_the_hash_is_the_sign_of_each_hyperplane_first_row_first():
    rng = numpy.random.default_rng(5)
    for _ in range(20):
        seed = rng.standard_normal((96, 128)).astype(numpy.float32)
        descriptor = rng.standard_normal((1, 128, 1, 1)).astype(numpy.float32)
        digest = project(seed, descriptor)
        assert len(digest) == 12 and digest == reference_bits(seed, descriptor)
    seed = numpy.zeros((96, 128), numpy.float32)
    seed[0, 0] = 1.0  # only the first bit depends on the descriptor
    assert project(seed, -numpy.ones(128, numpy.float32)) == b"\x7f" + b"\xff" * 11
    assert project(seed, numpy.ones(128, numpy.float32)) == b"\xff" * 12  # 0 >= 0 is a 1


def test_the_projection_takes_any_shape_of_128_floats_and_nothing_else():
    seed, descriptor = seed_matrix(), numpy.random.default_rng(6).standard_normal(128)
    shapes = [(128,), (1, 128), (1, 128, 1, 1)]
    assert len({project(seed, descriptor.reshape(shape)) for shape in shapes}) == 1
    for bad in (descriptor[:127], numpy.concatenate([descriptor, [0.0]]),
                numpy.arange(128), numpy.full(128, numpy.inf), "x" * 128):
        with pytest.raises(NeuralHashError):
            project(seed, bad)


# ------------------------------------------------------------------ the hash under a network

def test_the_hasher_feeds_the_preprocessed_image_and_projects_the_output():
    hasher = stand_in_hasher()
    image = images.bundled("astronaut", side=128)
    digest = hasher.hash(image)
    assert (hasher.name, hasher.bits, hasher.threshold) == ("neuralhash", 96, 0)
    assert isinstance(digest, bytes) and len(digest) == hasher.bits // 8
    fed = hasher.network.feeds[-1]["image"]
    numpy.testing.assert_array_equal(fed, preprocess(image))
    output = hasher.network.run(["leaf"], {"image": fed})[0]
    assert digest == reference_bits(hasher.seed, output) == hasher.hash(image.copy())


def test_near_identical_images_hash_alike_and_other_pictures_do_not():
    hasher = stand_in_hasher()
    picture = images.bundled("astronaut", side=128)
    digest = hasher.hash(picture)
    nudged = picture.copy()
    nudged[10, 10, 0] ^= 1
    assert hasher.hash(nudged) == digest
    brighter = numpy.clip(picture.astype(int) + 2, 0, 255).astype(numpy.uint8)
    assert distance(hasher.hash(brighter), digest) <= 8
    assert distance(hasher.hash(images.jpeg(picture, 75)), digest) <= 8
    for other in ("camera", "chelsea", "coins"):
        assert distance(hasher.hash(images.bundled(other, side=128)), digest) >= 24
    assert distance(stand_in_hasher(seed=2).hash(picture), digest) >= 24  # another seed


def test_a_network_output_of_the_wrong_shape_is_refused():
    class Wrong(LinearNetwork):
        def run(self, output_names, input_feed):
            return [numpy.zeros((1, 500), numpy.float32)]

    class Two(LinearNetwork):
        def run(self, output_names, input_feed):
            return [numpy.zeros(128, numpy.float32)] * 2

    for network in (Wrong(), Two()):
        with pytest.raises(NeuralHashError):
            NeuralHasher(network, "image", "leaf", seed_matrix()).hash(
                numpy.zeros((8, 8), numpy.uint8))


# ------------------------------------------------------------------ a session's shapes

def arg(name: str, shape, kind: str = "tensor(float)"):
    return types.SimpleNamespace(name=name, shape=shape, type=kind)


class Session(LinearNetwork):
    """A stand-in InferenceSession: the linear network with onnxruntime's shape metadata."""

    def __init__(self, inputs=None, outputs=None, fail: Exception | None = None):
        super().__init__()
        self.inputs = inputs if inputs is not None else [arg("image", [1, 3, 360, 360])]
        self.outputs = outputs if outputs is not None else [arg("leaf", [1, 128, 1, 1])]
        self.fail = fail

    def get_inputs(self):
        return self.inputs

    def get_outputs(self):
        return self.outputs

    def run(self, output_names, input_feed):
        if self.fail is not None:
            raise self.fail
        return super().run(output_names, input_feed)


@pytest.mark.parametrize("inputs, outputs", [
    (None, None),
    ([arg("image", ["batch", 3, 360, 360])], [arg("leaf", ["batch", 128])]),
])
def test_a_session_with_neuralhash_shapes_is_taken_and_run_once(inputs, outputs):
    session = Session(inputs, outputs)
    hasher = session_hasher(session, seed_matrix())
    assert len(session.feeds) == 1  # the probe run
    assert hasher.hash(images.bundled("camera", side=64)) == stand_in_hasher().hash(
        images.bundled("camera", side=64))


@pytest.mark.parametrize("inputs, outputs, message", [
    ([arg("image", [1, 360, 360, 3])], None, "takes image tensor"),
    ([arg("image", [1, 3, 224, 224])], None, "shape"),
    ([arg("image", [1, 3, 360, 360], "tensor(float16)")], None, "float16"),
    ([arg("image", [2, 3, 360, 360])], None, "shape"),
    ([arg("a", [1, 3, 360, 360]), arg("b", [1, 3, 360, 360])], None, "a tensor"),
    ([], None, "takes nothing"),
    (None, [arg("leaf", [1, 500])], "outputs leaf"),
    (None, [arg("leaf", [1, 128], "tensor(float16)")], "float16"),
    (None, [arg("leaf", [1, "n"])], "outputs leaf"),
    (None, [arg("leaf", [128])], "outputs leaf"),
    (None, [], "outputs nothing"),
])
def test_a_model_whose_shapes_are_not_neuralhashs_is_refused_naming_them(inputs, outputs,
                                                                          message):
    with pytest.raises(NeuralHashError, match=message):
        session_hasher(Session(inputs, outputs), seed_matrix())


def test_a_model_that_loads_but_does_not_run_is_refused():
    failing = Session(fail=RuntimeError("X num_dims does not match W num_dims"))
    with pytest.raises(NeuralHashError, match="does not run.*num_dims"):
        session_hasher(failing, seed_matrix())


# ------------------------------------------------------------------ loading the user's files

@pytest.fixture
def seed_path(tmp_path):
    path = tmp_path / "neuralhash_128x96_seed1.dat"
    path.write_bytes(seed_file(seed_matrix()))
    return path


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"stand-in model bytes")
    return path


def fake_runtime(session_for):
    """A module standing in for onnxruntime whose InferenceSession is ``session_for``."""
    module = types.ModuleType("onnxruntime")
    module.InferenceSession = session_for
    return module


def test_without_onnxruntime_the_error_says_how_to_install_it(monkeypatch, seed_path,
                                                               model_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    with pytest.raises(NeuralHashError) as caught:
        load(model_path, seed_path)
    assert INSTALL_HINT in str(caught.value)
    assert INSTALL_HINT == "pip install 'escrowlab[neuralhash]'"


def test_the_seed_file_is_checked_before_the_runtime_is_needed(monkeypatch, tmp_path,
                                                               model_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    short = tmp_path / "short.dat"
    short.write_bytes(b"\x01" * 1000)
    with pytest.raises(NeuralHashError, match="49,280 bytes"):
        load(model_path, short)


def test_load_hands_the_model_bytes_to_the_runtime_on_the_cpu(monkeypatch, seed_path,
                                                              model_path):
    seen = {}

    def session_for(model, providers):
        seen["model"], seen["providers"] = model, providers
        return Session()

    monkeypatch.setitem(sys.modules, "onnxruntime", fake_runtime(session_for))
    hasher = load(model_path, seed_path)
    assert seen == {"model": b"stand-in model bytes", "providers": ["CPUExecutionProvider"]}
    numpy.testing.assert_array_equal(hasher.seed, seed_matrix())
    assert hasher.hash(images.bundled("coins", side=64)) == stand_in_hasher().hash(
        images.bundled("coins", side=64))


def test_a_missing_or_corrupt_model_is_refused(monkeypatch, seed_path, tmp_path):
    def session_for(model, providers):
        raise RuntimeError("[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model failed")

    monkeypatch.setitem(sys.modules, "onnxruntime", fake_runtime(session_for))
    with pytest.raises(NeuralHashError, match="cannot read the NeuralHash model file"):
        load(tmp_path / "absent.onnx", seed_path)
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x00garbage")
    with pytest.raises(NeuralHashError, match="not an ONNX model.*INVALID_PROTOBUF"):
        load(corrupt, seed_path)


def test_a_model_file_over_the_size_bound_is_refused_unread(monkeypatch, seed_path,
                                                           model_path):
    monkeypatch.setitem(sys.modules, "onnxruntime",
                        fake_runtime(lambda model, providers: Session()))
    assert neuralhash.MAX_MODEL_BYTES == 128 * 1024 * 1024  # docs/css_hashing.md
    monkeypatch.setattr(neuralhash, "MAX_MODEL_BYTES", 10)  # the stand-in model has 20 bytes
    with pytest.raises(NeuralHashError, match="larger than 10 bytes"):
        load(model_path, seed_path)


def test_the_registry_names_what_neuralhash_needs():
    with pytest.raises(HashError, match="--neuralhash-model FILE --neuralhash-seed FILE"):
        get_hasher("neuralhash")


# ------------------------------------------------------------------ what the lab ships

def test_the_extra_is_onnxruntime_alone_and_the_test_and_bench_extras_do_not_need_it():
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as handle:
        extras = tomllib.load(handle)["project"]["optional-dependencies"]
    assert [r.split(">")[0] for r in extras["neuralhash"]] == ["onnxruntime"]
    for extra in ("test", "bench"):
        assert not any(r.startswith(("onnxruntime", "onnx")) for r in extras[extra])


def test_importing_the_hasher_does_not_import_onnxruntime():
    probe = ("import sys, escrow.css.neuralhash, escrowlab.css.neuralhash_options; "
             "print('onnxruntime' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=120, check=True)
    assert result.stdout.strip() == "False"


def test_no_neuralhash_file_is_in_the_repository_and_no_scenario_or_demo_loads_it():
    tops = ("escrow", "escrowlab", "messaging", "audit", "authority_portal", "strictjson",
            "tests", "docs")
    found = [path for top in tops for path in (PROJECT_ROOT / top).rglob("*")
             if path.suffix == ".onnx" or path.name.startswith("NeuralHashv")
             or (path.suffix == ".dat" and "neuralhash" in path.name.lower())]
    assert found == []
    assert "neuralhash" not in HASHERS
    users = [path for top in ("scenarios", "demo")
             for path in (PROJECT_ROOT / "escrowlab" / top).rglob("*.py")
             if "escrow.css.neuralhash" in path.read_text()]
    assert users == []  # S28 and S29 get it only through Params.hashers, from the command


# ------------------------------------------------------------------ the command's options

def test_bench_css_needs_both_files_and_says_so(capsys, seed_path):
    assert main(["bench", "css", "--images", "2", "--neuralhash-seed", str(seed_path)]) == 2
    err = capsys.readouterr().err
    assert "needs both --neuralhash-model FILE and --neuralhash-seed FILE" in err
    assert "--neuralhash-model is missing" in err


def test_bench_css_refuses_the_files_before_any_work(capsys, monkeypatch, seed_path,
                                                      model_path, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    argv = ["bench", "css", "--images", "2", "--rounds", "1"]
    assert main([*argv, "--neuralhash-model", str(model_path),
                 "--neuralhash-seed", str(seed_path)]) == 2
    assert INSTALL_HINT in capsys.readouterr().err
    assert main([*argv, "--neuralhash-model", str(model_path),
                 "--neuralhash-seed", str(tmp_path / "absent.dat")]) == 2
    assert "cannot read the NeuralHash seed file" in capsys.readouterr().err


def test_bench_css_adds_the_users_neuralhash_beside_pdq(capsys, monkeypatch, seed_path,
                                                       model_path):
    monkeypatch.setitem(sys.modules, "onnxruntime",
                        fake_runtime(lambda model, providers: Session()))
    argv = ["bench", "css", "--images", "2", "--rounds", "1", "--json"]
    assert main([*argv, "--neuralhash-model", str(model_path),
                 "--neuralhash-seed", str(seed_path)]) == 0
    with_neuralhash = json.loads(capsys.readouterr().out)
    assert with_neuralhash["neuralhash_ms"] > 0 and with_neuralhash["hash_ms"] > 0
    assert main(argv) == 0
    assert "neuralhash_ms" not in json.loads(capsys.readouterr().out)


def test_bench_css_help_names_the_options_and_the_extra(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "css", "--help"])
    out = capsys.readouterr().out
    assert "--neuralhash-model FILE" in out and "--neuralhash-seed FILE" in out
    assert "escrowlab[neuralhash]" in out


# ------------------------------------------------------------------ S28 and S29

def test_the_scenarios_run_the_registered_hashers_then_the_users():
    hasher = stand_in_hasher()
    assert list(scenario_hashers(Params())) == list(HASHERS)
    chosen = scenario_hashers(Params(hashers=(hasher,)))
    assert list(chosen) == [*HASHERS, "neuralhash"] and chosen["neuralhash"] is hasher


def test_s28_counts_the_users_neuralhash_at_exact_match(monkeypatch):
    monkeypatch.setattr(css_fp_rate, "QUICK", {"images": 12, "side": 64})
    records = {o.variant: o for o in get("S28").run("css", Params(hashers=(stand_in_hasher(),)))}
    assert list(records) == [*HASHERS, "neuralhash"]
    details = records["neuralhash"].details
    assert (details["bits"], details["threshold"]) == (96, 0)
    # NeuralHash discards nothing: every user image is scanned, as under pHash
    assert details["n"] == records["phash"].details["n"] and details["discarded_user"] == 0
    assert 0 <= details["k"] <= details["n"] and details["distance_min"] >= 0


def test_s29_adds_the_users_neuralhash_without_changing_the_others(monkeypatch):
    monkeypatch.setattr(css_evade, "QUICK", {"listed": 1, "side": 32, "eps": (8, 16),
                                             "budget": 20, "edited": 2, "edit_side": 48})
    plain = {o.variant: o for o in get("S29").run("css", Params())}
    extra = {o.variant: o for o in get("S29").run("css", Params(hashers=(stand_in_hasher(),)))}
    assert list(extra) == [*plain, "neuralhash/perturb", "neuralhash/edits"]
    for variant, record in plain.items():
        assert extra[variant].details == record.details
    perturbed = extra["neuralhash/perturb"].details
    assert perturbed["threshold"] == 0 and [row["eps"] for row in perturbed["per_eps"]] == [8, 16]
    assert set(extra["neuralhash/edits"].details["evasion_rate"]) >= {"mirror", "jpeg-q75"}


@pytest.mark.parametrize("argv, message", [
    (["--only", "S01"], "apply to S28 and S29, and neither is selected"),
    (["--update-docs"], "reference run, which has no NeuralHash"),
])
def test_attacks_takes_neuralhash_only_for_s28_and_s29(capsys, tmp_path, seed_path,
                                                       model_path, argv, message):
    files = ["--neuralhash-model", str(model_path), "--neuralhash-seed", str(seed_path)]
    assert main(["attacks", *argv, "--no-cost", "--out", str(tmp_path / "r"), *files]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_attacks_refuses_one_file_without_the_other_before_running(capsys, tmp_path,
                                                                  model_path):
    assert main(["attacks", "--only", "S28", "--no-cost", "--out", str(tmp_path / "r"),
                 "--neuralhash-model", str(model_path)]) == 2
    assert "--neuralhash-seed is missing" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
