"""S22 crumple-cost (docs/scenarios.md, "Catalogue"): what a crumple-zone recovery costs, per
chain and in bulk.

Measured with the real lock (:class:`~escrow.crumple.hook.CrumpleEscrow`), the real solver
and the real recovery through the lawful-access workflow:

- work per chain for each puzzle size k (quick: k = 8..14; ``--full`` up to the proposal's
  top, k = 28, from k = 16 on with :data:`FULL_WORKERS` worker processes: k = 28 is about
  2^27 candidates, minutes a chain), against the uniform answer's mean (2^k + 1) / 2,
  about 2^(k-1), within five standard errors;
- two workers find the same keys as one, with bounded extra work;
- the whole archive against the reference window: the work ratio against the ratio of
  chains (mass over targeted).
"""

from __future__ import annotations

import math
import os
import statistics

from escrow.context import RecordContext
from escrow.crumple.hook import CrumpleEscrow
from escrow.crumple.solver import SolverPool
from escrow.scope import Window
from escrowlab.scenarios.fixture import (
    EVERYTHING,
    Issuer,
    chain_context,
    make_custodians,
    make_set,
    party,
    read_with,
    reference_window,
    standard_world,
)
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

PARALLEL_CHUNK = 256
FULL_WORKERS = max(1, min(4, os.cpu_count() or 1))


def sizes(params: Params) -> list[tuple[int, int, int]]:
    """(k, chains, workers) of the run."""
    if not params.full:
        return [(8, 300, 1), (10, 120, 1), (12, 40, 1), (14, 10, 1)]
    return [(8, 1000, 1), (10, 300, 1), (12, 100, 1), (14, 40, 1), (16, 16, FULL_WORKERS),
            (20, 4, FULL_WORKERS), (24, 2, FULL_WORKERS), (28, 1, FULL_WORKERS)]


def measured_work(hook: CrumpleEscrow, chains: int, pool: SolverPool) -> tuple[list[int], float]:
    work, seconds = [], 0.0
    for number in range(chains):
        context = chain_context("crumple", chain_number=number)
        puzzle = hook.puzzle(hook.escrowed_secret(context), RecordContext.of_chain(context))
        solution = pool.solve(puzzle, lambda key, ck=context.chain_key: key == ck)
        work.append(solution.work)
        seconds += solution.seconds
    return work, seconds


def _per_chain(bits: int, chains: int, workers: int, seed: int) -> Outcome:
    hook = CrumpleEscrow(make_set(make_custodians(3), 2), bits)
    with SolverPool(workers) as pool:
        work, seconds = measured_work(hook, chains, pool)
    expected = ((1 << bits) + 1) / 2
    standard_error = (1 << bits) / math.sqrt(12 * chains)
    mean = statistics.mean(work)
    in_range = all(1 <= w <= (1 << bits) + 2 * workers * pool.chunk for w in work)
    return Outcome("S22", "crumple", f"work per chain, k={bits}",
                   "mean work about 2^(k-1) (within 5 standard errors)",
                   in_range and abs(mean - expected) <= 5 * standard_error,
                   {"work_log2": math.log2(mean), "recovery_success": True},
                   {"k": bits, "trials": chains, "workers": workers, "work": work,
                    "mean": mean, "expected": expected, "standard_error": standard_error,
                    "seconds": seconds, "seed": seed})


def _parallel() -> Outcome:
    hook = CrumpleEscrow(make_set(make_custodians(3), 2), 12)
    same, bounded, extra = 0, 0, []
    with SolverPool(1) as one, SolverPool(2, chunk=PARALLEL_CHUNK) as two:
        for number in range(4):
            context = chain_context("crumple", chain_number=number)
            puzzle = hook.puzzle(hook.escrowed_secret(context), RecordContext.of_chain(context))
            sequential = one.solve(puzzle, lambda key, ck=context.chain_key: key == ck)
            parallel = two.solve(puzzle, lambda key, ck=context.chain_key: key == ck)
            same += sequential.chain_key == parallel.chain_key == context.chain_key
            # chunks in flight when the answer turns up still cost work: at most
            # 2 x workers chunks (and a resumed one) beyond the sequential search
            bounded += 1 <= parallel.work <= sequential.work + (2 * 2 + 1) * PARALLEL_CHUNK
            extra.append(parallel.work - sequential.work)
    return Outcome("S22", "crumple", "two workers", "the same keys, bounded extra work",
                   same == 4 and bounded == 4, {"recovery_success": same == 4},
                   {"chains": 4, "same_key": same, "bounded": bounded, "extra_work": extra,
                    "k": 12, "chunk": PARALLEL_CHUNK})


def _mass_vs_targeted(params: Params) -> Outcome:
    days, per_day = (10, 6) if not params.full else (30, 8)
    world = standard_world("crumple", [("alice", "bob", days * per_day, 1, float(days))])
    deployment, conversation = world.deployment, world.conversations[0]
    judge = Issuer()
    releasers = [party(deployment, i, judge.verifier(), world.clock)
                 for i in range(deployment.threshold)]
    warrant = read_with(deployment, world.archive, reference_window(world), judge, releasers,
                        world.clock)
    bulk = read_with(deployment, world.archive, Window(conversation, *EVERYTHING), judge,
                     releasers, world.clock, "A-bulk")
    chain_ratio = len(bulk.chain_work) / len(warrant.chain_work)
    work_ratio = bulk.total_work / warrant.total_work
    archived = len(world.entries())
    holds = (bulk.messages_recovered == archived and len(warrant.chain_work) >= 12
             and chain_ratio / 3 <= work_ratio <= chain_ratio * 3)
    return Outcome("S22", "crumple", "mass vs targeted",
                   "mass/targeted work = chains in archive / chains in scope", holds,
                   {"work_log2": math.log2(bulk.total_work), "exposed_total":
                    bulk.messages_recovered, "recovery_success": bulk.complete},
                   {"k": deployment.hook.puzzle_bits, "chains_in_scope": len(warrant.chain_work),
                    "chains_archived": len(bulk.chain_work), "chain_ratio": chain_ratio,
                    "work_ratio": work_ratio, "targeted_work": warrant.total_work,
                    "mass_work": bulk.total_work, "archived": archived,
                    "messages_in_window": warrant.messages_recovered})


@scenario("S22", "crumple-cost", "crumple recovery cost: the warrant's chains vs the archive",
          ("crumple",))
def crumple_cost(params: Params, mode: str) -> list[Outcome]:
    out = [_per_chain(bits, chains, workers, params.seed)
           for bits, chains, workers in sizes(params)]
    out.append(_parallel())
    out.append(_mass_vs_targeted(params))
    return out
