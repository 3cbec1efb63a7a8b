"""Benchmarks: commands that print figures and ratios (never timed assertions in tests).

Each module exposes ``register(subparsers)`` for ``escrowlab bench <name>``,
``default_args()`` and ``quick_args()`` (the namespace ``bench all`` and ``bench all
--quick`` run it with), ``collect(args) -> dict`` (its JSON document) and
``show(document)`` (its human output). A document is built by :func:`document`:
the figures under the keys the module docstring names, plus ``benchmark``,
``targets`` (each with its value and verdict), ``targets_met`` and ``peers`` (what
the figures are compared with, by name and installed version). The schema is in
docs/benchmarks.md.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata

_OPERATORS: dict[str, Callable[[float, object], bool]] = {
    ">=": lambda value, bound: value >= bound,
    ">": lambda value, bound: value > bound,
    "<=": lambda value, bound: value <= bound,
    "<": lambda value, bound: value < bound,
    "in": lambda value, bound: bound[0] <= value <= bound[1],
}


@dataclass(frozen=True)
class Target:
    """A bound a figure should meet: ``value <op> bound`` (``in``: bound is [low, high])."""

    figure: str
    op: str
    bound: float | tuple[float, float]
    why: str = ""

    def __post_init__(self) -> None:
        if self.op not in _OPERATORS:
            raise ValueError(f"unknown target operator {self.op!r}")

    def verdict(self, figures: dict) -> dict:
        """This target against ``figures``: met, missed, or not measured in this run."""
        value = figures.get(self.figure)
        if isinstance(value, bool) or not isinstance(value, int | float):
            met, verdict = None, "not measured"
        else:
            met = bool(_OPERATORS[self.op](value, self.bound))
            verdict = "met" if met else "missed"
        bound = list(self.bound) if isinstance(self.bound, tuple) else self.bound
        out = {"figure": self.figure, "op": self.op, "bound": bound, "value": value,
               "met": met, "verdict": verdict}
        if self.why:
            out["why"] = self.why
        return out


@dataclass(frozen=True)
class Peer:
    """What a benchmark's figures are compared with, and the package that provides it.

    ``distribution`` is the installed distribution whose version is reported (through
    ``importlib.metadata``); ``None`` for a peer that is not a package (a published
    figure, a theoretical value), whose ``version`` is then ``None`` too.
    """

    name: str
    role: str
    distribution: str | None = None

    def describe(self) -> dict:
        version = None
        if self.distribution is not None:
            try:
                version = metadata.version(self.distribution)
            except metadata.PackageNotFoundError:
                version = None
        return {"name": self.name, "version": version, "role": self.role}


def print_document(doc: dict, as_json: bool, show: Callable[[dict], object]) -> int:
    """Print a benchmark's document: one JSON object with ``--json``, else ``show``'s human
    form; the command's exit status (0)."""
    if as_json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        show(doc)
    return 0


def document(benchmark: str, figures: dict, targets: Iterable[Target],
             peers: Iterable[Peer]) -> dict:
    """The JSON document of one benchmark run (schema in docs/benchmarks.md)."""
    verdicts = [target.verdict(figures) for target in targets]
    return {"benchmark": benchmark, **figures, "targets": verdicts,
            "targets_met": all(v["met"] is True for v in verdicts),
            "peers": [peer.describe() for peer in peers]}


def show_verdicts(doc: dict) -> None:
    """The common footer of every benchmark's human output: targets and peers."""
    counts = {verdict: sum(t["verdict"] == verdict for t in doc["targets"])
              for verdict in ("met", "missed", "not measured")}
    if doc["targets"]:
        summary = ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)
        print(f"  targets: {summary}")
        for t in doc["targets"]:
            if t["verdict"] != "met":
                bound = t["bound"]
                bound = f"{bound[0]:,}..{bound[1]:,}" if isinstance(bound, list) else f"{bound:,}"
                print(f"    {t['verdict'].upper()}: {t['figure']} {t['op']} {bound}")
    peers = ", ".join(f"{p['name']} {p['version'] or '(' + p['role'] + ')'}"
                      for p in doc["peers"])
    if peers:
        print(f"  compared with: {peers}")


def round_figures(name: str, per_round: list[float]) -> dict:
    """``name`` (the median of ``per_round``), ``name_rounds`` (every round's value, in
    order) and ``name_spread`` ((max - min) / median): how benchmarks that interleave rounds
    of the things they compare report a figure (docs/benchmarks.md, "Rounds")."""
    median = statistics.median(per_round)
    spread = (max(per_round) - min(per_round)) / median if median else 0.0
    return {name: median, f"{name}_rounds": list(per_round), f"{name}_spread": spread}


def format_duration(seconds: float) -> str:
    """``seconds`` as a person reads it: "0.4 s", "35 s", "4.2 min", "3.1 h", "2.0 days"."""
    if not math.isfinite(seconds):
        return "an unknown time"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


class Progress:
    """Progress lines on stderr for ``escrowlab bench NAME``, only when stderr is a terminal
    (or ``enabled=True``); calling a disabled one does nothing.

    ``expect(text, seconds)`` announces work with its estimated duration;
    ``step(what, done, total)`` reports one finished item of a loop with the time the
    rest should take at the mean rate so far.
    """

    def __init__(self, name: str, enabled: bool | None = None) -> None:
        self.name = name
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._started: dict[str, float] = {}

    def __call__(self, text: str) -> None:
        if self.enabled:
            print(f"bench {self.name}: {text}", file=sys.stderr, flush=True)

    def expect(self, text: str, seconds: float) -> None:
        self(f"{text} (expected {format_duration(seconds)})")

    def step(self, what: str, done: int, total: int, detail: str = "") -> None:
        now = time.perf_counter()
        started = self._started.setdefault(what, now)
        if done <= 0:
            self._started[what] = now
            return
        left = (now - started) / done * (total - done)
        rest = f"; about {format_duration(left)} left" if done < total else "; done"
        self(f"{what} {done}/{total}{': ' + detail if detail else ''}{rest}")


def progress_printer(name: str) -> Progress:
    """The :class:`Progress` of ``escrowlab bench NAME`` (enabled on a terminal)."""
    return Progress(name)


def time_sessions(alice, bob, mode: str, messages: int, message_size: int,
                  check: Callable[[bytes, bytes], None]) -> float:
    """Seconds for ``messages`` random messages between two sessions, every one checked.

    ``burst``: Alice sends all of them on one chain; ``pingpong``: the sides
    alternate, so every message starts a new DH ratchet step (and a new escrow
    record). ``check(received, sent)`` raises when a decryption differs.
    """
    plaintexts = [os.urandom(message_size) for _ in range(messages)]
    pingpong = mode == "pingpong"
    start = time.perf_counter()
    for i, plaintext in enumerate(plaintexts):
        if pingpong and i % 2:
            received = alice.decrypt(bob.encrypt(plaintext))
        else:
            received = bob.decrypt(alice.encrypt(plaintext))
        check(received, plaintext)
    return time.perf_counter() - start
