"""The matcher's decoder (docs/css_matcher.md, "Decoding through synthetic shares"): an
account whose device sent r real matching vouchers and s synthetic ones opens by the
Reed-Solomon decoder, without a subset search, when r - s >= t; below that bound the decoder
cannot decide and the bounded search is the only way in; the view records which opened it."""

import random

import pytest

from escrow.css import matcher, vouchers
from tests.css.helpers import outside_hash, small_world


class Script(random.Random):
    """A device's coin that makes exactly the scripted vouchers synthetic."""

    def __init__(self, synthetic: list[bool]) -> None:
        super().__init__(0)
        self._script = list(synthetic)

    def random(self) -> float:
        return 0.0 if self._script.pop(0) else 0.99


def account(threshold: int, real: int, synthetic: int, max_combinations: int,
            shuffle: int | None = None):
    """(view, client) of one account whose device sends ``synthetic`` synthetic vouchers and
    ``real`` real matching ones, the synthetic ones first unless ``shuffle`` seeds an order."""
    db, secret, table = small_world()
    order = [True] * synthetic + [False] * real
    if shuffle is not None:
        random.Random(shuffle).shuffle(order)
    client = vouchers.VoucherClient(table, threshold, synthetic_rate=0.5, rng=Script(order))
    provider = matcher.Matcher(secret, threshold, max_combinations=max_combinations)
    matches = iter(db.hashes)
    for i, is_synthetic in enumerate(order):
        image = outside_hash() if is_synthetic else next(matches)
        provider.submit("alice", client.voucher(image, b"d%d" % i))
    assert client.synthetic_issued == synthetic
    return provider.view("alice")


@pytest.mark.parametrize("threshold,synthetic", [(3, 1), (3, 4), (6, 3)])
def test_at_r_minus_s_equal_to_t_the_decoder_opens_without_a_search(threshold, synthetic):
    view = account(threshold, threshold + synthetic, synthetic, max_combinations=1)
    assert view.revealed and view.opened_by == (matcher.DECODER,)
    assert len(view.derivatives) == threshold + synthetic
    assert view.known_synthetic == synthetic
    # the synthetic vouchers came first: each time the decoder could not decide yet, the
    # one-subset search tried a subset holding a synthetic share
    assert view.combinations == view.decodings - 1


@pytest.mark.parametrize("threshold,synthetic", [(3, 1), (3, 4), (6, 3)])
def test_below_the_bound_the_decoder_cannot_decide_and_only_the_search_opens(threshold,
                                                                           synthetic):
    real = threshold + synthetic - 1
    blocked = account(threshold, real, synthetic, max_combinations=1)
    assert not blocked.revealed and blocked.opened_by == () and blocked.derivatives == ()
    assert blocked.decodings == real + synthetic - threshold + 1
    searched = account(threshold, real, synthetic, max_combinations=matcher.MAX_COMBINATIONS)
    assert searched.revealed and searched.opened_by == (matcher.SEARCH,)
    assert len(searched.derivatives) == real and searched.combinations > 0


def test_in_any_order_the_decoder_opens_once_r_minus_s_reaches_t():
    for seed in range(4):
        view = account(4, 7, 3, max_combinations=1, shuffle=seed)
        assert view.revealed and len(view.derivatives) == 7 and view.known_synthetic == 3
        assert len(view.opened_by) == 1


def test_without_synthetic_vouchers_the_decoder_opens_at_t():
    view = account(5, 5, 0, max_combinations=1)
    assert view.opened_by == (matcher.DECODER,) and view.decodings == 1
    assert view.combinations == 0


def test_a_coordinate_sent_twice_is_left_out_of_the_decoder():
    db, secret, table = small_world()
    client = vouchers.VoucherClient(table, 3)
    provider = matcher.Matcher(secret, 3, max_combinations=1)
    provider.submit("mallory", client.voucher(db.hashes[0], b"first"))
    client._next_x -= 1  # a modified device: the next voucher reuses x = 1
    provider.submit("mallory", client.voucher(db.hashes[1], b"again"))
    for i in range(2, 5):
        provider.submit("mallory", client.voucher(db.hashes[i], b"m%d" % i))
    view = provider.view("mallory")
    assert view.opened_by == (matcher.DECODER,)
    assert len(view.derivatives) == 5  # both vouchers at x = 1 are real and open
