"""S28 css-fp-rate (docs/scenarios.md; docs/css_hashing.md, "S28 css-fp-rate: false
positives").

The stand-in corpus (:func:`escrow.css.images.stand_in_images`) is split by source picture: half
the sources make the stand-in database (their hashes, as a provider would list them), the other
half are an honest user's images, each also with every benign edit of
:data:`escrow.css.images.BENIGN_EDITS`. No user image shares a source with a listed one, so
every match is a false positive. Per hasher, at its deployed threshold, the run counts:

- false positives per image (a user image within threshold of any listed hash) and per pair
  (user image, listed hash), with exact 95% intervals (:mod:`escrowlab.scenarios._rates`),
  and by kind of image (bundled photograph, tile, texture, shapes, gradient), and over the
  photographs alone (bundled pictures and tiles: the generated gradients are flat enough to
  collide with any flat listed image);
- PDQ hashes discarded for low quality (never matched, never listed);
- the account level: an account of :data:`IMAGES_PER_YEAR` images is flagged at
  :data:`APPLE_THRESHOLD` matches (Apple's initial threshold); its yearly rate from the
  measured per-image rate and from its upper bound, at the stand-in database's size and with
  the per-pair bound carried to a database of :data:`DEPLOYED_DATABASE` hashes; the
  per-image rate Apple's "1 in a trillion per account per year" needs, and how many clean
  images a sample would need to show it.

The record holds when the measurement is what it can be: the sample cannot confirm the
claim for a database of deployed size (the per-pair bound is far too loose).
"""

from __future__ import annotations

import numpy

from escrow.css import images
from escrow.css.hashers import PdqHasher
from escrowlab.scenarios import _rates
from escrowlab.scenarios._hash_attacks import scenario_hashers
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

MODE = "css"
APPLE_THRESHOLD = 30
APPLE_CLAIM = 1e-12
IMAGES_PER_YEAR = 1_000
DEPLOYED_DATABASE = 100_000
THRESHOLDS_T = tuple(range(1, 41))
QUICK = {"images": 40, "side": 128}
FULL = {"images": 400, "side": 256}
EXAMPLES = 8
PHOTOGRAPHS = ("skimage", "tile")  # the kinds that are photographs (not generated patterns)


def split(corpus: list[tuple[str, numpy.ndarray]], seed: int):
    """(listed, user) images: the sources shuffled by ``seed`` and dealt alternately."""
    sources = sorted({images.source_of(name) for name, _ in corpus})
    order = numpy.random.default_rng([seed, 28]).permutation(len(sources))
    listed_sources = {sources[i] for i in order[::2]}
    listed = [(n, im) for n, im in corpus if images.source_of(n) in listed_sources]
    user = [(n, im) for n, im in corpus if images.source_of(n) not in listed_sources]
    return listed, user


def with_edits(originals: list[tuple[str, numpy.ndarray]]) -> list[tuple[str, numpy.ndarray]]:
    out = []
    for name, image in originals:
        out.append((name, image))
        out += [(f"{name}/{edit}", edit_image(image)) for edit, edit_image in images.BENIGN_EDITS]
    return out


def _digests(hasher, corpus) -> list[bytes | None]:
    """Each image's hash, None where the scanner discards it (PDQ below its quality floor)."""
    if isinstance(hasher, PdqHasher):
        out = []
        for _, image in corpus:
            digest, quality = hasher.hash_with_quality(image)
            out.append(digest if quality >= hasher.min_quality else None)
        return out
    return [hasher.hash(image) for _, image in corpus]


def _bits(digests: list[bytes]) -> numpy.ndarray:
    return numpy.unpackbits(numpy.frombuffer(b"".join(digests), dtype=numpy.uint8)
                            ).reshape(len(digests), -1).astype(bool)


def _kind(name: str) -> str:
    return name.split(":", 1)[0]


def measure(hasher, listed, user) -> dict:
    """The counts of one hasher over (listed, user) images (module docstring)."""
    listed_digests = _digests(hasher, listed)
    kept = [(name, d) for (name, _), d in zip(listed, listed_digests, strict=True)
            if d is not None]
    user_digests = _digests(hasher, user)
    scanned = [(name, d) for (name, _), d in zip(user, user_digests, strict=True)
               if d is not None]
    distances = (_bits([d for _, d in scanned])[:, None, :]
                 != _bits([d for _, d in kept])[None, :, :]).sum(axis=2)
    matched = distances <= hasher.threshold
    flagged = matched.any(axis=1)
    by_kind: dict[str, list[int]] = {}
    for (name, _), hit in zip(scanned, flagged, strict=True):
        counts = by_kind.setdefault(_kind(name), [0, 0])
        counts[0] += int(hit)
        counts[1] += 1
    photographs = [hit for (name, _), hit in zip(scanned, flagged, strict=True)
                   if _kind(name) in PHOTOGRAPHS]
    examples = [[scanned[i][0], kept[int(distances[i].argmin())][0], int(distances[i].min())]
                for i in numpy.flatnonzero(flagged)[:EXAMPLES]]
    return {"n": len(scanned), "database": len(kept), "k": int(flagged.sum()),
            "pairs": int(matched.size), "pair_matches": int(matched.sum()),
            "discarded_user": len(user) - len(scanned),
            "discarded_listed": len(listed) - len(kept),
            "by_kind": by_kind, "examples": examples,
            "photographs": {"k": int(sum(photographs)), "n": len(photographs),
                            "upper_95": _rates.upper(int(sum(photographs)), len(photographs))},
            "distance_min": int(distances.min()),
            "distance_mean": round(float(distances.mean()), 2)}


def account(counts: dict) -> dict:
    """The account-level figures of one hasher's counts (module docstring)."""
    k, n = counts["k"], counts["n"]
    p_hat, p_upper = k / n, _rates.upper(k, n)
    pair_upper = _rates.upper(counts["pair_matches"], counts["pairs"])
    deployed_upper = 1.0 - (1.0 - pair_upper) ** DEPLOYED_DATABASE
    needed = _rates.rate_needed(APPLE_CLAIM, IMAGES_PER_YEAR, APPLE_THRESHOLD)
    upper_t = _rates.account_rate(p_upper, IMAGES_PER_YEAR, APPLE_THRESHOLD)
    deployed_t = _rates.account_rate(deployed_upper, IMAGES_PER_YEAR, APPLE_THRESHOLD)
    return {
        "images_per_year": IMAGES_PER_YEAR, "t": APPLE_THRESHOLD, "claim": APPLE_CLAIM,
        "rate": _rates.account_rate(p_hat, IMAGES_PER_YEAR, APPLE_THRESHOLD),
        "rate_upper": upper_t,
        "deployed_database": DEPLOYED_DATABASE,
        "per_image_upper_deployed": deployed_upper,
        "rate_upper_deployed": deployed_t,
        "per_image_rate_needed": needed,
        "clean_images_needed": _rates.sample_needed(needed),
        "supports_claim": upper_t <= APPLE_CLAIM,
        "supports_claim_deployed": deployed_t <= APPLE_CLAIM,
    }


@scenario("S28", "css-fp-rate",
          "false positives per image and per account at each hasher's deployed threshold",
          (MODE,))
def run(params: Params, mode: str) -> list[Outcome]:
    sizes = FULL if params.full else QUICK
    corpus = images.stand_in_images(sizes["images"], params.seed, sizes["side"])
    listed, originals = split(corpus, params.seed)
    user = with_edits(originals)
    outcomes = []
    for name, hasher in scenario_hashers(params).items():
        counts = measure(hasher, listed, user)
        k, n = counts["k"], counts["n"]
        level = account(counts)
        p_hat, p_upper = k / n, _rates.upper(k, n)
        pair_upper = _rates.upper(counts["pair_matches"], counts["pairs"])
        curve = [[t, _rates.account_rate(p_hat, IMAGES_PER_YEAR, t),
                  _rates.account_rate(p_upper, IMAGES_PER_YEAR, t),
                  _rates.account_rate(level["per_image_upper_deployed"], IMAGES_PER_YEAR, t)]
                 for t in THRESHOLDS_T]
        outcomes.append(Outcome(
            "S28", mode, name,
            f"innocent images within distance {hasher.threshold} of a listed hash, counted "
            f"per image, pair and account; the sample cannot confirm 1e-12 per account per "
            f"year for a database of {DEPLOYED_DATABASE:,} hashes",
            holds=not level["supports_claim_deployed"],
            metrics={"exposed_total": k},
            details={
                "hasher": name, "bits": hasher.bits, "threshold": hasher.threshold,
                "seed": params.seed, "side": sizes["side"],
                "edits": [edit for edit, _ in images.BENIGN_EDITS], **counts,
                "per_image": {"rate": p_hat, "interval_95": list(_rates.interval(k, n)),
                              "upper_95": p_upper},
                "per_pair": {"rate": counts["pair_matches"] / counts["pairs"],
                             "interval_95": list(_rates.interval(counts["pair_matches"],
                                                                 counts["pairs"])),
                             "upper_95": pair_upper},
                "account": level,
                "curve": curve}))
    return outcomes
