"""Run the scenario catalogue and build ``results.json`` (docs/formats.md, "results.json").

:func:`run` takes the scenarios the registry holds (:func:`escrowlab.scenarios.registry.
all_scenarios`, so a new family module is picked up with nothing to edit), runs each under
every requested mode it applies to, and records ``n/a`` for the others. A scenario that
raises is recorded as ``error`` with the message, and the run goes on. The document states
the run's parameters (seed, quick or full), and its environment (Python, platform, CPUs,
the versions of the packages the figures depend on, the commit).

:func:`cells` summarises each (scenario, mode) for the matrix: status, records that hold,
and the key metrics (:data:`KEY_METRICS`, in that order of preference).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from escrow.modes import MODES
from escrowlab.scenarios.registry import Params, all_scenarios

SCHEMA = "escrowlab.attacks/1"
NOT_APPLICABLE = "n/a"
RAN = "ran"
ERROR = "error"
PACKAGES = ("cryptography", "shamir-mnemonic", "rfc8785", "sqlalchemy", "matplotlib")
KEY_METRICS = ("min_coalition", "work_log2", "exposed_total", "exposed_out_of_scope",
               "forged_accepted", "culprit_identified", "metadata_fields", "recovery_success",
               "state_unchanged", "detectable", "detection_latency")
PROJECT = Path(__file__).resolve().parents[2]

# Rough seconds per (scenario, mode) at quick sizes on a 2-core machine, for the estimate
# shown before a run; a scenario not listed counts DEFAULT_ESTIMATE.
ESTIMATES = {"S15": 15.0, "S22": 2.5, "S04": 1.5, "S10": 1.5, "S05": 2.5, "S23": 1.5,
             "S24": 1.0}
DEFAULT_ESTIMATE = 1.0
FULL_FACTOR = 10.0
# --full: S15 forges 24-bit LEAFs (2^24 queries each), S22 solves k = 24 and 28 puzzles,
# S29/S30 search hundreds of perturbed images per hasher, S32 searches t = 30 subsets
# through synthetic vouchers, S34 scans 500,000 chats
FULL_ESTIMATES = {"S15": 420.0, "S22": 900.0, "S29": 270.0, "S30": 270.0, "S32": 540.0,
                  "S34": 120.0}


class ReportError(ValueError):
    """Bad selection of scenarios or modes for a run."""


def all_modes() -> tuple[str, ...]:
    """Every mode of the registry (escrow/modes.py), and any other a scenario names."""
    names = list(MODES)
    for entry in all_scenarios():
        names += [m for m in entry.modes if m not in names]
    return tuple(names)


def select(only: Sequence[str] = (), modes: Sequence[str] = ()):
    """(scenarios, modes) of a run; :class:`ReportError` for an unknown id or mode."""
    scenarios = all_scenarios()
    known = {s.id for s in scenarios}
    unknown = sorted(set(only) - known)
    if unknown:
        raise ReportError(f"unknown scenario(s) {', '.join(unknown)} "
                          f"(registered: {', '.join(sorted(known))})")
    every = all_modes()
    wrong = sorted(set(modes) - set(every))
    if wrong:
        raise ReportError(f"unknown mode(s) {', '.join(wrong)} (known: {', '.join(every)})")
    chosen = [s for s in scenarios if not only or s.id in only]
    return chosen, tuple(m for m in every if not modes or m in modes)


def weights(scenarios, modes: Sequence[str], full: bool) -> list[float]:
    """Rough seconds of each (scenario, mode) run, in run order (:data:`ESTIMATES`)."""
    def one(scenario_id: str) -> float:
        quick = ESTIMATES.get(scenario_id, DEFAULT_ESTIMATE)
        return FULL_ESTIMATES.get(scenario_id, quick * FULL_FACTOR) if full else quick

    return [one(s.id) for s in scenarios for m in modes if m in s.modes]


def estimate(scenarios, modes: Sequence[str], full: bool) -> float:
    """Rough seconds the run will take."""
    return sum(weights(scenarios, modes, full))


def environment() -> dict[str, Any]:
    """Where the figures were measured."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(["git", "-C", str(PROJECT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=5, check=False
                                ).stdout.strip() or None
    except OSError:
        commit = None
    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor() or None, "cpus": os.cpu_count(),
            "packages": versions, "commit": commit}


Progress = Callable[[str, str, int, int], None]


def run(scenarios, modes: Sequence[str], params: Params,
        progress: Progress | None = None) -> dict[str, Any]:
    """The results document of running ``scenarios`` under ``modes`` with ``params``;
    ``progress(scenario id, mode, done, total)`` is called before each run and at the end."""
    jobs = [(s, m) for s in scenarios for m in modes if m in s.modes]
    started = time.time()
    entries = []
    done = 0
    for entry in scenarios:
        runs: dict[str, Any] = {}
        for mode in modes:
            if mode not in entry.modes:
                runs[mode] = {"status": NOT_APPLICABLE}
                continue
            if progress:
                progress(entry.id, mode, done, len(jobs))
            begin = time.perf_counter()
            try:
                outcomes = [o.to_json() for o in entry.run(mode, params)]
                runs[mode] = {"status": RAN, "outcomes": outcomes}
            except Exception as exc:  # noqa: BLE001 - a broken scenario is reported, not fatal
                runs[mode] = {"status": ERROR, "error": f"{type(exc).__name__}: {exc}"}
            runs[mode]["seconds"] = round(time.perf_counter() - begin, 3)
            done += 1
        entries.append({"id": entry.id, "slug": entry.slug, "title": entry.title,
                        "modes": list(entry.modes), "runs": runs})
    if progress:
        progress("", "", done, len(jobs))
    return {"schema": SCHEMA, "seed": params.seed, "full": params.full,
            "modes": list(modes), "started": started,
            "seconds": round(time.time() - started, 3), "environment": environment(),
            "scenarios": entries}


def metric_text(name: str, values: list) -> str | None:
    """One metric over a cell's records, in words (None when no record has it)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    if name == "work_log2":
        return f"work 2^{max(values):.1f}"
    if name == "detectable":
        named = sorted({d for v in values for d in ([v] if isinstance(v, str) else v)})
        return "detectable: " + "/".join(named)
    if all(isinstance(v, bool) for v in values):
        return f"{name.replace('_', ' ')}: {sum(values)}/{len(values)}"
    if name == "forged_accepted":
        return f"forgery accepted in {sum(v > 0 for v in values)}/{len(values)}"
    label = {"min_coalition": "min coalition", "exposed_total": "max exposed",
             "exposed_out_of_scope": "max out of scope", "metadata_fields": "metadata fields",
             "detection_latency": "latency"}.get(name, name)
    return f"{label} {max(values):g}" if isinstance(max(values), int | float) else None


def cell(run_entry: dict[str, Any]) -> dict[str, Any]:
    """One matrix cell: status (``holds``, ``fails``, ``n/a``, ``error``), records holding,
    and up to two key metrics."""
    status = run_entry["status"]
    if status != RAN:
        return {"status": status, "text": run_entry.get("error", NOT_APPLICABLE),
                "held": 0, "records": 0, "key": []}
    outcomes = run_entry["outcomes"]
    held = sum(o["holds"] for o in outcomes)
    key = []
    for name in KEY_METRICS:
        text = metric_text(name, [o["metrics"][name] for o in outcomes if name in o["metrics"]])
        if text:
            key.append(text)
        if len(key) == 2:
            break
    return {"status": "holds" if held == len(outcomes) else "fails",
            "text": f"{held}/{len(outcomes)} hold", "held": held, "records": len(outcomes),
            "key": key}


def matrix(document: dict[str, Any]) -> list[tuple[dict, dict[str, dict]]]:
    """[(scenario entry, {mode: cell})] in the document's order."""
    return [(entry, {mode: cell(entry["runs"][mode]) for mode in document["modes"]})
            for entry in document["scenarios"]]


def outcomes_of(document: dict[str, Any], scenario_id: str, mode: str | None = None):
    """Every outcome record of ``scenario_id`` (in ``mode``, or every mode)."""
    for entry in document["scenarios"]:
        if entry["id"] != scenario_id:
            continue
        for name, run_entry in entry["runs"].items():
            if run_entry["status"] == RAN and (mode is None or name == mode):
                yield from run_entry["outcomes"]
