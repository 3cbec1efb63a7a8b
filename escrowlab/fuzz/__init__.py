"""The fuzzing harness: every parser of the project, seeded with real objects of every
escrow mode, property-based (hypothesis drives it in ``tests/fuzz``) and
mutation-based (structure-aware mutation of real objects' bytes and JSON fields,
:mod:`escrowlab.fuzz.mutate`).

:func:`run` builds the seed world once (:mod:`escrowlab.fuzz.seeds`), splits the
inputs between the selected targets by weight (:data:`WEIGHTS_NOTE`) and returns a
JSON-ready report: per target the inputs, acceptances, refusals (the package's own
error types), crashes (any other exception) and state changes (a refused input that
changed the target's state), with inputs per second and each crash class's shrunk
input. ``escrowlab fuzz`` is the command line.
"""

from __future__ import annotations

import fnmatch
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from escrowlab.fuzz import (
    targets_audit,
    targets_css,
    targets_escrow,
    targets_messaging,
    targets_relay,
)
from escrowlab.fuzz.core import (
    Deadline,
    Progress,
    Target,
    TargetStats,
    allocate,
    environment,
    run_target,
)
from escrowlab.fuzz.seeds import MODES, World, build_world

MODULES = (targets_messaging, targets_escrow, targets_audit, targets_relay, targets_css)
WEIGHTS_NOTE = ("inputs are split between targets in proportion to their weights "
                "(the JSON report lists each): 3 for the wire envelope; 2 for the fast pure "
                "parsers and the live sessions; 1 for the other parsers, the relay over HTTP "
                "(about 300 inputs/s), live message content and relay answers to a client "
                "(about 600/s); 0.5 for PQXDH responders, hook checks, custodian releases, "
                "store rows, witness answers and the client-side-scanning parsers (voucher "
                "against a live matcher, database, image, signed detection order); 0.3 for a "
                "whole "
                "recovery per input and the blinded table (ristretto255 point checks); 0.2 for "
                "damaged database files; 0.1 for keystores and store key derivation (Argon2id per "
                "input). Of 1,000,000 inputs the slowest targets still get over 2,000 each")


@dataclass
class _Stub:
    modes: dict


def target_names() -> list[str]:
    """Every target's name, without building anything."""
    stub = _Stub({mode: None for mode in MODES})
    names: list[str] = []
    for module in MODULES:
        names += module.targets(stub)
    return sorted(names)


def select(patterns: list[str] | None) -> list[str]:
    """Target names matching any of ``patterns`` (exact, prefix before a dot, or glob)."""
    names = target_names()
    if not patterns:
        return names
    chosen = []
    for name in names:
        for pattern in patterns:
            if name == pattern or name.startswith(pattern + ".") or \
                    fnmatch.fnmatchcase(name, pattern):
                chosen.append(name)
                break
    return chosen


def build_targets(world: World, names: list[str]) -> tuple[list[Target], dict[str, str]]:
    """The targets named, built on ``world``; a target whose construction fails is reported
    (name -> error) instead of stopping the run."""
    factories: dict[str, Callable[[], Target]] = {}
    for module in MODULES:
        factories.update(module.targets(world))
    built, failed = [], {}
    for name in names:
        try:
            built.append(factories[name]())
        except Exception as exc:  # an API the harness calls changed: report, keep going
            failed[name] = f"{type(exc).__name__}: {exc}"
    return built, failed


ROUNDS = 20
DEFAULT_INPUT_TIMEOUT = 10.0


def run(inputs: int, names: list[str], seed: int = 0, crashes_dir: Path | None = None,
        progress: bool = False, shrink: bool = True, world: World | None = None,
        input_timeout: float = DEFAULT_INPUT_TIMEOUT) -> dict:
    """Run ``inputs`` inputs over the targets ``names``; the report (see module docstring).

    Targets take turns in :data:`ROUNDS` rounds (each round a twentieth of every
    target's share), so the progress estimate holds from the first round on. An input
    running longer than ``input_timeout`` seconds is a crash (a hang)."""
    started = time.perf_counter()
    own_world = world is None
    world = world or build_world()
    setup_seconds = time.perf_counter() - started
    try:
        targets, failed = build_targets(world, names)
        shares = allocate(targets, inputs) if targets else {}
        meter = Progress(sum(shares.values()), progress)
        deadline = Deadline(input_timeout)
        rngs = {t.name: random.Random(f"{seed}:{t.name}") for t in targets}
        results = [(t, TargetStats(t.name, t.weight)) for t in targets]
        for round_ in range(ROUNDS):
            for target, stats in results:
                share = shares[target.name]
                count = share * (round_ + 1) // ROUNDS - share * round_ // ROUNDS
                meter.label = target.name
                run_target(target, count, rngs[target.name], stats, crashes_dir, shrink,
                           meter.advance, deadline)
        for target, _ in results:
            if target.close is not None:
                target.close()
        meter.finish()
    finally:
        if own_world:
            world.close()
    report_targets = []
    for target, stats in results:
        item = stats.to_json()
        item["description"] = target.description
        item["refusal_types"] = target.refusal_names
        report_targets.append(item)
    totals = {key: sum(t[key] for t in report_targets)
              for key in ("inputs", "accepted", "refusals", "crashes", "state_changes")}
    return {
        "seed": seed, "inputs_requested": inputs, "input_timeout_seconds": input_timeout,
        "weighting": WEIGHTS_NOTE,
        "weights": {t.name: t.weight for t in targets},
        "setup_seconds": round(setup_seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
        "totals": totals, "targets": report_targets, "setup_failures": failed,
        "environment": environment(),
    }
