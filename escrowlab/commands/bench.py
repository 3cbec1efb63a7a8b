"""``escrowlab bench``: run one benchmark, or all of them, and print their figures."""

from __future__ import annotations

import argparse
import importlib

BENCHMARK_MODULES: tuple[str, ...] = (
    "escrowlab.benchmarks.audit",
    "escrowlab.benchmarks.escrow",
    "escrowlab.benchmarks.messaging",
    "escrowlab.benchmarks.relay",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run benchmarks that print figures and ratios against named peers",
        description="Run a benchmark. Every benchmark prints human output, or JSON with --json.",
    )
    bench_sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    modules = [importlib.import_module(name) for name in BENCHMARK_MODULES]
    for module in modules:
        module.register(bench_sub)
    all_parser = bench_sub.add_parser("all", help="run every benchmark with its defaults")
    all_parser.add_argument("--json", action="store_true", help="print one JSON object")
    all_parser.set_defaults(func=lambda args: _run_all(modules, args))


def _run_all(modules: list, args: argparse.Namespace) -> int:
    status = 0
    for module in modules:
        sub_args = module.default_args()
        sub_args.json = args.json
        status = max(status, int(sub_args.func(sub_args) or 0))
    return status
