"""S15 leaf-forge (docs/scenarios.md): Blaze's 1994 search against the real module and sessions.

A rogue sender with only oracle access to its own module queries random LEAFs
until one validates, sends with it, the honest recipient accepts, and lawful
recovery of that chain then fails. The measured mean is checked against
Blaze's 2^w within a two-sided interval that a correct implementation leaves
with probability 1e-6. The command line (``escrowlab bench escrow-modes``)
runs more forgeries and wider checksums.
"""

import random
import statistics

import pytest

from escrow.leaf16.errors import LeafRecoveryError
from escrow.leaf16.forgery import (
    ForgingLeafSender,
    expected_queries,
    extract_family_key,
    mean_queries_interval,
    random_leaf,
    search_forgery,
)
from escrow.leaf16.recovery import recover_chain_key
from messaging.errors import HookRefusedError
from messaging.wire import parse_envelope
from tests.builders import chain_context, session_pair
from tests.escrow.leaf16.helpers import ees_world

CI_FORGERIES_16 = 10
CI_FORGERIES_8 = 300


@pytest.mark.parametrize("width, forgeries", [(8, CI_FORGERIES_8), (16, CI_FORGERIES_16)])
def test_random_search_forges_a_leaf_in_about_2_to_the_width_queries(width, forgeries):
    world = ees_world(width)
    rogue, recipient = world.module(), world.module()
    counts = []
    for _ in range(forgeries):
        context = chain_context()
        result = search_forgery(rogue, context)
        assert result.found
        assert recipient.validate_leaf(result.record, context)
        counts.append(result.queries)
    low, high = mean_queries_interval(width, forgeries)
    assert low <= statistics.mean(counts) <= high, (counts, expected_queries(width))


def test_a_wider_checksum_resists_the_budget_that_forges_16_bits_several_times():
    world = ees_world(24)
    module, context = world.module(), chain_context()
    rng = random.Random()
    budget = 1 << 17  # twice Blaze's 2^16; expected passes at 24 bits: 2^17 / 2^24 = 1/128
    passes = sum(module.validate_leaf(random_leaf(24, rng), context) for _ in range(budget))
    assert passes <= 2  # P(>= 3 passes) < 1e-7 at 24 bits


def test_the_honest_recipient_accepts_the_forged_chain_and_lawful_recovery_fails():
    world = ees_world()
    rogue = ForgingLeafSender(world.module())
    pair = session_pair(rogue, world.hook(), first=b"meet at noon")
    assert rogue.queries and rogue.queries[0] > 0
    for i in range(3):
        assert pair.bob.decrypt(pair.alice.encrypt(b"m%d" % i)) == b"m%d" % i
    record = parse_envelope(pair.first_envelope).header.record
    with pytest.raises(LeafRecoveryError):
        recover_chain_key(world.decryptor(), record, world.agents, "W-S15")


def test_after_a_dh_step_the_rogue_forges_again_and_is_still_accepted():
    world = ees_world(8)
    rogue = ForgingLeafSender(world.module())
    pair = session_pair(rogue, world.hook())
    assert pair.alice.decrypt(pair.bob.encrypt(b"reply")) == b"reply"
    envelope = pair.alice.encrypt(b"second chain")
    assert pair.bob.decrypt(envelope) == b"second chain"
    assert len(rogue.queries) == 2
    with pytest.raises(LeafRecoveryError):
        recover_chain_key(world.decryptor(), parse_envelope(envelope).header.record,
                          world.agents, "W-S15")


def test_with_the_family_key_extracted_forgery_costs_one_computation():
    world = ees_world()
    module = world.module()
    family_key = extract_family_key(module)
    rogue = ForgingLeafSender(module, family_key=family_key)
    pair = session_pair(rogue, world.hook(), first=b"no oracle needed")
    assert rogue.queries == [0]
    assert pair.bob.decrypt(pair.alice.encrypt(b"m")) == b"m"
    record = parse_envelope(pair.first_envelope).header.record
    with pytest.raises(LeafRecoveryError):
        recover_chain_key(world.decryptor(), record, world.agents, "W-S15")


def _threshold_hooks():
    from escrow.crumple.hook import CrumpleEscrow
    from escrow.threshold.hook import ThresholdEscrow
    from tests.escrow.helpers import make_custodians, make_set

    custodian_set = make_set(make_custodians(5), 3)
    return [ThresholdEscrow(custodian_set), CrumpleEscrow(custodian_set, 8)]


@pytest.mark.parametrize("hook", _threshold_hooks(), ids=lambda h: h.mode)
def test_the_same_search_never_succeeds_against_threshold_and_crumple(hook):
    from escrow.leaf16.forgery import search_random_records

    context = chain_context(mode=hook.mode)
    genuine = hook.record_for_chain(context)
    header = len(genuine) - 5 * (32 + 32 + 16)  # mode, set, t, n, identifier, length

    def accepts(record: bytes) -> bool:
        try:
            hook.check_chain(context, record)
        except HookRefusedError:
            return False
        return True

    assert accepts(genuine)
    random_bytes = search_random_records(accepts, len(genuine), 1 << 16)
    assert not random_bytes.found and random_bytes.queries == 1 << 16
    rng = random.Random()
    well_formed = search_random_records(
        lambda tail: accepts(genuine[:header] + tail), len(genuine) - header, 1 << 11, rng=rng)
    assert not well_formed.found
