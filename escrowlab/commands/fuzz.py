"""``escrowlab fuzz``: run the fuzzing harness (:mod:`escrowlab.fuzz`) at scale.

Prints per target the inputs, refusals, crashes and state changes, with inputs per
second; progress and an estimate of the time left go to stderr. Exits 1 if any
input crashed a target or changed state on a refusal (or a target could not be
built), 0 otherwise. ``--replay FILE`` classifies saved inputs instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from escrowlab.arguments import int_in_range
from escrowlab.cli import CommandError

DEFAULT_INPUTS = 10_000
MAX_INPUTS = 100_000_000


def register(subparsers: argparse._SubParsersAction) -> None:
    from escrowlab.fuzz import DEFAULT_INPUT_TIMEOUT, WEIGHTS_NOTE, target_names
    from escrowlab.fuzz.core import MAX_HANGS
    names = target_names()
    parser = subparsers.add_parser(
        "fuzz", help="fuzz every parser, live sessions and the relay over HTTP",
        description=_paragraphs(
            "Feed mutated inputs to every parser of the project, seeded with real objects "
            "of every escrow mode (none, threshold, leaf16, crumple): structure-aware "
            "mutation of their bytes and JSON fields. Each input is accepted, refused "
            "(the package's own error type), a crash (any other exception; an input running "
            "past --input-timeout; for the relay, a 5xx or non-JSON answer; for a live "
            "session, an altered envelope that decrypts) or a state change (refused, yet "
            "the session, the relay's database, the witness's or the escrow agents' state "
            "changed).\n\n"
            f"Weighting: {WEIGHTS_NOTE}. Measured on this project's two-core machine, shared: "
            "50,000 inputs in 40 s (20 s of them two 10-second hangs), so 1,000,000 inputs "
            "take about 7-15 minutes depending on load; each target's inputs/s is in the "
            "report.\n\nA saved input replays "
            "exactly for the pure parsers; targets that hold keys (live sessions, releases, "
            "recoveries, the relay) are rebuilt with fresh keys, so their saved description "
            "keeps the original traceback.\n\nExit status: 0 when no crash and no state "
            "change, 1 otherwise, 2 on a usage error.") + "\n\ntargets:\n  " + "\n  ".join(names),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int_in_range(1, MAX_INPUTS), default=DEFAULT_INPUTS,
                        metavar="N", help=f"total inputs over all targets (default "
                                          f"{DEFAULT_INPUTS:,})")
    parser.add_argument("--targets", metavar="A,B",
                        help="comma-separated target names, prefixes (messaging, escrow.hook) "
                             "or globs (default: all)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="random seed: the same seed and inputs give the same run "
                             "(default 0)")
    parser.add_argument("--crashes", type=Path, metavar="DIR",
                        help="save each crash class's shrunk input (.bin) and its description "
                             "with a replay command (.json) in DIR")
    parser.add_argument("--input-timeout", type=float, default=DEFAULT_INPUT_TIMEOUT,
                        metavar="SECONDS",
                        help=f"an input running longer is a crash (a hang; after "
                             f"{MAX_HANGS} hangs the target is skipped); 0 for none "
                             f"(default {DEFAULT_INPUT_TIMEOUT:g})")
    parser.add_argument("--no-shrink", action="store_true",
                        help="save crash inputs as found, without shrinking them")
    parser.add_argument("--replay", type=Path, nargs="+", metavar="FILE",
                        help="classify these saved inputs (needs exactly one --targets name) "
                             "and print each result with its traceback")
    parser.add_argument("--engine", choices=("mutation", "atheris"), default="mutation",
                        help="mutation (default): the harness's structure-aware mutator over "
                             "every selected target; atheris: coverage-guided libFuzzer on one "
                             "target (--targets NAME) with that mutator as its custom mutator, "
                             "if atheris is installed (pip install atheris)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def _paragraphs(text: str) -> str:
    return "\n\n".join(textwrap.fill(p, 79) for p in text.split("\n\n"))


def run(args: argparse.Namespace) -> int:
    from escrowlab.fuzz import run as run_fuzz
    from escrowlab.fuzz import select
    patterns = [p.strip() for p in args.targets.split(",") if p.strip()] if args.targets else None
    names = select(patterns)
    if not names:
        raise CommandError(f"no target matches {args.targets!r} (escrowlab fuzz --help lists "
                           "them)")
    if args.replay:
        return _replay(args, names)
    if args.engine == "atheris":
        return _atheris(args, names)
    if args.input_timeout < 0:
        raise CommandError("--input-timeout is a number of seconds, 0 or more")
    report = run_fuzz(args.inputs, names, args.seed, args.crashes, progress=True,
                      shrink=not args.no_shrink, input_timeout=args.input_timeout)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_table(report)
    totals = report["totals"]
    return 1 if totals["crashes"] or totals["state_changes"] or report["setup_failures"] else 0


def _replay(args: argparse.Namespace, names: list[str]) -> int:
    from escrowlab.fuzz import build_targets
    from escrowlab.fuzz.core import CRASH, STATE_CHANGE, Deadline, replay
    from escrowlab.fuzz.seeds import build_world
    if len(names) != 1:
        raise CommandError("--replay needs exactly one target (--targets NAME)")
    world = build_world()
    try:
        targets, failed = build_targets(world, names)
        if failed:
            raise CommandError(f"cannot build {names[0]}: {failed[names[0]]}")
        target = targets[0]
        bad = 0
        results = []
        for path in args.replay:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from None
            result = {"file": str(path), **replay(target, data, Deadline(args.input_timeout))}
            bad += result["kind"] in (CRASH, STATE_CHANGE)
            results.append(result)
        if target.close is not None:
            target.close()
    finally:
        world.close()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            print(f"{result['file']}: {result['kind']}"
                  + (f" ({result['exception']}: {result['message']})"
                     if "exception" in result else ""))
            if "traceback" in result:
                print(result["traceback"])
    return 1 if bad else 0


def _atheris(args: argparse.Namespace, names: list[str]) -> int:
    from escrowlab.fuzz import build_targets
    from escrowlab.fuzz.coverage import available, run_atheris
    from escrowlab.fuzz.seeds import build_world
    if not available():
        raise CommandError("--engine atheris needs atheris (pip install atheris)")
    if len(names) != 1:
        raise CommandError("--engine atheris fuzzes one target (--targets NAME)")
    world = build_world()
    targets, failed = build_targets(world, names)
    if failed:
        raise CommandError(f"cannot build {names[0]}: {failed[names[0]]}")
    prefix = [f"-artifact_prefix={args.crashes}/"] if args.crashes else []
    if args.crashes:
        args.crashes.mkdir(parents=True, exist_ok=True)
    run_atheris(targets[0], args.inputs, args.seed, prefix)
    return 0  # not reached: libFuzzer exits the process


def _print_table(report: dict) -> None:
    out = sys.stdout
    header = (f"{'target':<34} {'weight':>6} {'inputs':>9} {'accepted':>9} {'refusals':>9} "
              f"{'crashes':>8} {'state':>6} {'inputs/s':>9}")
    print(header, file=out)
    print("-" * len(header), file=out)
    for t in report["targets"]:
        print(f"{t['target']:<34} {t['weight']:>6g} {t['inputs']:>9,} {t['accepted']:>9,} "
              f"{t['refusals']:>9,} {t['crashes']:>8,} {t['state_changes']:>6,} "
              f"{t['inputs_per_second']:>9,.0f}", file=out)
    totals = report["totals"]
    print("-" * len(header), file=out)
    print(f"{'total':<34} {'':>6} {totals['inputs']:>9,} {totals['accepted']:>9,} "
          f"{totals['refusals']:>9,} {totals['crashes']:>8,} {totals['state_changes']:>6,} "
          f"{totals['inputs'] / max(report['seconds'], 1e-9):>9,.0f}", file=out)
    print(f"\n{report['seconds']:.1f} s (seed world {report['setup_seconds']:.1f} s), seed "
          f"{report['seed']}", file=out)
    for name, error in report["setup_failures"].items():
        print(f"target {name} could not be built: {error}", file=out)
    classes = [c for t in report["targets"] for c in t["crash_classes"]]
    if classes:
        print(f"\n{len(classes)} crash / state-change classes:", file=out)
        for c in classes:
            print(f"  {c['target']}: {c['kind']} {c['exception']} at {c['frame']} "
                  f"(x{c['count']}): {c['message'][:120]}", file=out)
            if c["file"]:
                print(f"    input: {c['file']}", file=out)
