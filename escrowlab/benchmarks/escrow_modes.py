"""``escrowlab bench escrow-modes``: the leaf16 and crumple figures (docs/benchmarks.md).

Every figure is measured on the real code, in this run:

* ``leaf_oracle_queries_per_s``: random LEAFs validated per second by one
  :class:`escrow.leaf16.module.LeafModule` (the rogue sender's oracle).
* ``leaf_forgery_mean_queries``: Blaze's search (:func:`escrow.leaf16.forgery.search_forgery`)
  repeated ``--forgeries`` times at 16 bits (>= 50 in ``--full``), with median,
  p95 and the 99.9% interval of the mean beside the theory: mean 2^16 = 65,536,
  median ln 2 x 2^16, p95 ln 20 x 2^16.
* ``leaf_seconds_per_forgery_by_width``: the expected seconds per forgery at 16,
  24 and 32 bits from the measured query rate; ``--widths`` also measures wider
  checksums directly (2^24 queries take minutes).
* ``crumple_work_per_chain_k20`` and ``crumple_seconds_per_chain_k20``: puzzles
  of real crumple records (k = 20) solved by :class:`escrow.crumple.solver.SolverPool`,
  against 2^19 expected; ``--puzzle-bits`` adds other k, ``--workers`` processes.

Targets (docs/benchmarks.md): the measured mean forgery queries lie in the 99.9%
interval of the theory's mean for that many forgeries, and the mean crumple work
per chain at k = 20 in the 99.9% interval of the mean of that many uniform answers.
Peers: that theory, and the ``cryptography`` distribution the oracle and the puzzles
run on.

Ranges: ``--widths`` 8, 16 or 24 (32 bits is about 2^32 queries per forgery, hours:
its expected time is reported from the measured rate, not measured);
``--puzzle-bits`` 8..28 (the proposal's range is 16..28; k = 28 is about 2^27
candidates per chain, minutes each); progress lines on a terminal announce each
step with its expected duration.

``escrowlab bench escrow`` includes these figures (it calls :func:`measure`
and :func:`print_figures`) and registers this command beside itself.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

from escrow.context import RecordContext
from escrow.crumple.solver import DEFAULT_CHUNK, MAX_WORKERS, SolverPool
from escrow.leaf16.forgery import (
    expected_queries,
    extract_family_key,
    forge_with_family_key,
    mean_queries_interval,
    random_leaf,
    search_forgery,
)
from escrow.leaf16.leaf import CHECKSUM_WIDTHS, FamilyKey
from escrow.leaf16.module import LeafModule
from escrow.leaf16.unit import EscrowAgent, program_unit
from escrow.modes import get_mode
from escrowlab.arguments import int_in_range, int_list
from escrowlab.benchmarks import Peer, Progress, Target, document, print_document, show_verdicts
from escrowlab.cli import CommandError
from messaging.hooks import PROTOCOL_VERSION, ChainContext

QUICK = {"forgeries": 8, "oracle_queries": 20_000, "chains": 2}
FULL = {"forgeries": 64, "oracle_queries": 200_000, "chains": 16}
K20 = 20
INTERVAL_ALPHA = 1e-3
Z_999 = 3.2905  # two-sided 99.9% normal quantile
MEASURED_WIDTHS = tuple(w for w in CHECKSUM_WIDTHS if w <= 24)
MIN_BENCH_PUZZLE_BITS, MAX_BENCH_PUZZLE_BITS = 8, 28
MAX_FORGERIES = 10_000
MAX_CHAINS = 1_000
forgery_count = int_in_range(1, MAX_FORGERIES)
chain_count = int_in_range(1, MAX_CHAINS)
PEERS = (
    Peer("theory", "expected values: 2^w queries per forgery (geometric), 2^(k-1) "
                   "candidates per chain (uniform answer)"),
    Peer("cryptography", "the AES and HMAC the LEAF oracle and the puzzles run on",
         "cryptography"),
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "escrow-modes",
        help="leaf16 forgery (Blaze 1994) and crumple puzzle cost (Wright-Varia 2018)",
        description=(
            "Measure the LEAF validation oracle's query rate, Blaze's forgery search at a "
            "16-bit checksum against the expected 2^16 queries, and the work and seconds per "
            "chain of crumple-zone recovery at k = 20 against 2^19. Quick by default; --full "
            "runs at least 50 forgeries and 16 chains."
        ),
    )
    parser.add_argument("--full", action="store_true", help="the full run (>= 50 forgeries)")
    parser.add_argument("--forgeries", type=forgery_count, metavar="N",
                        help=f"forgeries at 16 bits, 1..{MAX_FORGERIES:,} (default 8, or 64 "
                             "with --full)")
    parser.add_argument("--chains", type=chain_count, metavar="N",
                        help=f"crumple chains per k, 1..{MAX_CHAINS:,} (default 2, or 16 "
                             "with --full)")
    parser.add_argument("--widths", type=widths, default=(), metavar="W[,W]",
                        help="also measure forgeries at these checksum widths, each one of "
                             f"{', '.join(map(str, MEASURED_WIDTHS))} (24 takes minutes)")
    parser.add_argument("--puzzle-bits", type=puzzle_bits, default=(), metavar="K[,K]",
                        help=f"also measure crumple work at these k, each "
                             f"{MIN_BENCH_PUZZLE_BITS}..{MAX_BENCH_PUZZLE_BITS} (the "
                             "proposal's range is 16..28; each bit doubles the work)")
    parser.add_argument("--workers", type=int_in_range(1, MAX_WORKERS), default=1,
                        metavar="N", help=f"worker processes for the crumple search, "
                                          f"1..{MAX_WORKERS} (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def default_args() -> argparse.Namespace:
    return argparse.Namespace(full=False, forgeries=None, chains=None, widths=(),
                              puzzle_bits=(), workers=1, json=False, func=run)


def quick_args() -> argparse.Namespace:
    """Tiny parameters for ``bench all --quick`` (checks that it runs; figures mean little)."""
    return argparse.Namespace(full=False, forgeries=1, chains=1, widths=(), puzzle_bits=(),
                              workers=1, json=False, func=run)


def targets(results: dict) -> list[Target]:
    """The theory's 99.9% intervals for the measured means (module docstring)."""
    out = []
    if "leaf_forgery_mean_interval_999" in results:
        low, high = results["leaf_forgery_mean_interval_999"]
        out.append(Target("leaf_forgery_mean_queries", "in", (low, high),
                          "Blaze's search costs 2^16 queries on average"))
    chains, workers = results.get("crumple_chains"), results.get("crumple_workers", 1)
    if chains:
        out.append(Target(f"crumple_work_per_chain_k{K20}", "in",
                          crumple_work_interval(K20, chains, workers),
                          "a crumple chain costs 2^(k-1) candidates on average"))
    return out


def crumple_work_interval(bits: int, chains: int, workers: int = 1) -> tuple[float, float]:
    """A 99.9% interval for the mean work of ``chains`` chains at ``bits``: the work is
    the answer + 1 with the answer uniform on 0..2^k-1 (normal approximation, clipped
    to 1..2^k), plus at most (2 x workers + 1) chunks with several workers
    (:mod:`escrow.crumple.solver`)."""
    size = 2 ** bits
    mean, spread = (size + 1) / 2, Z_999 * size / math.sqrt(12 * chains)
    overhead = 0 if workers == 1 else (2 * workers + 1) * DEFAULT_CHUNK
    return max(1.0, round(mean - spread)), min(size, round(mean + spread)) + overhead


def collect(args: argparse.Namespace, progress: Progress | None = None) -> dict:
    results = measure(args.full, forgeries=args.forgeries, chains=args.chains,
                      widths=args.widths, puzzle_bits=args.puzzle_bits, workers=args.workers,
                      progress=progress or Progress("escrow-modes"))
    return document("escrow-modes", results, targets(results), PEERS)


def run(args: argparse.Namespace) -> int:
    return print_document(collect(args), args.json, show)


def show(doc: dict) -> None:
    print_figures(doc)
    show_verdicts(doc)


def measure(full: bool, *, forgeries: int | None = None, chains: int | None = None,
            widths=(), puzzle_bits=(), workers: int = 1,
            progress: Progress | None = None) -> dict:
    """All figures as one JSON-serialisable dict (keys in the module docstring)."""
    plan = FULL if full else QUICK
    forgeries = forgeries or plan["forgeries"]
    chains = chains or plan["chains"]
    say = progress or Progress("escrow-modes", enabled=False)
    world = _LeafWorld()
    say(f"leaf16: timing the validation oracle ({plan['oracle_queries']:,} queries)")
    rate = world.oracle_rate(plan["oracle_queries"])
    say.expect(f"leaf16: {forgeries} forgeries at 16 bits, {rate:,.0f} queries/s",
               forgeries * expected_queries(16) / rate)
    counts = world.forgeries(16, forgeries, say)
    results: dict = {
        "leaf_oracle_queries_per_s": round(rate, 1),
        "leaf_forgery_mean_queries": round(statistics.mean(counts), 1),
        "leaf_forgery_median_queries": statistics.median(counts),
        "leaf_forgery_p95_queries": _p95(counts),
        "leaf_forgeries": forgeries,
        "leaf_forgery_expected_queries": expected_queries(16),
        "leaf_forgery_expected_median": round(math.log(2) * expected_queries(16)),
        "leaf_forgery_expected_p95": round(math.log(20) * expected_queries(16)),
        "leaf_forgery_mean_interval_999": [round(x) for x in
                                           mean_queries_interval(16, forgeries, INTERVAL_ALPHA)],
        "leaf_forgery_mean_seconds": round(statistics.mean(counts) / rate, 3),
        "leaf_seconds_per_forgery_by_width": {
            str(w): round(expected_queries(w) / rate, 3) for w in CHECKSUM_WIDTHS if w >= 16},
        "leaf_family_key_forgery_us": round(world.family_key_forgery_us(), 2),
    }
    for width in widths:
        count = max(1, forgeries // 8)
        say.expect(f"leaf16: {count} forgeries at {width} bits",
                   count * expected_queries(width) / rate)
        wide = world.forgeries(width, count, say)
        results[f"leaf_forgery_mean_queries_w{width}"] = round(statistics.mean(wide), 1)
        results[f"leaf_forgery_expected_queries_w{width}"] = expected_queries(width)
    puzzles = _Crumple()
    candidates_per_s = None
    with SolverPool(workers) as pool:
        for bits in sorted({K20, *puzzle_bits}):
            what = f"crumple: {chains} chains at k={bits} with {workers} worker(s)"
            if candidates_per_s:
                say.expect(what, chains * 2 ** (bits - 1) / candidates_per_s)
            else:
                say(what)
            work, seconds = puzzles.solve(bits, chains, pool, say)
            candidates_per_s = sum(work) / sum(seconds)
            key = f"k{bits}"
            results[f"crumple_work_per_chain_{key}"] = round(statistics.mean(work), 1)
            results[f"crumple_seconds_per_chain_{key}"] = round(statistics.mean(seconds), 3)
            results[f"crumple_expected_work_per_chain_{key}"] = 2 ** (bits - 1)
            results[f"crumple_candidates_per_s_{key}"] = round(sum(work) / sum(seconds), 1)
    results["crumple_chains"] = chains
    results["crumple_workers"] = workers
    return results


class _LeafWorld:
    def __init__(self) -> None:
        self.family_key = FamilyKey.generate()
        self.agents = (EscrowAgent("agent-1"), EscrowAgent("agent-2"))

    def module(self, width: int) -> LeafModule:
        return LeafModule(self.family_key, program_unit(self.agents), width)

    def oracle_rate(self, queries: int) -> float:
        import random

        module, context, rng = self.module(16), _context("leaf16"), random.Random()
        leaves = [random_leaf(16, rng) for _ in range(queries)]
        started = time.perf_counter()
        for leaf in leaves:
            module.validate_leaf(leaf, context)
        return queries / (time.perf_counter() - started)

    def forgeries(self, width: int, count: int, say: Progress) -> list[int]:
        rogue, honest = self.module(width), self.module(width)
        counts = []
        say.step(f"  forgeries at {width} bits", 0, count)
        for i in range(count):
            context = _context("leaf16")
            result = search_forgery(rogue, context)
            if not honest.validate_leaf(result.record, context):
                raise CommandError("a forged LEAF was not accepted by an honest module")
            counts.append(result.queries)
            say.step(f"  forgeries at {width} bits", i + 1, count, f"{result.queries:,} queries")
        return counts

    def family_key_forgery_us(self, rounds: int = 1000) -> float:
        module = self.module(16)
        family_key, context = extract_family_key(module), _context("leaf16")
        started = time.perf_counter()
        for _ in range(rounds):
            forge_with_family_key(family_key, context, 16)
        return (time.perf_counter() - started) / rounds * 1e6


class _Crumple:
    """Crumple records of the registry's deployment (default custodian set) at each k."""

    def solve(self, bits: int, chains: int, pool: SolverPool, say: Progress
              ) -> tuple[list[int], list[float]]:
        hook = get_mode("crumple").deployment(puzzle_bits=bits).hook
        work, seconds = [], []
        say.step(f"  chains at k={bits}", 0, chains)
        for number in range(chains):
            context = _context("crumple", number)
            record_context = RecordContext.of_chain(context)
            record = hook.record_for_chain(context)

            def confirm(candidate: bytes, rc=record_context, expected=record) -> bool:
                return hook.build(rc.with_chain_key(candidate)).record == expected

            solution = pool.solve(hook.puzzle(hook.escrowed_secret(context), record_context),
                                  confirm)
            if solution.chain_key != context.chain_key:
                raise CommandError("a crumple puzzle solved to the wrong chain key")
            work.append(solution.work)
            seconds.append(solution.seconds)
            say.step(f"  chains at k={bits}", number + 1, chains,
                     f"{solution.work:,} candidates in {solution.seconds:.1f} s")
        return work, seconds


def _context(mode: str, chain_number: int = 0) -> ChainContext:
    return ChainContext(PROTOCOL_VERSION, mode, "bench", "alice:1", "bob:1", chain_number,
                        os.urandom(32), os.urandom(32), int(time.time()))


def _p95(values: list[int]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def print_figures(r: dict) -> None:
    print("leaf16 (Clipper/EES LEAF, Blaze 1994)")
    print(f"  validation oracle        {r['leaf_oracle_queries_per_s']:>14,.0f} queries/s")
    print(f"  forgery queries, mean    {r['leaf_forgery_mean_queries']:>14,.0f}   "
          f"expected 2^16 = {r['leaf_forgery_expected_queries']:,} "
          f"(99.9% interval of a {r['leaf_forgeries']}-forgery mean: "
          f"{r['leaf_forgery_mean_interval_999'][0]:,}..{r['leaf_forgery_mean_interval_999'][1]:,})")
    print(f"  forgery queries, median  {r['leaf_forgery_median_queries']:>14,.0f}   "
          f"expected {r['leaf_forgery_expected_median']:,}")
    print(f"  forgery queries, p95     {r['leaf_forgery_p95_queries']:>14,.0f}   "
          f"expected {r['leaf_forgery_expected_p95']:,}")
    print(f"  seconds per forgery      {r['leaf_forgery_mean_seconds']:>14.3f}")
    for width, seconds in r["leaf_seconds_per_forgery_by_width"].items():
        print(f"  expected at {width} bits      {seconds:>14,.1f} s")
    print(f"  with the family key      {r['leaf_family_key_forgery_us']:>14.1f} us per forgery")
    for key in sorted(k for k in r if k.startswith("leaf_forgery_mean_queries_w")):
        width = key.rsplit("w", 1)[1]
        print(f"  forgery mean at {width} bits  {r[key]:>14,.0f}   "
              f"expected {r[f'leaf_forgery_expected_queries_w{width}']:,}")
    print(f"crumple (crypto crumple zones), {r['crumple_chains']} chains per k, "
          f"{r['crumple_workers']} worker(s)")
    for key in sorted(k for k in r if k.startswith("crumple_work_per_chain_k")):
        k = key.rsplit("_k", 1)[1]
        print(f"  k={k:<3} work per chain {r[key]:>14,.0f}   expected 2^{int(k) - 1} = "
              f"{r[f'crumple_expected_work_per_chain_k{k}']:,}; "
              f"{r[f'crumple_seconds_per_chain_k{k}']:.2f} s per chain, "
              f"{r[f'crumple_candidates_per_s_k{k}']:,.0f} candidates/s")


widths = int_list(MEASURED_WIDTHS, "checksum widths",
                  note="32 bits takes hours per forgery: its expected time is reported from "
                       "the measured rate")
puzzle_bits = int_list(range(MIN_BENCH_PUZZLE_BITS, MAX_BENCH_PUZZLE_BITS + 1),
                       "puzzle sizes in bits", note="each bit doubles the work; k=28 is "
                                                    "minutes per chain")
