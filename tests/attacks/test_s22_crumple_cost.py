"""S22 crumple-cost (docs/scenarios.md): what a crumple-zone recovery costs, per chain and in bulk.

Measured with the real lock (:class:`CrumpleEscrow`), the real solver and the
real recovery: the mean work per chain is about 2^(k-1) (checked within five
standard errors of the uniform answer distribution), and recovering the whole
archive costs the warrant's work times chains-in-archive / chains-in-scope. The
command line (``escrowlab bench escrow-modes``) measures k = 16..28.
"""

import functools
import math
import statistics

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.context import RecordContext
from escrow.crumple.hook import CrumpleEscrow
from escrow.crumple.solver import SolverPool
from escrow.scope import Window
from escrow.workflow import LawfulAccess
from tests.builders import chain_context
from tests.escrow.helpers import case, make_custodians, make_set


def measured_work(hook: CrumpleEscrow, chains: int, pool: SolverPool) -> list[int]:
    work = []
    for number in range(chains):
        context = chain_context(mode="crumple", chain_number=number)
        puzzle = hook.puzzle(hook.escrowed_secret(context), RecordContext.of_chain(context))
        work.append(pool.solve(puzzle, lambda key, ck=context.chain_key: key == ck).work)
    return work


@pytest.mark.parametrize("bits, chains", [(8, 300), (10, 120), (12, 40)])
def test_mean_work_per_chain_is_about_2_to_the_k_minus_1(bits, chains):
    hook = CrumpleEscrow(make_set(make_custodians(3), 2), bits)
    with SolverPool(1) as pool:
        work = measured_work(hook, chains, pool)
    assert all(1 <= w <= 1 << bits for w in work)
    expected = ((1 << bits) + 1) / 2
    standard_error = (1 << bits) / math.sqrt(12 * chains)
    assert abs(statistics.mean(work) - expected) <= 5 * standard_error


def test_parallel_workers_find_the_same_keys_with_bounded_extra_work():
    hook = CrumpleEscrow(make_set(make_custodians(3), 2), 12)
    with SolverPool(1) as one, SolverPool(2, chunk=256) as two:
        for number in range(4):
            context = chain_context(mode="crumple", chain_number=number)
            puzzle = hook.puzzle(hook.escrowed_secret(context), RecordContext.of_chain(context))
            sequential = one.solve(puzzle, lambda key, ck=context.chain_key: key == ck)
            parallel = two.solve(puzzle, lambda key, ck=context.chain_key: key == ck)
            assert sequential.chain_key == parallel.chain_key == context.chain_key
            # Chunks already in flight when the answer turns up still cost work, at most
            # 2 x workers chunks (and a resumed one) beyond the sequential search.
            assert 1 <= parallel.work <= sequential.work + (2 * 2 + 1) * 256


def test_whole_archive_costs_the_warrant_times_the_chain_ratio():
    c = case(hook_class=functools.partial(CrumpleEscrow, puzzle_bits=8), days=10, per_day=6,
             ratchet_every=1)
    warrant = c.attempt().recover()
    deployment = c.deployment
    access = LawfulAccess(deployment, c.archive)
    everything_window = Window("C1", 0, 2e9)
    everything = access.scope(everything_window)
    bulk_key = X25519PrivateKey.generate()
    bulk_authorisation = c.issuer.authorise(everything, bulk_key, c.conv.clock.now() + 1e6,
                                            authorisation_id="A-bulk")
    attempt = access.open(everything_window, bulk_authorisation, bulk_key)
    for party in range(3):
        attempt.submit(attempt.nonce, deployment.release(party, bulk_authorisation,
                                                         c.issuer.verifier(), everything,
                                                         c.conv.clock))
    bulk = attempt.recover()
    chain_ratio = len(bulk.chain_work) / len(warrant.chain_work)
    work_ratio = bulk.total_work / warrant.total_work
    assert len(bulk.chain_work) == len(everything) > len(warrant.chain_work) >= 12
    assert bulk.messages_recovered == len(c.conv.archive)
    assert chain_ratio / 3 <= work_ratio <= chain_ratio * 3
