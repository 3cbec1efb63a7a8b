"""Binomial arithmetic for S28 css-fp-rate (docs/css_hashing.md, "S28 css-fp-rate: false
positives").

A measured count of ``k`` false positives in ``n`` images bounds the per-image rate with the
exact (Clopper-Pearson) interval; with ``k = 0`` the one-sided 95% upper bound is
``1 - 0.05 ** (1 / n)``, about ``3 / n`` (the "rule of three"). An account holding ``m``
images a year is flagged when at least ``t`` of them match, so under independence its yearly
rate is the binomial tail ``P[Binomial(m, p) >= t]``. Independence is an assumption in the
claim's favour: one person's photographs are alike, and an image that collides once tends to
collide again.
"""

from __future__ import annotations

import math

from scipy.optimize import brentq
from scipy.stats import beta, binom

CONFIDENCE = 0.95


def interval(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The two-sided Clopper-Pearson interval of a rate measured as ``k`` in ``n``."""
    alpha = 1.0 - confidence
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def upper(k: int, n: int, confidence: float = CONFIDENCE) -> float:
    """The one-sided upper bound of a rate measured as ``k`` in ``n`` (rule of three at 0)."""
    if k == n:
        return 1.0
    if k == 0:
        return 1.0 - (1.0 - confidence) ** (1.0 / n)
    return float(beta.ppf(confidence, k + 1, n - k))


def account_rate(p: float, images: int, t: int) -> float:
    """P[at least ``t`` of ``images`` independent images match], each with probability ``p``."""
    return float(binom.sf(t - 1, images, p)) if p > 0 else 0.0


def rate_needed(target: float, images: int, t: int) -> float:
    """The per-image rate at which an account of ``images`` images a year reaches ``target``
    flags a year at threshold ``t``."""
    def gap(log_p: float) -> float:
        return math.log(max(account_rate(math.exp(log_p), images, t), 1e-300)) \
            - math.log(target)
    return math.exp(brentq(gap, math.log(1e-300), math.log(1.0 - 1e-12), xtol=1e-6))


def sample_needed(p: float, confidence: float = CONFIDENCE) -> int:
    """How many images, none a false positive, bound the per-image rate below ``p``."""
    return math.ceil(math.log(1.0 - confidence) / math.log1p(-p))
