"""S30 css-frame (docs/scenarios.md; docs/css_hashing.md, "S30 css-frame: framing").

An attacker who knows one listed hash (they hold the listed image, or a hash leaked from the
list) perturbs an innocuous image until the victim's scanner matches it, then sends it. Per
hasher at its deployed threshold, the black-box search of
:func:`escrowlab.scenarios._hash_attacks.climb` runs towards the listed hash under each
L-infinity budget of :data:`QUICK` or :data:`FULL`, with at most ``budget`` queries per trial;
innocuous and listed images always come from different source pictures. Measured:

- framed images accepted as matches (``forged_accepted``) and the queries each took
  (``work_log2``: log2 of their mean), the success rate against queries spent (``curve``), the
  distances the failures ended at, and the PSNR of the framed images;
- the second hash: whether a framed image also matches the listed image under each *other*
  hasher (Apple's design checks a match again with a second, secret perceptual hash on the
  server), and the matcher's review itself (:class:`escrow.css.review.Review`,
  docs/css_matcher.md, "Review") run on the framed images' visual derivatives with
  :data:`SECOND_HASH` as the secret second hash and a reviewer who errs at
  :data:`REVIEWER_ERROR`; the listed images' own derivatives go through the same review as
  the control;
- the account: Apple's threshold (:data:`APPLE_THRESHOLD` matches) needs as many framed
  images; the expected queries and seconds of hashing to make them at the measured rate.

Framing is the NeuralHash collision of 2021 (a second preimage found within days of the model's
extraction) on the hashes of this lab.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy

from escrow.css import images
from escrow.css.hashers import HASHERS, PdqHasher
from escrow.css.review import ReportSink, Review, SecondHash, SimulatedReviewer
from escrowlab.scenarios._hash_attacks import Oracle, climb, listable
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

MODE = "css"
APPLE_THRESHOLD = 30
QUICK = {"trials": 3, "side": 64, "eps": (32,), "budget": 1500}
FULL = {"trials": 12, "side": 64, "eps": (16, 32, 64), "budget": 12000}
REFERENCE_EPS = 32
CHECKPOINTS = 10
SECOND_HASH = {"phash": "pdq", "dhash": "pdq", "ahash": "pdq", "pdq": "phash"}
REVIEWER_ERROR = 0.0
DERIVATIVE_SIDE = 48  # grey, so that its PNG fits a voucher (escrow.css.vouchers.DERIVATIVE_BYTES)


def pairs(trials: int, seed: int, side: int):
    """``trials`` (innocuous, listed) pairs of images from distinct source pictures."""
    corpus = listable(2 * trials, seed, side)
    order = numpy.random.default_rng([seed, 30]).permutation(len(corpus))
    return [(corpus[order[2 * i]], corpus[order[2 * i + 1]]) for i in range(trials)]


def frame(hasher, chosen, eps: int, budget: int, seed: int) -> list:
    """One attempt per pair: the innocuous image moved towards the listed image's hash."""
    rng = numpy.random.default_rng([seed, 30, eps, list(HASHERS).index(hasher.name)])
    oracle = Oracle(hasher)
    return [climb(oracle, innocuous, oracle.digest(listed), eps, budget, rng, evade=False)
            for (_, innocuous), (_, listed) in chosen]


def transfer(hasher_name: str, chosen, attempts) -> dict[str, int]:
    """Per other hasher: how many framed images also match the listed image under it."""
    out = {}
    for other_name, other in HASHERS.items():
        if other_name == hasher_name:
            continue
        oracle = Oracle(other)
        out[other_name] = sum(
            oracle.matches(a.image, oracle.digest(listed))
            for a, (_, (_, listed)) in zip(attempts, chosen, strict=True) if a.success)
    return out


def derivative(image: numpy.ndarray) -> bytes:
    """The visual derivative of ``image``: grey, longer side :data:`DERIVATIVE_SIDE`, PNG."""
    small = images.resize(image, DERIVATIVE_SIDE / max(image.shape[:2]))
    if small.ndim == 3:
        small = numpy.round(small @ numpy.array([0.299, 0.587, 0.114])).astype(numpy.uint8)
    return images.encode_image(small)


class _ServerPdq(PdqHasher):
    """PDQ as a server's second hash: every hash is compared, whatever its quality."""

    def hash(self, image: numpy.ndarray) -> bytes:
        return self.hash_with_quality(image)[0]


def reviewed(name: str, chosen, attempts, seed: int) -> dict:
    """The review of the framed images' derivatives and, as the control, of the listed
    images' own: how many pass the second hash, are confirmed, and whether a report goes."""
    listed = [image for _, (_, image) in chosen]
    truth = {derivative(image) for image in listed}
    second_name = SECOND_HASH[name]
    second = SecondHash(_ServerPdq() if second_name == "pdq" else HASHERS[second_name],
                        listed, images.decode_image)
    out = {"second_hash": second_name, "reviewer_error": REVIEWER_ERROR}
    for label, derivatives in (("framed", [derivative(a.image) for a in attempts if a.success]),
                               ("control", sorted(truth))):
        reviewer = SimulatedReviewer(truth.__contains__, REVIEWER_ERROR, seed)
        result = Review(second, reviewer, ReportSink()).review("victim", derivatives)
        out[label] = {"derivatives": result.derivatives,
                      "second_hash_matches": result.second_hash_matches,
                      "confirmed": result.confirmed, "reported": result.report is not None}
    return out


def curve(attempts, budget: int) -> list[list[float]]:
    """[queries, fraction of trials framed within that many queries] at even checkpoints."""
    steps = [round(budget * i / CHECKPOINTS) for i in range(CHECKPOINTS + 1)]
    return [[q, sum(a.success and a.queries <= q for a in attempts) / len(attempts)]
            for q in steps]


@scenario("S30", "css-frame",
          "an innocuous image is made to collide with a listed hash and sent to a victim",
          (MODE,))
def run(params: Params, mode: str) -> list[Outcome]:
    sizes = FULL if params.full else QUICK
    chosen = pairs(sizes["trials"], params.seed, sizes["side"])
    measured = {}
    for name, hasher in HASHERS.items():
        rows = {}
        for eps in sizes["eps"]:
            started = time.perf_counter()
            attempts = frame(hasher, chosen, eps, sizes["budget"], params.seed)
            rows[eps] = (attempts, time.perf_counter() - started)
        measured[name] = rows
    framed = {name: sum(a.success for a in rows[REFERENCE_EPS][0])
              for name, rows in measured.items()}
    weakest = min(v for name, v in framed.items() if HASHERS[name].bits == 64)
    outcomes = []
    for name, rows in measured.items():
        hasher = HASHERS[name]
        attempts, seconds = rows[REFERENCE_EPS]
        won = [a for a in attempts if a.success]
        spent = sum(a.queries for a in attempts)
        rate = len(won) / len(attempts)
        mean_queries = statistics.mean(a.queries for a in won) if won else None
        expected_queries = APPLE_THRESHOLD * mean_queries / rate if won else None
        if hasher.bits == 64:
            expected = "a framed innocuous image matches the listed hash in some trials"
            holds = len(won) >= 1
        else:
            expected = ("framing PDQ (256 bits, threshold 31) succeeds no more often than "
                        "framing the weakest 64-bit hash")
            holds = len(won) <= weakest
        outcomes.append(Outcome(
            "S30", mode, name, expected, holds=holds,
            metrics={"forged_accepted": len(won),
                     "work_log2": round(math.log2(mean_queries), 2) if won else None},
            details={
                "hasher": name, "bits": hasher.bits, "threshold": hasher.threshold,
                "seed": params.seed, "side": sizes["side"], "budget": sizes["budget"],
                "eps": REFERENCE_EPS, "trials": len(attempts), "rate": rate,
                "pairs": [[i[0], t[0]] for i, t in chosen],
                "queries": [a.queries for a in attempts],
                "final_distances": [a.distance for a in attempts],
                "psnr": [round(a.psnr, 2) for a in attempts],
                "per_eps": [{"eps": eps, "framed": sum(a.success for a in atts),
                             "trials": len(atts)} for eps, (atts, _) in rows.items()],
                "second_hash": transfer(name, chosen, attempts),
                "review": reviewed(name, chosen, attempts, params.seed),
                "account": {"t": APPLE_THRESHOLD, "framed_images_needed": APPLE_THRESHOLD,
                            "expected_queries": expected_queries,
                            "seconds_per_query": seconds / spent,
                            "expected_seconds": expected_queries * seconds / spent
                            if won else None},
                "curve": curve(attempts, sizes["budget"])}))
    return outcomes
