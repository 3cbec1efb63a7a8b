"""Fuzz targets, the classification of one input, and the runner.

A :class:`Target` wraps one parser (or one live operation) of the project. Each
input is classified as:

- ``accepted``: the target returned normally;
- ``refused``: it raised one of the target's ``refusals`` (its package's own
  error types, docs/architecture.md "Every parser is strict");
- ``crash``: it raised anything else (``ValueError``, ``RecursionError``,
  ``AttributeError``, a 5xx from the relay...);
- ``state change``: it was refused but the target's state snapshot (a
  serialised session, the relay's database, the witness's state) differs from
  the one taken before the input (docs/architecture.md "Fail closed, change nothing").

Crashes and state changes are grouped by class (target, exception type, the
innermost project frame); the first input of each class is shrunk and saved,
with a JSON description and the command that replays it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from escrowlab.fuzz.mutate import Mutator

ACCEPTED, REFUSED, CRASH, STATE_CHANGE = "accepted", "refused", "crash", "state change"
PROJECT_PACKAGES = ("messaging", "audit", "escrow", "strictjson", "escrowlab",
                    "authority_portal")
SHRINK_BUDGET = 300
MAX_HANGS = 3  # after this many hangs a target is skipped for the rest of the run


class InputTimeout(BaseException):
    """Raised in the main thread when one input runs longer than the deadline (a hang: the
    input costs the target unbounded work). A ``BaseException``, so that the code under
    test's ``except Exception`` cannot swallow it."""


class Deadline:
    """A per-input deadline with ``SIGALRM`` (main thread on POSIX only; else no deadline)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.enabled = (seconds > 0 and hasattr(signal, "setitimer")
                        and threading.current_thread() is threading.main_thread())
        if self.enabled:
            signal.signal(signal.SIGALRM, self._expired)

    def _expired(self, signum, frame) -> None:
        raise InputTimeout(f"one input ran longer than {self.seconds:g} s")

    def __enter__(self) -> Deadline:
        if self.enabled:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc_info) -> None:
        if self.enabled:
            signal.setitimer(signal.ITIMER_REAL, 0)


class HarnessFailure(Exception):
    """A failure the target itself detected that is not an exception of the code under test
    (e.g. the relay answered 5xx or not JSON): always a crash, classed by ``key``."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key or message[:60]


@dataclass
class Target:
    """One fuzz target.

    ``run(data)`` feeds one input to the code under test. ``mutate(mutator)`` returns
    the next input (from the seeds). ``snapshot()``, if given, serialises the state a
    refused input must leave unchanged; ``reset()``, if given, restores the base
    state after an accepted input (so the seeds stay valid). ``weight`` is the
    target's relative share of the inputs of a run.
    """

    name: str
    description: str
    refusals: tuple[type[BaseException], ...]
    seeds: Sequence[bytes]
    run: Callable[[bytes], Any]
    mutate: Callable[[Mutator], bytes]
    weight: float = 1.0
    snapshot: Callable[[], Any] | None = None
    reset: Callable[[], None] | None = None
    close: Callable[[], None] | None = None
    must_refuse: dict[bytes, str] | None = None
    """Inputs the mutator made that the target must refuse (e.g. ``true`` for an integer),
    with the reason; accepting one is a crash. By default the mutator's own."""

    def __post_init__(self) -> None:
        if self.must_refuse is None:
            self.must_refuse = getattr(self.mutate, "must_refuse", None)

    @property
    def refusal_names(self) -> list[str]:
        return [f"{e.__module__}.{e.__qualname__}" for e in self.refusals]


@dataclass
class Outcome:
    kind: str
    error: BaseException | None = None
    frame: str = ""

    @property
    def crash_class(self) -> str:
        name = type(self.error).__name__ if self.error is not None else "-"
        where = self.error.key if isinstance(self.error, HarnessFailure) else self.frame
        return f"{self.kind}: {name} at {where}"


def project_frame(exc: BaseException) -> str:
    """``path:line`` of the innermost traceback frame in the project's own packages."""
    frames = traceback.extract_tb(exc.__traceback__)
    root = Path(__file__).resolve().parents[2]
    best = ""
    for frame in frames:
        try:
            relative = Path(frame.filename).resolve().relative_to(root)
        except ValueError:
            continue
        if relative.parts and relative.parts[0] in PROJECT_PACKAGES and \
                relative.parts[:2] != ("escrowlab", "fuzz"):
            best = f"{relative.as_posix()}:{frame.lineno}"
    if not best and frames:
        best = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"
    return best


def classify(target: Target, data: bytes, deadline: Deadline | None = None) -> Outcome:
    """Run one input and classify it (see the module docstring); an input that outlives
    ``deadline`` is a crash of type :class:`InputTimeout` (a hang)."""
    before = target.snapshot() if target.snapshot is not None else None
    try:
        if deadline is not None:
            with deadline:
                result = target.run(data)
        else:
            result = target.run(data)
    except InputTimeout as exc:
        if target.reset is not None:
            target.reset()
        return Outcome(CRASH, exc, project_frame(exc))
    except target.refusals as exc:
        return _refused(target, before, exc)
    except Exception as exc:
        if target.reset is not None:
            target.reset()
        return Outcome(CRASH, exc, project_frame(exc))
    if result == REFUSED:  # a target whose code under test reports refusals, not raises
        return _refused(target, before, None)
    if target.reset is not None:
        target.reset()
    if target.must_refuse and data in target.must_refuse:
        reason = target.must_refuse[data]
        return Outcome(CRASH, HarnessFailure(f"{reason} (a strict parser refuses it)", reason))
    return Outcome(ACCEPTED)


def _refused(target: Target, before: Any, exc: BaseException | None) -> Outcome:
    if before is not None and target.snapshot() != before:
        if target.reset is not None:
            target.reset()
        return Outcome(STATE_CHANGE, exc, project_frame(exc) if exc else "")
    return Outcome(REFUSED)


@dataclass
class Finding:
    """One crash class and the (shrunk) input that shows it."""

    target: str
    kind: str
    exception: str
    message: str
    frame: str
    data: bytes
    count: int = 1
    file: str | None = None
    trace: str = ""

    def to_json(self) -> dict:
        preview = self.data[:160]
        return {"target": self.target, "kind": self.kind, "exception": self.exception,
                "message": self.message[:300], "frame": self.frame, "count": self.count,
                "input_bytes": len(self.data), "input_preview": preview.decode("latin-1"),
                "file": self.file, "traceback": self.trace}


@dataclass
class TargetStats:
    name: str
    weight: float
    inputs: int = 0
    accepted: int = 0
    refused: int = 0
    crashes: int = 0
    state_changes: int = 0
    seconds: float = 0.0
    mutator_errors: int = 0
    hangs: int = 0
    skipped: int = 0
    findings: dict[str, Finding] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        return {"target": self.name, "weight": self.weight, "inputs": self.inputs,
                "accepted": self.accepted, "refusals": self.refused, "crashes": self.crashes,
                "state_changes": self.state_changes, "seconds": round(self.seconds, 3),
                "inputs_per_second": round(self.rate, 1), "mutator_errors": self.mutator_errors,
                "hangs": self.hangs, "skipped_after_hangs": self.skipped,
                "crash_classes": [f.to_json() for f in self.findings.values()]}


def shrink(target: Target, data: bytes, crash_class: str, budget: int = SHRINK_BUDGET) -> bytes:
    """A smaller input of the same crash class (delete runs, then simplify bytes)."""
    best = data
    tries = 0
    chunk = max(1, len(best) // 2)
    while chunk >= 1 and tries < budget:
        pos = 0
        progressed = False
        while pos < len(best) and tries < budget:
            candidate = best[:pos] + best[pos + chunk:]
            tries += 1
            if candidate and classify(target, candidate).crash_class == crash_class:
                best, progressed = candidate, True
            else:
                pos += chunk
        if not progressed:
            chunk //= 2
    return best


def save_finding(finding: Finding, directory: Path, target: Target) -> None:
    """Write the input and a description with its replay command to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(finding.data).hexdigest()[:12]
    stem = f"{finding.target}-{digest}"
    (directory / f"{stem}.bin").write_bytes(finding.data)
    finding.file = str(directory / f"{stem}.bin")
    description = {**finding.to_json(),
                   "refusals": target.refusal_names,
                   "replay": f"escrowlab fuzz --targets {finding.target} --replay "
                             f"{directory / (stem + '.bin')}"}
    (directory / f"{stem}.json").write_text(json.dumps(description, indent=2) + "\n",
                                            encoding="utf-8")


def run_target(target: Target, inputs: int, rng: random.Random, stats: TargetStats,
               crashes_dir: Path | None = None, shrink_findings: bool = True,
               progress: Callable[[int], None] | None = None,
               deadline: Deadline | None = None) -> TargetStats:
    """Feed ``inputs`` mutated inputs to ``target``, accumulating into ``stats`` (call it
    again with the same ``rng`` and ``stats`` to continue the same sequence). After
    :data:`MAX_HANGS` hangs the target's remaining inputs are skipped (and counted)."""
    mutator = Mutator(rng)
    start = time.perf_counter()
    reported = 0
    for i in range(inputs):
        if stats.hangs >= MAX_HANGS:
            stats.skipped += inputs - i
            break
        try:
            data = target.mutate(mutator)
        except Exception:  # a harness bug must not end a long run: count it, go on
            stats.mutator_errors += 1
            data = mutator.havoc(rng.choice(target.seeds), list(target.seeds))
        outcome = classify(target, data, deadline)
        record(target, stats, data, outcome, crashes_dir, shrink_findings)
        if progress is not None and i - reported >= 63:
            progress(i + 1 - reported)
            reported = i + 1
    stats.seconds += time.perf_counter() - start
    if progress is not None:
        progress(inputs - reported)
    return stats


def record(target: Target, stats: TargetStats, data: bytes, outcome: Outcome,
           crashes_dir: Path | None, shrink_findings: bool) -> None:
    stats.inputs += 1
    if outcome.kind == ACCEPTED:
        stats.accepted += 1
        return
    if outcome.kind == REFUSED:
        stats.refused += 1
        return
    if outcome.kind == CRASH:
        stats.crashes += 1
    else:
        stats.state_changes += 1
    key = outcome.crash_class
    error = outcome.error
    hang = isinstance(error, InputTimeout)
    stats.hangs += hang
    if key in stats.findings:
        stats.findings[key].count += 1
        return
    small = shrink(target, data, key) if shrink_findings and not hang else data
    finding = Finding(target.name, outcome.kind, type(error).__qualname__,
                      _message(error),
                      error.key if isinstance(error, HarnessFailure) else outcome.frame, small,
                      trace="".join(traceback.format_exception(error))[-4000:])
    stats.findings[key] = finding
    if crashes_dir is not None:
        save_finding(finding, crashes_dir, target)


def _message(error: BaseException | None) -> str:
    if error is None:
        return ""
    try:
        return str(error)[:300]
    except Exception:  # str() of a broken exception must not stop the run
        return repr(type(error))


def replay(target: Target, data: bytes, deadline: Deadline | None = None) -> dict:
    """Classify one saved input; the traceback of a crash (or hang) is included."""
    before = target.snapshot() if target.snapshot is not None else None
    result: dict[str, Any] = {"target": target.name, "input_bytes": len(data)}
    try:
        if deadline is not None:
            with deadline:
                outcome = target.run(data)
        else:
            outcome = target.run(data)
    except target.refusals as exc:
        changed = before is not None and target.snapshot() != before
        result.update(kind=STATE_CHANGE if changed else REFUSED,
                      exception=type(exc).__qualname__, message=_message(exc))
    except (Exception, InputTimeout) as exc:
        result.update(kind=CRASH, exception=type(exc).__qualname__, message=_message(exc),
                      frame=project_frame(exc),
                      traceback="".join(traceback.format_exception(exc)))
    else:
        changed = before is not None and target.snapshot() != before
        result.update(kind=ACCEPTED if outcome != REFUSED else
                      STATE_CHANGE if changed else REFUSED)
    return result


class Progress:
    """Progress with an estimate of the time left, on stderr, at most once a second."""

    def __init__(self, total: int, enabled: bool, stream=None) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.last = 0.0
        self.label = ""

    def advance(self, count: int) -> None:
        self.done += count
        now = time.perf_counter()
        if self.enabled and now - self.last >= 1.0:
            self.last = now
            elapsed = now - self.start
            rate = self.done / elapsed if elapsed else 0.0
            left = (self.total - self.done) / rate if rate else 0.0
            self.stream.write(f"\rfuzz: {self.done:,}/{self.total:,} inputs "
                              f"({100 * self.done / max(1, self.total):.1f}%), "
                              f"{rate:,.0f}/s, about {_duration(left)} left [{self.label}]"
                              + " " * 8)
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            self.stream.write(f"\rfuzz: {self.done:,} inputs in {_duration(elapsed)}"
                              + " " * 60 + "\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def allocate(targets: Sequence[Target], total: int, minimum: int = 1) -> dict[str, int]:
    """Split ``total`` inputs between ``targets`` in proportion to their weights (each
    gets at least ``minimum`` when the total allows it)."""
    weights = sum(t.weight for t in targets)
    shares = {t.name: max(minimum, int(total * t.weight / weights)) for t in targets}
    # hand the rounding remainder (or excess) to the heaviest targets
    diff = total - sum(shares.values())
    order = sorted(targets, key=lambda t: -t.weight)
    i = 0
    while diff and order:
        name = order[i % len(order)].name
        if diff > 0:
            shares[name] += 1
            diff -= 1
        elif shares[name] > minimum:
            shares[name] -= 1
            diff += 1
        i += 1
        if i > 10 * len(order) * max(1, abs(diff)):
            break
    return shares


def environment() -> dict:
    return {"python": sys.version.split()[0], "cpus": os.cpu_count()}
