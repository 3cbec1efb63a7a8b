"""``escrowlab attacks``: run the attack-scenario catalogue and write the report
(docs/scenarios.md, "The report"; docs/formats.md, "results.json").

Every scenario the registry holds runs under every selected mode it applies to (``n/a``
elsewhere), at the tests' sizes by default or larger with ``--full``; then the cost to
honest users is measured (small benchmark sizes), the figures are drawn and ``DIR`` gets
``results.json``, ``report.md``, ``report.html`` (self-contained) and the PNG figures.
Progress, one line per scenario and mode with the time left, goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError
from escrowlab.css import neuralhash_options
from escrowlab.report import cost, plots, render, threats
from escrowlab.report.results import (
    PROJECT,
    ReportError,
    estimate,
    matrix,
    run,
    select,
    weights,
)
from escrowlab.scenarios.registry import Params

DEFAULT_OUT = "report"
NEURALHASH_SCENARIOS = ("S28", "S29")  # the hash-level measurements a user's NeuralHash joins
MAX_SEED = 2**32 - 1
MAX_COST_MESSAGES = 10_000


def _ids(text: str) -> list[str]:
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "attacks", help="run the attack scenarios and write the report (md, html, json, png)",
        description="Run every registered attack scenario under every escrow mode it applies "
                    "to, measure what each proposal costs honest users, and write "
                    "results.json, report.md, report.html and the figures into DIR.")
    parser.add_argument("--only", type=_ids, default=[], metavar="IDS",
                        help="comma-separated scenario ids (default: all registered)")
    parser.add_argument("--modes", type=_names, default=[], metavar="MODES",
                        help="comma-separated modes (default: every registered mode)")
    parser.add_argument("--full", action="store_true",
                        help="larger sizes: more forgeries, larger k, more traffic (long)")
    parser.add_argument("--seed", type=int_in_range(0, MAX_SEED), default=0, metavar="N",
                        help=f"seed of every scenario's random choices, 0..{MAX_SEED} "
                             "(default 0)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--no-cost", action="store_true",
                        help="skip the cost-to-honest-users measurement")
    parser.add_argument("--cost-messages", type=int_in_range(10, MAX_COST_MESSAGES),
                        default=cost.DEFAULT_MESSAGES, metavar="M",
                        help=f"messages per session timing of the cost measurement, "
                             f"10..{MAX_COST_MESSAGES} (default {cost.DEFAULT_MESSAGES})")
    parser.add_argument("--update-docs", action="store_true",
                        help="also write the reference results (docs/attack-results.json, "
                             "details omitted) and regenerate threat_model.md's threat-by-mode "
                             "table from them; only for a default run (all scenarios and "
                             "modes, quick sizes, seed 0)")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON summary (paths, matrix, timing)")
    neuralhash_options.add_options(parser)
    parser.set_defaults(func=run_command)


def _extra_hashers(args: argparse.Namespace, scenarios) -> tuple:
    """The user's NeuralHash for S28 and S29 when both files are named (none otherwise);
    :class:`CommandError` when neither scenario is selected or the files are refused."""
    given = args.neuralhash_model is not None or args.neuralhash_seed is not None
    if given and args.update_docs:
        raise CommandError("attacks: --update-docs writes the reference run, which has no "
                           "NeuralHash (drop --neuralhash-model and --neuralhash-seed)")
    if given and not any(s.id in NEURALHASH_SCENARIOS for s in scenarios):
        raise CommandError("attacks: --neuralhash-model and --neuralhash-seed apply to "
                           f"{' and '.join(NEURALHASH_SCENARIOS)}, and neither is selected")
    hasher = neuralhash_options.hasher_from(args)
    return () if hasher is None else (hasher,)


class Printer:
    """One stderr line per (scenario, mode) with the time left: the estimates of the runs to
    come (:func:`escrowlab.report.results.weights`), scaled by how the runs done so far
    compared with theirs."""

    def __init__(self, weights: list[float], stream=None) -> None:
        self.weights = weights
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()

    def __call__(self, scenario_id: str, mode: str, done: int, jobs: int) -> None:
        elapsed = time.perf_counter() - self.started
        if not scenario_id:
            print(f"attacks: {done}/{jobs} runs done in {elapsed:.0f} s", file=self.stream,
                  flush=True)
            return
        spent = sum(self.weights[:done])
        pace = elapsed / spent if done and spent > 0 else 1.0
        left = sum(self.weights[done:]) * pace
        print(f"attacks: [{done + 1}/{jobs}] {scenario_id} under {mode}; "
              f"{elapsed:.0f} s so far, about {left:.0f} s left", file=self.stream, flush=True)


def update_docs(document: dict) -> dict[str, Path]:
    """Write the reference results and regenerate the threat model's table from them."""
    reference = PROJECT / threats.REFERENCE
    model = PROJECT / threats.THREAT_MODEL
    try:
        text = threats.replace(model.read_text(), document)
    except threats.ThreatTableError as exc:
        raise CommandError(f"attacks: {model}: {exc}") from None
    reference.write_text(json.dumps(reference_document(document), indent=1, sort_keys=True)
                         + "\n")
    model.write_text(text)
    return {"reference": reference, "threat_model": model}


def reference_document(document: dict) -> dict:
    """The results document without the records' details (the reference only needs the
    outcomes) and without the cost figures."""
    out = {k: v for k, v in document.items() if k != "cost"}
    out["scenarios"] = [{**entry, "runs": {mode: {**run, "outcomes": [
        {**o, "details": {}} for o in run.get("outcomes", [])]} if "outcomes" in run else run
        for mode, run in entry["runs"].items()}} for entry in document["scenarios"]]
    return out


def run_command(args: argparse.Namespace) -> int:
    try:
        scenarios, modes = select(args.only, args.modes)
    except ReportError as exc:
        raise CommandError(f"attacks: {exc}") from None
    if args.update_docs and (args.only or args.modes or args.full or args.seed):
        raise CommandError("attacks: --update-docs writes the reference run: all scenarios and "
                           "modes at quick sizes with seed 0 (drop --only, --modes, --full, "
                           "--seed)")
    out = Path(args.out)
    params = Params(seed=args.seed, full=args.full, hashers=_extra_hashers(args, scenarios))
    expected = estimate(scenarios, modes, args.full)
    print(f"attacks: {len(scenarios)} scenarios x {len(modes)} modes, "
          f"{'full' if args.full else 'quick'} sizes, seed {args.seed}; expected about "
          f"{expected:.0f} s", file=sys.stderr, flush=True)
    started = time.perf_counter()
    document = run(scenarios, modes, params, Printer(weights(scenarios, modes, args.full)))
    if not args.no_cost:
        print("attacks: measuring the cost to honest users (benchmarks, small sizes)",
              file=sys.stderr, flush=True)
        document["cost"] = cost.measure(messages=args.cost_messages)
    figures = plots.draw_all(document, out)
    paths = render.write(document, figures, out)
    if args.update_docs:
        paths.update(update_docs(document))
    seconds = time.perf_counter() - started
    failing = [(entry["id"], mode) for entry, cells in matrix(document)
               for mode, c in cells.items() if c["status"] in ("fails", "error")]
    if args.json:
        print(json.dumps({
            "out": str(out), "files": {k: str(v) for k, v in paths.items()},
            "figures": {f.name: str(f.path) if isinstance(f, plots.Plot) else None
                        for f in figures},
            "skipped": {f.name: f.reason for f in figures if isinstance(f, plots.Skipped)},
            "seconds": round(seconds, 1), "failing": [f"{s}/{m}" for s, m in failing],
            "matrix": {entry["id"]: {m: c["status"] for m, c in cells.items()}
                       for entry, cells in matrix(document)}}, indent=2))
    else:
        print(render.matrix_markdown(document))
        print()
        for f in figures:
            if isinstance(f, plots.Skipped):
                print(f"figure {f.name} not drawn: {f.reason}")
        print(f"wrote {paths['markdown']}, {paths['html']}, {paths['results']} and "
              f"{sum(isinstance(f, plots.Plot) for f in figures)} figures in {seconds:.0f} s")
        if failing:
            print("records that did not hold: " + ", ".join(f"{s}/{m}" for s, m in failing))
    return 1 if failing else 0
