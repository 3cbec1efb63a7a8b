"""``escrowlab crash``: kill -9 trials of the audit log, the witness and the relay.

``escrowlab crash --trials N [--kinds KIND ...] [--seed S] [--json] [--quiet]``
runs N trials of each kind (:mod:`escrowlab.crash`) and prints, per kind: trials,
acknowledged items, lost, duplicated, corrupt stores, failed restarts, other
errors and seconds per trial, then the first problems found. Progress, with an
estimate of the time left, goes to stderr. Exit 0 when nothing was lost,
duplicated or corrupted and every restart worked; 1 otherwise; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import textwrap

from escrowlab.arguments import int_in_range

COLUMNS = (("trials", "trials"), ("acknowledged", "acknowledged"), ("lost", "lost"),
           ("duplicated", "duplicated"), ("corrupt", "corrupt"),
           ("failed_restarts", "failed restarts"), ("errors", "errors"),
           ("seconds_per_trial", "s/trial"))


def register(subparsers: argparse._SubParsersAction) -> None:
    from escrowlab.crash.runner import KINDS

    kinds = "\n".join(f"  {name:<12} {what}" for name, (_, _, what) in KINDS.items())
    fill = lambda text: textwrap.fill(text, 78)  # noqa: E731
    parser = subparsers.add_parser(
        "crash", help="kill -9 trials: nothing acknowledged may be lost across a crash",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=fill("Run real child processes (audit appends, a witness, the relay), "
                         "SIGKILL them at random points, restart them on the same files and "
                         "check that every acknowledged item is present exactly once and "
                         "every store verifies.") + "\n\nkinds:\n" + kinds,
        epilog=fill("Counts per kind: acknowledged items (receipts, cosignatures, accepted sends "
               "per recipient device, prekey bundles, registrations), lost (acknowledged, "
               "missing after the restart), duplicated (present or delivered twice, a "
               "one-time prekey handed out twice), corrupt (a store failing its checks), "
               "failed restarts, errors (any other broken guarantee). Exit status 0 if all "
               "of those are 0, 1 if not, 2 on bad usage. 100 trials of every kind take "
               "10 to 20 minutes on 2 cores, depending on what else runs."))
    parser.add_argument("--trials", type=int_in_range(1, 100_000), default=10, metavar="N",
                        help="trials of each kind (default 10)")
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS),
                        metavar="KIND", help="kinds to run (default: all); see above")
    parser.add_argument("--seed", default=None, metavar="S",
                        help="seed of the random choices (default: a fresh one, printed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(func=crash_command)


def crash_command(args: argparse.Namespace) -> int:
    from escrowlab.crash.runner import run

    seed = args.seed if args.seed is not None else str(secrets.randbelow(10**9))
    kinds = list(dict.fromkeys(args.kinds))
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    results = run(kinds, args.trials, seed, progress)
    table = {kind: result.to_json() for kind, result in results.items()}
    ok = all(result.outcome.ok for result in results.values())
    if args.json:
        print(json.dumps({"seed": seed, "trials": args.trials, "ok": ok, "kinds": table},
                         indent=2))
        return 0 if ok else 1
    widths = [max(len(title), 6) for _, title in COLUMNS]
    print(f"crash trials, seed {seed}: {args.trials} per kind")
    print(f"{'kind':<12}" + "".join(f"  {title:>{w}}" for (_, title), w in zip(
        COLUMNS, widths, strict=True)))
    for kind, row in table.items():
        print(f"{kind:<12}" + "".join(f"  {row[key]:>{w}}" for (key, _), w in zip(
            COLUMNS, widths, strict=True)))
    problems = [(kind, p) for kind, row in table.items() for p in row["problems"]]
    if problems:
        print("problems:")
        for kind, problem in problems:
            print(f"  {kind} {problem}")
    print("OK: nothing acknowledged was lost" if ok else "FAILED: see the problems above")
    return 0 if ok else 1
