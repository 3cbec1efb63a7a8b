"""The registry of escrow modes (escrow.modes): every mode listed once, with its parameters,
its hook factory and one recovery signature, and the command line built from it."""

import inspect
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.errors import ModeError
from escrow.modes import MODES, Mode, get_mode, parameters
from escrow.scope import Window
from escrow.threshold import recovery as threshold_recovery
from escrow.threshold.deployment import custodian_deploy
from escrow.workflow import LawfulAccess
from escrowlab import demo
from escrowlab.benchmarks import escrow as bench_escrow
from escrowlab.cli import build_parser, main
from escrowlab.demo import DEMO_MODES, installed_modes
from tests.escrow.helpers import Issuer, relay_world
from tests.escrow.threshold.test_threshold import MaskedEscrow
from tests.paths import PROJECT_ROOT

SIGNATURE = ["deployment", "archive", "window", "authorisation", "releases", "recovery_key"]
SMALL = {"threshold": {}, "crumple": {"puzzle_bits": 4}, "leaf16": {"leaf_width": 8},
         "none": {}, "ghost": {}, "css": {"voucher_threshold": 2}}


def test_every_mode_of_the_architecture_table_that_exists_is_registered_once():
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    table = text[text.index("## Escrow modes"):text.index("## Three kinds")]
    rows = [line.split("|")[1].strip() for line in table.splitlines()
            if line.startswith("| `")]
    built = [row.strip("`") for row in rows if "planned" not in row]
    assert list(MODES) == built == ["none", "threshold", "leaf16", "crumple", "ghost", "css"]


def test_the_demo_and_its_choices_iterate_the_registry():
    assert list(DEMO_MODES) == list(MODES) == list(installed_modes())
    demo = _subparser(build_parser(), "demo")
    escrow = next(a for a in demo._actions if a.dest == "escrow")
    assert list(escrow.choices) == sorted(MODES)
    for mode in MODES.values():
        assert mode.description in demo.description


@pytest.mark.parametrize("name", list(MODES))
def test_every_mode_deploys_a_hook_of_its_own_name(name):
    mode = get_mode(name)
    deployment = mode.deployment(**SMALL[name])
    assert deployment.mode == name
    assert deployment.hook_for("alice:1").mode == name
    assert 0 <= deployment.threshold <= len(deployment.parties)
    assert (deployment.threshold == 0) == (name in ("none", "ghost", "css"))
    assert mode.description and "\n" not in mode.description


def test_every_recovery_entry_point_has_the_one_signature():
    for mode in MODES.values():
        assert list(inspect.signature(mode.recover).parameters) == SIGNATURE, mode.name


@pytest.mark.parametrize("name", list(MODES))
def test_every_parameter_default_is_in_its_range_and_outside_values_are_refused(name):
    mode = get_mode(name)
    for p in mode.parameters:
        assert p.check(p.default) == p.default
        assert p.low <= p.default <= p.high and p.help
        assert not p.choices or p.default in p.choices
        for bad in (p.low - 1, p.high + 1, True, "3", 2.0):
            with pytest.raises(ModeError):
                mode.values({p.name: bad})
    with pytest.raises(ModeError, match="no parameter"):
        mode.values({"colour": 1})


def test_an_unknown_mode_is_an_escrow_error_naming_the_registered_ones():
    with pytest.raises(ModeError,
                       match="registered: none, threshold, leaf16, crumple, ghost, css"):
        get_mode("clipper2")


def test_a_parameter_two_modes_share_means_the_same_in_both():
    shared = {name: modes for name, (_, modes) in parameters().items() if len(modes) > 1}
    assert shared == {"custodians": ("threshold", "crumple"),
                      "threshold": ("threshold", "crumple")}


def _subparser(parser, *path):
    for name in path:
        action = next(a for a in parser._actions if hasattr(a, "choices")
                      and isinstance(a.choices, dict) and name in a.choices)
        parser = action.choices[name]
    return parser


def _parse(*argv):
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize("name, parameter", [(name, p) for name, mode in MODES.items()
                                             for p in mode.parameters])
def test_the_demo_enforces_every_range_the_registry_states(name, parameter, capsys):
    for good in (parameter.low, parameter.high, parameter.default):
        if not parameter.choices or good in parameter.choices:
            args = _parse("demo", "--escrow", name, parameter.option, str(good))
            assert getattr(args, parameter.name) == good
    assert getattr(_parse("demo", "--escrow", name), parameter.name) == parameter.default
    bad = [parameter.low - 1, parameter.high + 1]
    if parameter.choices:
        bad.append(next(v for v in range(parameter.low, parameter.high)
                        if v not in parameter.choices))
    for value in bad:
        with pytest.raises(SystemExit) as exc:
            _parse("demo", "--escrow", name, parameter.option, str(value))
        assert exc.value.code == 2
        assert f"argument {parameter.option}" in capsys.readouterr().err


def test_bench_escrow_takes_the_custodian_ranges_from_the_registry(capsys):
    threshold = get_mode("threshold")
    for p in (threshold.parameter("custodians"), threshold.parameter("threshold")):
        assert getattr(bench_escrow.default_args(), p.name) == p.default
        assert getattr(_parse("bench", "escrow", p.option, str(p.high)), p.name) == p.high
        with pytest.raises(SystemExit):
            _parse("bench", "escrow", p.option, str(p.high + 1))
        assert f"argument {p.option}" in capsys.readouterr().err


def test_a_new_hook_style_mode_is_one_class_and_one_registry_entry():
    """MaskedEscrow (tests/escrow/threshold/test_threshold.py) is the class; this Mode is the
    entry."""
    masked = Mode("masked", "the chain key under a context mask, t-of-n",
                  custodian_deploy(MaskedEscrow), threshold_recovery.recover_window,
                  get_mode("threshold").parameters)
    deployment = masked.deployment(custodians=3, threshold=2)
    w = relay_world(deployment.hook_for, users=("alice", "bob"))
    dm = w.talk("alice", "bob", 6, 2)
    access = LawfulAccess(deployment, w.archive, masked)
    window = Window(dm, 0, w.clock.now() + 1)
    scoped = access.scope(window)
    issuer, key = Issuer(), X25519PrivateKey.generate()
    attempt = access.open(window, issuer.authorise(scoped, key, 1e12), key)
    for party in range(deployment.threshold):
        attempt.submit(attempt.nonce, deployment.release(party, attempt.authorisation,
                                                         issuer.verifier(), scoped, w.clock))
    report = attempt.recover()
    assert report.messages_recovered == report.messages_in_scope == 6


@pytest.mark.parametrize("name, options", [("threshold", ["--custodians", "3",
                                                          "--threshold", "2"]),
                                           ("leaf16", ["--leaf-width", "8"]),
                                           ("crumple", ["--puzzle-bits", "4"]),
                                           ("none", [])])
def test_a_registered_mode_without_a_story_of_its_own_runs_in_the_generic_demo(
        name, options, capsys, monkeypatch):
    monkeypatch.setitem(demo.DEMO_MODES, name, "escrowlab.demo.no_story_here")
    assert demo.installed_modes()[name] == demo.GENERIC_DEMO
    assert main(["demo", "--json", "--messages", "4", "--escrow", name, *options]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mode"] == name
    if name == "none":
        assert summary["recoverable_messages"] == 0
    else:
        assert summary["messages_recovered"] == summary["messages_in_scope"] > 0
        assert summary["attempt"]["complete"] and summary["attempt"]["state"] == "executed"
