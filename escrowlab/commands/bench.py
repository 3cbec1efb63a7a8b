"""``escrowlab bench``: run one benchmark, or all of them, and print their figures.

``bench all --json`` prints ONE JSON object keyed by benchmark name, each value the
document that ``bench NAME --json`` prints (figures, targets with their verdicts,
peers with their versions; docs/benchmarks.md). ``bench all --quick`` runs every
benchmark with tiny parameters: a check that each one runs, not a measurement.
"""

from __future__ import annotations

import argparse
import importlib
import json

BENCHMARK_MODULES: tuple[str, ...] = (
    "escrowlab.benchmarks.audit",
    "escrowlab.benchmarks.css",
    "escrowlab.benchmarks.escrow",
    "escrowlab.benchmarks.kt",
    "escrowlab.benchmarks.messaging",
    "escrowlab.benchmarks.portal",
    "escrowlab.benchmarks.relay",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run benchmarks that print figures and ratios against named peers",
        description="Run a benchmark. Every benchmark prints human output, or JSON with --json "
                    "(its figures, its targets met or missed, and the peers it is compared "
                    "with). Progress, with the expected duration of long steps, goes to "
                    "stderr when it is a terminal.")
    bench_sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    modules = [importlib.import_module(name) for name in BENCHMARK_MODULES]
    for module in modules:
        module.register(bench_sub)
    all_parser = bench_sub.add_parser(
        "all", help="run audit, css, escrow (with escrow-modes), kt, messaging, portal and "
                    "relay with their defaults",
        description="Run every benchmark with its defaults (audit at 1,000,000 entries takes "
                    "minutes), or with tiny parameters (--quick).")
    all_parser.add_argument("--json", action="store_true",
                            help="print one JSON object keyed by benchmark")
    all_parser.add_argument("--quick", action="store_true",
                            help="tiny parameters: checks that every benchmark runs; the "
                                 "figures mean little")
    all_parser.set_defaults(func=lambda args: run_all(modules, args))


def benchmark_name(module) -> str:
    return module.__name__.rsplit(".", 1)[1]


def run_all(modules: list, args: argparse.Namespace) -> int:
    documents = {}
    for module in modules:
        sub_args = module.quick_args() if args.quick else module.default_args()
        documents[benchmark_name(module)] = doc = module.collect(sub_args)
        if not args.json:
            print(f"== bench {benchmark_name(module)} ==")
            module.show(doc)
            print()
    if args.json:
        print(json.dumps(documents, indent=2, sort_keys=True))
    return 0
