"""The review after the threshold: the second hash filters derivatives, the seeded reviewer
errs at its rate, and only confirmed accounts reach the sink."""

import numpy
import pytest

from escrow.css import matcher, review, vouchers
from escrow.css.errors import ReviewError
from tests.css.helpers import small_world


class MeanHasher:
    """A stand-in 16-bit hasher: one bit per 4x4 block, set if the block is above the mean
    (the test's own, so the review does not depend on the real hashers)."""

    name = "mean16"
    bits = 16
    threshold = 2

    def hash(self, image):
        blocks = image.reshape(4, image.shape[0] // 4, 4, image.shape[1] // 4).mean(axis=(1, 3))
        bits = (blocks > blocks.mean()).flatten()
        return int("".join("1" if b else "0" for b in bits), 2).to_bytes(2, "big")


def decode(data: bytes):
    return numpy.frombuffer(data, dtype=numpy.uint8).reshape(8, 8)


def picture(seed: int) -> numpy.ndarray:
    return numpy.random.default_rng(seed).integers(0, 256, (8, 8), dtype=numpy.uint8)


def test_the_second_hash_passes_near_copies_and_stops_other_images():
    target = picture(1)
    second = review.SecondHash(MeanHasher(), [target], decode)
    assert second.matches(target.tobytes())
    assert not second.matches((255 - target).tobytes())


def test_review_reports_only_confirmed_second_hash_matches():
    target = picture(1)
    truth = {target.tobytes()}
    second = review.SecondHash(MeanHasher(), [target], decode)
    sink = review.ReportSink()
    honest = review.Review(second, review.SimulatedReviewer(lambda d: d in truth), sink)
    outcome = honest.review("alice", [target.tobytes(), (255 - target).tobytes()])
    assert (outcome.derivatives, outcome.second_hash_matches, outcome.confirmed) == (2, 1, 1)
    assert sink.reports == [outcome.report]
    framed = honest.review("bob", [(255 - target).tobytes()])
    assert framed.report is None and len(sink.reports) == 1


def test_the_reviewer_errs_at_its_configured_rate_reproducibly():
    def run(seed):
        reviewer = review.SimulatedReviewer(lambda d: False, error_rate=0.2, seed=seed)
        return [reviewer.confirms(b"x") for _ in range(2000)]
    assert run(4) == run(4)
    assert 0.17 < sum(run(4)) / 2000 < 0.23
    with pytest.raises(ReviewError):
        review.SimulatedReviewer(lambda d: True, error_rate=1.5)


def test_hashes_of_other_lengths_are_refused():
    with pytest.raises(ReviewError):
        review.hamming(b"\x00", b"\x00\x00")
    assert review.hamming(b"\x0f", b"\x00") == 4


def test_from_vouchers_to_a_report_and_a_framed_account_stopped_by_the_second_hash():
    db, secret, table = small_world(common=20)
    target = picture(1)
    provider = matcher.Matcher(secret, threshold=2)
    sink = review.ReportSink()
    reviewer = review.SimulatedReviewer(lambda d: d == target.tobytes())
    checker = review.Review(review.SecondHash(MeanHasher(), [target], decode), reviewer, sink)
    for account, derivative in (("alice", target), ("framed", 255 - target)):
        device = vouchers.VoucherClient(table, threshold=2)
        for i in range(2):  # hashes in the database: a real match, or a forged collision
            provider.submit(account, device.voucher(db.hashes[i], derivative.tobytes()))
        checker.review(account, provider.derivatives(account))
    assert [r.account for r in sink.reports] == ["alice"]
    assert reviewer.seen == 2  # the framed account's derivatives never reached the reviewer
