"""S32 css-below-threshold (docs/scenarios.md; docs/css_matcher.md, "Matcher" and
"Scenarios").

An account sends ``images`` pictures, ``m`` of which (drawn uniformly from 0..t-1 per
trial) have a hash in the provider's database. Its device emits a safety voucher for each
(:class:`escrow.css.vouchers.VoucherClient`), replacing each real voucher with a synthetic
one with probability ``rate``, and the provider's real :class:`escrow.css.matcher.Matcher`
takes them. Below t the provider sees how many vouchers it received and how many opened; its
best unbiased estimate of the true count, knowing ``rate``, is
``(opened - rate * received) / (1 - rate)`` (each voucher opens with probability ``rate``
if synthetic, and otherwise if and only if it matches). Over seeded trials the run measures
that estimate's mean absolute error and how often, rounded, it is exactly ``m``, for each
rate: 0 (no synthetic vouchers: the count is exact), and Apple-style rates. A last variant
(t = 6, 24 images, in both runs) sends t + 2 matching images with synthetic vouchers and
checks that the matcher opens the real derivatives exactly when at least t of them were
sent as real vouchers, and then recognises the synthetic ones.

Apple does not publish its synthetic rate; the rates here are the lab's choices.
"""

from __future__ import annotations

import os
import random

from escrow.css import database, matcher, psi, vouchers
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

RATES = (0.0, 0.1, 0.25)
# the above-threshold check keeps t and the voucher count small in both runs: the matcher's
# search for t real shares among synthetic ones grows combinatorially (docs/css_matcher.md,
# "Differences from Apple's system")
ABOVE_THRESHOLD = 6
ABOVE_IMAGES = 24
HASH_BYTES = 8


def _world(seed: int, entries: int) -> tuple[database.HashDatabase, psi.ServerSecret,
                                             psi.BlindedTable]:
    rnd = random.Random(seed)
    shared = [rnd.randbytes(HASH_BYTES) for _ in range(entries)]
    db = database.build(1, {"supplier-a": shared + [rnd.randbytes(HASH_BYTES)],
                            "supplier-b": shared + [rnd.randbytes(HASH_BYTES)]})
    secret = psi.ServerSecret.generate()
    return db, secret, psi.build_table(db, secret)


def _send(client: vouchers.VoucherClient, provider: matcher.Matcher, account: str,
          matches: list[bytes], images: int, rnd: random.Random) -> None:
    hashes = matches + [os.urandom(HASH_BYTES) for _ in range(images - len(matches))]
    rnd.shuffle(hashes)
    for index, image_hash in enumerate(hashes):
        provider.submit(account, client.voucher(image_hash, b"derivative %d" % index))


def estimate(opened: int, received: int, rate: float) -> float:
    """The provider's unbiased estimate of the real match count below t."""
    return (opened - rate * received) / (1.0 - rate)


def measure(rate: float, trials: int, images: int, threshold: int, seed: int) -> dict:
    """Mean absolute estimation error and exact-count frequency over ``trials`` accounts."""
    rnd = random.Random(seed)
    db, secret, table = _world(seed, entries=max(64, threshold * 4))
    # below t every t-subset of opened shares holds a synthetic one, so no search can
    # succeed: one subset per voucher keeps the run short
    provider = matcher.Matcher(secret, threshold, max_combinations=1)
    errors, exact, exposed, opened_total = [], 0, 0, 0
    for trial in range(trials):
        true_count = rnd.randrange(threshold)
        client = vouchers.VoucherClient(table, threshold, rate, random.Random(rnd.random()))
        account = f"account-{trial}"
        _send(client, provider, account, rnd.sample(db.hashes, true_count), images, rnd)
        view = provider.view(account)
        guess = estimate(view.opened, view.received, rate)
        errors.append(abs(guess - true_count))
        exact += round(guess) == true_count
        exposed += len(view.derivatives)
        opened_total += view.opened
    return {"mean_abs_error": sum(errors) / trials, "max_abs_error": max(errors),
            "exact_fraction": exact / trials, "exposed": exposed,
            "mean_opened": opened_total / trials}


def above_threshold(rate: float, images: int, threshold: int, seed: int) -> dict:
    """One account with t + 2 matching images among ``images``: what the matcher opens."""
    rnd = random.Random(seed)
    db, secret, table = _world(seed, entries=max(64, threshold * 4))
    provider = matcher.Matcher(secret, threshold)
    client = vouchers.VoucherClient(table, threshold, rate, random.Random(rnd.random()))
    matches = rnd.sample(db.hashes, threshold + 2)
    _send(client, provider, "account", matches, images, rnd)
    view = provider.view("account")
    real_matches = view.opened - client.synthetic_issued
    return {"revealed": view.revealed, "derivatives": len(view.derivatives),
            "real_matching_vouchers": real_matches, "synthetic_issued": client.synthetic_issued,
            "known_synthetic": view.known_synthetic, "combinations": view.combinations}


@scenario("S32", "css-below-threshold",
          "the provider estimates a user's match count below t, with and without synthetic "
          "vouchers", ("css",))
def run(params: Params, mode: str) -> list[Outcome]:
    trials = 200 if params.full else 12
    images = 60 if params.full else 24
    threshold = 10 if params.full else 6
    outcomes = []
    for rate in RATES:
        m = measure(rate, trials, images, threshold, params.seed)
        if rate == 0.0:
            expected = "without synthetic vouchers the provider counts the real matches exactly"
            holds = m["mean_abs_error"] == 0.0 and m["exposed"] == 0
        else:
            expected = ("synthetic vouchers hide the count: the estimate errs and no derivative "
                        "opens below t")
            holds = m["mean_abs_error"] > 0.0 and m["exact_fraction"] < 1.0 and m["exposed"] == 0
        outcomes.append(Outcome(
            "S32", mode, f"rate={rate}", expected, holds,
            metrics={"exposed_total": m["exposed"]},
            details={**m, "trials": trials, "images": images, "threshold": threshold,
                     "synthetic_rate": rate}))
    rate = RATES[-1]
    runs = [above_threshold(rate, ABOVE_IMAGES, ABOVE_THRESHOLD, params.seed + k)
            for k in range(10 if params.full else 1)]
    correct = [(a["revealed"] == (a["real_matching_vouchers"] >= ABOVE_THRESHOLD))
               and a["derivatives"] == (a["real_matching_vouchers"] if a["revealed"] else 0)
               and a["known_synthetic"] == (a["synthetic_issued"] if a["revealed"] else 0)
               for a in runs]
    outcomes.append(Outcome(
        "S32", mode, f"above-threshold/rate={rate}",
        "with t real matching vouchers the real derivatives open and the synthetic vouchers "
        "are recognised; with fewer (matches replaced by synthetic ones) nothing opens",
        all(correct),
        metrics={"exposed_total": sum(a["derivatives"] for a in runs),
                 "recovery_success": sum(a["revealed"] for a in runs) / len(runs)},
        details={"runs": runs, "images": ABOVE_IMAGES, "threshold": ABOVE_THRESHOLD,
                 "synthetic_rate": rate,
                 "max_combinations_per_voucher": matcher.MAX_COMBINATIONS}))
    return outcomes
