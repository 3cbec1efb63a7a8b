"""Lawful recovery under ``crumple``: t releases, then a k-bit search per chain (Wright and
Varia, "Crypto Crumple Zones", IEEE S&P 2018).

The same steps, through the same code, as :func:`escrow.threshold.recovery.recover`
(:func:`escrow.recovery.recover_chains`: releases checked against the pinned
set, exactly t shares combined with SLIP-39, other t-subsets tried on failure,
culprits named, exactly the in-window messages decrypted, over-collection
counted), with one strategy of its own (:class:`PuzzleUnlock`): the combined
secret is a locked chain key, so each chain's puzzle is brute-forced
(:class:`escrow.crumple.solver.SolverPool`, optionally with several worker
processes), every self-consistent candidate is confirmed by recomputing the
archived record byte for byte, and the work is reported per chain. The
puzzle size k is the deployment's (the hook's): a record stating another k is
screened out by :mod:`escrow.scope` and reported as refused, at no solving
cost, so a sender cannot make a window's recovery cost 2^31 per chain. Windows
are judged by the relay's receipt time only. :func:`recover_window` is :func:`recover` with
the mode registry's uniform signature (:data:`escrow.modes.Recover`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import ReleaseAuthorisation
from escrow.crumple.deployment import CrumpleDeployment
from escrow.crumple.hook import CrumpleEscrow
from escrow.crumple.puzzle import PuzzleError
from escrow.crumple.solver import SolverPool
from escrow.errors import RecoveryError
from escrow.recovery import RecoveryReport, UnlockedChain, recover_chains
from escrow.release import ShareRelease
from escrow.scope import Archive, ArchivedChain, Window


@dataclass(frozen=True)
class ChainWork:
    """The search one chain cost: its puzzle size, candidates evaluated and seconds."""

    chain: str
    puzzle_bits: int
    work: int
    seconds: float
    false_candidates: int


@dataclass(frozen=True)
class CrumpleRecoveryReport(RecoveryReport):
    """What one crumple recovery read, could have read, and what it cost."""

    puzzle_bits: int
    workers: int
    chain_work: tuple[ChainWork, ...]

    @property
    def total_work(self) -> int:
        return sum(c.work for c in self.chain_work)

    @property
    def total_seconds(self) -> float:
        return sum(c.seconds for c in self.chain_work)

    @property
    def expected_work_per_chain(self) -> int:
        """2^(k-1) for the deployment's k."""
        return 2 ** (self.puzzle_bits - 1)

    def to_json(self) -> dict:
        return {
            **super().to_json(),
            "puzzle_bits": self.puzzle_bits,
            "workers": self.workers,
            "work_per_chain": [c.work for c in self.chain_work],
            "seconds_per_chain": [round(c.seconds, 6) for c in self.chain_work],
            "expected_work_per_chain": self.expected_work_per_chain,
            "total_work": self.total_work,
        }


class PuzzleUnlock:
    """The crumple :data:`~escrow.recovery.Unlock` strategy: solve the chain's k-bit puzzle
    (the deployment's k) in ``pool``, confirm each self-consistent candidate by recomputing
    the record, and keep the work each solved chain cost."""

    def __init__(self, hook: CrumpleEscrow, pool: SolverPool) -> None:
        self.hook = hook
        self.pool = pool
        self.work: list[ChainWork] = []

    def __call__(self, secret: bytes, chain: ArchivedChain) -> UnlockedChain | None:
        where = chain.context.describe()
        hook = self.hook
        try:
            puzzle = hook.puzzle(secret, chain.context)
        except PuzzleError:
            return None  # not a locked chain key: a wrong combination

        def confirm(candidate: bytes) -> bool:
            return hook.build(chain.context.with_chain_key(candidate)).record == chain.record

        try:
            solution = self.pool.solve(puzzle, confirm)
        except PuzzleError:
            return None
        self.work.append(ChainWork(where, hook.puzzle_bits, solution.work, solution.seconds,
                                   solution.false_candidates))
        return UnlockedChain(solution.chain_key,
                             hook.build(chain.context.with_chain_key(solution.chain_key)))


def recover(hook: CrumpleEscrow, archive: Archive, conversation_id: str,
            start: float, end: float, releases: Sequence[ShareRelease],
            recovery_key: X25519PrivateKey, pool: SolverPool | None = None, *,
            authorisation: ReleaseAuthorisation) -> CrumpleRecoveryReport:
    """Recover the messages of ``conversation_id`` received in ``[start, end)``, solving one
    puzzle per chain (in ``pool``, or in this process); only releases made under
    ``authorisation`` count (as :func:`escrow.threshold.recovery.recover`)."""
    if not isinstance(hook, CrumpleEscrow):
        raise RecoveryError("crumple recovery needs the CrumpleEscrow hook of the pinned set")
    own_pool = pool is None
    pool = pool or SolverPool(1)
    unlock = PuzzleUnlock(hook, pool)
    try:
        done = recover_chains(hook, archive, conversation_id, start, end, releases,
                              recovery_key, unlock, authorisation)
    finally:
        if own_pool:
            pool.close()
    return CrumpleRecoveryReport(**{f.name: getattr(done, f.name) for f in fields(done)},
                                 puzzle_bits=hook.puzzle_bits, workers=pool.workers,
                                 chain_work=tuple(unlock.work))


def recover_window(deployment: CrumpleDeployment, archive: Archive, window: Window,
                   authorisation: ReleaseAuthorisation, releases: Sequence[ShareRelease],
                   recovery_key: X25519PrivateKey) -> CrumpleRecoveryReport:
    """:func:`recover` with the registry's uniform signature, searching with the deployment's
    worker processes."""
    with SolverPool(deployment.workers) as pool:
        return recover(deployment.hook, archive, window.conversation_id, window.start,
                       window.end, releases, recovery_key, pool, authorisation=authorisation)
