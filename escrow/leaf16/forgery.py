"""Blaze's LEAF forgery (M. Blaze, "Protocol Failure in the Escrowed Encryption Standard", 1994).

A rogue sender owns a working module but wants a LEAF that escrows nothing.
With only oracle access to its own module it submits random LEAFs to
``validate_leaf`` until one passes the w-bit checksum: each query succeeds
with probability 2^-w, so the number of queries is geometric with mean 2^w
(2^16 = 65,536 for EES). The forged LEAF is accepted by every honest
recipient, and lawful recovery of that chain fails.

If the family key can be read out of the module (software has no tamper
resistance), forgery costs one computation: :func:`forge_with_family_key`.
:class:`ForgingLeafSender` is the rogue sender's hook, doing either per chain.

:func:`search_random_records` runs the same random search against any
recipient check (e.g. the ``threshold`` and ``crumple`` hooks, which never
accept it). :func:`mean_queries_interval` gives the two-sided interval the mean
of n geometric query counts falls in, for checking measurements against 2^w.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass

from escrow.leaf16.errors import Leaf16Error
from escrow.leaf16.hook import MODE, Leaf16Escrow
from escrow.leaf16.leaf import (
    BODY_LENGTH,
    IV_LENGTH,
    WRAPPED_KEY_LENGTH,
    FamilyKey,
    Leaf,
    check_width,
    seal_leaf,
)
from escrow.leaf16.module import LeafModule
from escrow.leaf16.unit import UNIT_ID_BITS
from messaging.hooks import ChainContext


@dataclass(frozen=True)
class SearchResult:
    """Outcome of one random search: the accepted record (or ``None``) and the queries spent."""

    record: bytes | None
    queries: int

    @property
    def found(self) -> bool:
        return self.record is not None


def expected_queries(width: int) -> int:
    """Blaze's expected number of oracle queries for a ``width``-bit checksum: 2^width."""
    return 1 << check_width(width)


def random_leaf(width: int, rng: random.Random) -> bytes:
    """A well-formed LEAF record of ``width`` with a random IV and random body."""
    return Leaf(width, rng.randbytes(IV_LENGTH), rng.randbytes(BODY_LENGTH)).encode()


def search_forgery(
    module: LeafModule,
    context: ChainContext,
    *,
    rng: random.Random | None = None,
    max_queries: int | None = None,
) -> SearchResult:
    """Query ``module.validate_leaf`` with random LEAFs until one passes (or the budget ends)."""
    rng = rng or random.Random(os.urandom(16))
    width = module.width
    queries = 0
    while max_queries is None or queries < max_queries:
        candidate = random_leaf(width, rng)
        queries += 1
        if module.validate_leaf(candidate, context):
            return SearchResult(candidate, queries)
    return SearchResult(None, queries)


def search_random_records(
    accepts: Callable[[bytes], bool],
    record_length: int,
    max_queries: int,
    *,
    rng: random.Random | None = None,
) -> SearchResult:
    """The same search against any recipient check: random records of ``record_length``."""
    if record_length < 1 or max_queries < 0:
        raise Leaf16Error("a record search needs a positive length and a non-negative budget")
    rng = rng or random.Random(os.urandom(16))
    for queries in range(1, max_queries + 1):
        candidate = rng.randbytes(record_length)
        if accepts(candidate):
            return SearchResult(candidate, queries)
    return SearchResult(None, max_queries)


def extract_family_key(module: LeafModule) -> FamilyKey:
    """Read the family key out of a software module's memory (what S15's variant assumes)."""
    if not isinstance(module, LeafModule):
        raise Leaf16Error("family-key extraction needs a LeafModule")
    return object.__getattribute__(module, "_LeafModule__family_key")


def forge_with_family_key(
    family_key: FamilyKey,
    context: ChainContext,
    width: int,
    *,
    rng: random.Random | None = None,
) -> bytes:
    """One computation: a LEAF with a random unit id and random escrowed field, valid checksum."""
    rng = rng or random.Random(os.urandom(16))
    return seal_leaf(
        family_key,
        context,
        width,
        rng.randbytes(IV_LENGTH),
        rng.getrandbits(UNIT_ID_BITS),
        rng.randbytes(WRAPPED_KEY_LENGTH),
    )


class ForgingLeafSender(Leaf16Escrow):
    """A rogue sender's hook: every sending chain carries a forged LEAF that escrows nothing.

    With only its ``module`` it runs Blaze's search per chain; given an extracted
    ``family_key`` it forges with one computation. ``queries`` lists the oracle
    queries each chain's forgery cost (0 with the family key). Receiving chains
    are checked honestly.
    """

    mode = MODE

    def __init__(
        self,
        module: LeafModule,
        *,
        family_key: FamilyKey | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(module)
        self._family_key = family_key
        self._rng = rng or random.Random(os.urandom(16))
        self.queries: list[int] = []

    def record_for_chain(self, context: ChainContext) -> bytes:
        if self._family_key is not None:
            self.queries.append(0)
            return forge_with_family_key(
                self._family_key, context, self._module.width, rng=self._rng
            )
        result = search_forgery(self._module, context, rng=self._rng)
        self.queries.append(result.queries)
        return result.record


def mean_queries_interval(width: int, forgeries: int, alpha: float = 1e-6) -> tuple[float, float]:
    """Two-sided ``1 - alpha`` interval for the mean of ``forgeries`` geometric(2^-width) counts.

    For small p the sum of n geometric(p) counts, times p, is Gamma(n, 1)
    distributed, and P(Gamma(n, 1) <= x) = P(Poisson(x) >= n); the bounds are
    found by bisection on that identity.
    """
    if forgeries < 1 or not 0 < alpha < 1:
        raise Leaf16Error("an interval needs at least one forgery and 0 < alpha < 1")
    n = forgeries

    def gamma_cdf(x: float) -> float:
        if x <= 0:
            return 0.0
        log_x = math.log(x)
        poisson_below_n = sum(math.exp(i * log_x - x - math.lgamma(i + 1)) for i in range(n))
        return 1.0 - poisson_below_n

    def solve(target: float) -> float:
        lo, hi = 0.0, 10.0 * n + 100.0
        for _ in range(200):
            mid = (lo + hi) / 2
            if gamma_cdf(mid) < target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    scale = expected_queries(width) / n
    return solve(alpha / 2) * scale, solve(1 - alpha / 2) * scale
