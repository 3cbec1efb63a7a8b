"""S17 endpoint-collusion (docs/scenarios.md): escrow binds only users who cooperate.

Pinned, under every escrow mode: two modified clients that skip escrow talk freely and the
warrant recovers nothing, while an honest recipient refuses such chains; with honest
clients, pre-encrypted or hidden payloads are all recovered and none is useful, while the
colluding recipient reads them all. The heuristic detector flags base64 and word-list text
and misses the small-talk mimicry, at a false-positive rate measured on a benign corpus.
"""

import functools
import random

import pytest

from escrowlab.scenarios import _covert
from escrowlab.scenarios.registry import Params, get

MODES = ("threshold", "leaf16", "crumple")


@functools.cache
def outcomes(mode: str) -> dict:
    return {o.variant: o for o in get("S17").run(mode, Params(seed=0))}


@pytest.mark.parametrize("mode", MODES)
def test_cooperating_users_are_read(mode):
    control = outcomes(mode)["cooperating"]
    assert control.holds
    assert control.metrics["exposed_total"] == control.details["sent"] > 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", ("pre-encrypt", "stego-words", "stego-mimic"))
def test_hidden_payloads_are_recovered_but_useless(mode, variant):
    got = outcomes(mode)[variant]
    assert got.holds
    assert got.details["recovered"] == got.details["sent"] == got.details["read_by_recipient"]
    assert got.metrics["exposed_total"] == got.details["useful"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_skipping_escrow_between_colluders_leaves_nothing_to_recover(mode):
    skip = outcomes(mode)["skip-escrow"]
    assert skip.holds
    assert skip.details["read_by_recipient"] == skip.details["sent"]
    assert skip.details["recovered"] == 0
    assert skip.details["scan"]["not_escrowed"] == skip.details["scan"]["chains"]


@pytest.mark.parametrize("mode", MODES)
def test_an_honest_recipient_refuses_chains_without_escrow(mode):
    honest = outcomes(mode)["skip-escrow-to-honest"]
    assert honest.holds and honest.metrics["detectable"] == "recipient"
    assert honest.details["delivered"] == 0
    assert honest.details["refused"] == honest.details["sent"]


def test_the_detector_catches_base64_and_word_lists_but_not_mimicry():
    result = outcomes("threshold")
    assert result["pre-encrypt"].details["detection_rate"] == 1.0
    assert result["stego-words"].details["detection_rate"] == 1.0
    assert result["stego-mimic"].details["detection_rate"] == 0.0
    assert result["cooperating"].details["detection_rate"] == 0.0
    benign = result["cooperating"].details["benign_corpus"]
    assert 0 < benign["flagged"] < benign["messages"] * 0.1


@pytest.mark.parametrize("carrier", sorted(_covert.CARRIERS))
def test_each_carrier_round_trips_and_a_wrong_key_opens_nothing(carrier):
    encode, decode = _covert.CARRIERS[carrier]
    key = _covert.PrivateKey.generate()
    text = encode(key.seal("meet at noon"))
    assert key.open(decode(text)) == "meet at noon"
    with pytest.raises(_covert.CovertError):
        _covert.PrivateKey.generate().open(decode(text))


def test_the_benign_corpus_is_deterministic_from_the_seed():
    assert _covert.benign_corpus(random.Random(7), 50) == \
        _covert.benign_corpus(random.Random(7), 50)
    assert _covert.benign_corpus(random.Random(7), 50) != \
        _covert.benign_corpus(random.Random(8), 50)
