"""Coverage-guided fuzzing of one target with atheris (libFuzzer for Python), optional.

``escrowlab fuzz --engine atheris --targets NAME`` instruments the project's packages,
then lets libFuzzer drive the target: its seeds are the corpus, and the harness's
structure-aware mutator (:mod:`escrowlab.fuzz.mutate`) is libFuzzer's custom mutator,
so coverage feedback chooses which real-object mutants to keep. A crash or a state
change raises, and libFuzzer saves the input (``-artifact_prefix``). atheris is not a
dependency of the project (``pip install atheris``); nothing else needs it.
"""

from __future__ import annotations

import inspect
import random
import sys
import tempfile
import traceback
from pathlib import Path

from escrowlab.fuzz.core import ACCEPTED, REFUSED, Target, classify
from escrowlab.fuzz.mutate import Mutator


class FuzzFinding(Exception):
    """Raised into libFuzzer for a crash or a state change, so it records the input."""


def available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


INSTRUMENTED_PACKAGES = ("messaging", "audit", "escrow", "strictjson")


def _instrument_project(atheris) -> int:
    """Instrument, in place, every function and method of the packages under test (all of
    the interpreter's 16,000 functions take minutes on two cores)."""
    count = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in INSTRUMENTED_PACKAGES:
            continue
        for value in list(vars(module).values()):
            members = [value]
            if isinstance(value, type) and value.__module__ == name:
                members = [m.__func__ if isinstance(m, classmethod | staticmethod) else m
                           for m in vars(value).values()]
            for member in members:
                if inspect.isfunction(member) and member.__module__ == name:
                    atheris.instrument_func(member)
                    count += 1
    return count


def run_atheris(target: Target, runs: int, seed: int, libfuzzer_args: list[str]) -> None:
    """Fuzz ``target`` for ``runs`` inputs under atheris; does not return (libFuzzer exits)."""
    import atheris

    _instrument_project(atheris)
    corpus = list(target.seeds)

    def test_one_input(data: bytes) -> None:
        outcome = classify(target, data)
        if outcome.kind not in (ACCEPTED, REFUSED):
            if outcome.error is not None:
                traceback.print_exception(outcome.error, file=sys.stderr)
            raise FuzzFinding(outcome.crash_class)

    def custom_mutator(data: bytes, max_size: int, mutation_seed: int) -> bytes:
        mutator = Mutator(random.Random(mutation_seed))
        if data and mutator.rng.random() < 0.3:
            # keep libFuzzer's kept input as the base of a byte mutation
            return mutator.havoc(data, corpus)[:max_size]
        return target.mutate(mutator)[:max_size]

    corpus_dir = tempfile.mkdtemp(prefix="escrowlab-atheris-")
    for i, data in enumerate(corpus):
        Path(corpus_dir, f"seed-{i}").write_bytes(data)
    argv = [sys.argv[0], f"-runs={runs}", f"-seed={seed or 1}", *libfuzzer_args, corpus_dir]
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()
