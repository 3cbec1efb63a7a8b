"""Brute-forcing a crumple puzzle, in one process or several (Wright and Varia 2018).

:meth:`SolverPool.solve` tries answers 0, 1, 2, ... in chunks until one
unlocks a chain key that the caller's ``confirm`` accepts (a wrong answer is
consistent with probability 2^-k, see :mod:`escrow.crumple.puzzle`), and
reports the *work* spent: the number of candidates actually evaluated (with
several workers, chunks already running when the answer turns up still count).
No chunk is started more than 2 x workers chunks past the lowest unfinished
candidate, so a stalled worker cannot let the others run ahead: the work is
at most the sequential work plus (2 x workers + 1) chunks, whatever the
scheduling.
With one worker the work is answer + 1 plus nothing else, so over many chains
its mean is about 2^(k-1). One pool of worker processes serves many chains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from escrow.crumple.puzzle import Puzzle, PuzzleError, try_range

DEFAULT_CHUNK = 1 << 14
MAX_WORKERS = 64


@dataclass(frozen=True)
class Solution:
    """A solved puzzle: work (candidates evaluated), wall-clock seconds, workers, chain key."""

    work: int
    seconds: float
    workers: int
    false_candidates: int
    chain_key: bytes = field(repr=False)


class SolverPool:
    """``workers`` processes for solving puzzles (one worker: in this process)."""

    def __init__(self, workers: int = 1, chunk: int = DEFAULT_CHUNK) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int):
            raise PuzzleError("the number of workers is an integer")
        if not 1 <= workers <= MAX_WORKERS:
            raise PuzzleError(f"use 1..{MAX_WORKERS} workers")
        if not isinstance(chunk, int) or chunk < 1:
            raise PuzzleError("the chunk size is a positive integer")
        self.workers = workers
        self.chunk = chunk
        self._executor: Executor | None = (
            ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
        )

    def __repr__(self) -> str:
        return f"SolverPool(workers={self.workers}, chunk={self.chunk})"

    def __enter__(self) -> SolverPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def solve(self, puzzle: Puzzle, confirm: Callable[[bytes], bool]) -> Solution:
        """Search the 2^k space; raise :class:`PuzzleError` if no answer is confirmed."""
        started = time.perf_counter()
        space = 1 << puzzle.bits
        if self._executor is None:
            key, work, false = self._sequential(puzzle, confirm, space)
        else:
            key, work, false = self._parallel(puzzle, confirm, space)
        if key is None:
            raise PuzzleError(
                f"no answer in the whole 2^{puzzle.bits} space unlocks a confirmed chain key: "
                "the locked secret, puzzle size or context does not belong to this chain"
            )
        return Solution(work, time.perf_counter() - started, self.workers, false, key)

    def _sequential(self, puzzle: Puzzle, confirm, space: int):
        start, work, false = 0, 0, 0
        while start < space:
            answer, key, tried = try_range(puzzle, start, space)
            work += tried
            if answer is None:
                break
            if confirm(key):
                return key, work, false
            false += 1
            start = answer + 1
        return None, work, false

    def _parallel(self, puzzle: Puzzle, confirm, space: int):
        assert self._executor is not None
        pending: dict[Future, tuple[int, int]] = {}  # future -> its range
        resume: list[tuple[int, int]] = []  # rest of a range after a false candidate
        ahead = 2 * self.workers * self.chunk  # how far past the lowest unfinished candidate
        next_start, work, false, key = 0, 0, 0, None
        while True:
            while resume and key is None:
                start, stop = resume.pop()
                pending[self._executor.submit(try_range, puzzle, start, stop)] = (start, stop)
            lowest = min((start for start, _ in pending.values()), default=next_start)
            while key is None and next_start < min(space, lowest + ahead):
                stop = min(space, next_start + self.chunk)
                pending[self._executor.submit(try_range, puzzle, next_start, stop)] = (
                    next_start, stop)
                next_start = stop
            if not pending:
                return key, work, false
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                _, stop = pending.pop(future)
                answer, candidate, tried = future.result()
                work += tried
                if answer is None or key is not None:
                    continue
                if confirm(candidate):
                    key = candidate
                else:
                    false += 1
                    if answer + 1 < stop:
                        resume.append((answer + 1, stop))
