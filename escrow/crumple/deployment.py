"""An in-memory ``crumple`` deployment: a custodian deployment (:mod:`escrow.threshold.deployment`)
whose hook pins the puzzle size k, and the worker processes its recovery's puzzle search may
use (:class:`escrow.crumple.solver.SolverPool`)."""

from __future__ import annotations

from collections.abc import Sequence

from escrow.crumple.hook import CrumpleEscrow
from escrow.crumple.solver import MAX_WORKERS
from escrow.custodian import Custodian
from escrow.errors import ModeError
from escrow.threshold.deployment import CustodianDeployment, ceremony


class CrumpleDeployment(CustodianDeployment):
    """A :class:`CustodianDeployment` of a :class:`CrumpleEscrow` hook, searched with
    ``workers`` processes at recovery."""

    def __init__(self, hook: CrumpleEscrow, custodians: Sequence[Custodian] = (),
                 workers: int = 1) -> None:
        if not isinstance(hook, CrumpleEscrow):
            raise TypeError("a crumple deployment needs a CrumpleEscrow hook")
        if isinstance(workers, bool) or not isinstance(workers, int) \
                or not 1 <= workers <= MAX_WORKERS:
            raise ModeError(f"crumple recovery uses 1..{MAX_WORKERS} worker processes")
        super().__init__(hook, custodians)
        self.workers = workers


def deploy(custodians: int, threshold: int, puzzle_bits: int,
           puzzle_workers: int) -> CrumpleDeployment:
    """The registry's ``deploy`` of ``crumple``: a ceremony, then the hook with k."""
    people, cset = ceremony(custodians, threshold)
    return CrumpleDeployment(CrumpleEscrow(cset, puzzle_bits), people, puzzle_workers)
