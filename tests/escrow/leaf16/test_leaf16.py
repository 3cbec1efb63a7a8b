"""The leaf16 mode: EES units and agents, the LEAF layout, the opaque module, hook and recovery."""

import pickle
import random

import pytest
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from escrow.leaf16.errors import EscrowAgentError, Leaf16Error, LeafFormatError, LeafRecoveryError
from escrow.leaf16.forgery import forge_with_family_key, mean_queries_interval
from escrow.leaf16.hook import Leaf16Escrow
from escrow.leaf16.leaf import LEAF_LENGTH, FamilyKey, open_body, parse_leaf, seal_leaf
from escrow.leaf16.module import LeafModule
from escrow.leaf16.recovery import recover_chain_key
from escrow.leaf16.unit import (
    EscrowAgent,
    Unit,
    combine_components,
    program_unit,
    release_unit_key,
    split_unit_key,
)
from escrow.scope import FORGED
from messaging.errors import HookRefusedError
from messaging.hooks import open_message
from messaging.wire import parse_envelope
from tests.builders import chain_context, session_pair
from tests.escrow.leaf16.helpers import ees_world


def test_unit_key_components_xor_to_the_key_and_each_alone_differs():
    key = bytes(range(32))
    first, second = split_unit_key(key)
    assert combine_components(first, second) == key
    assert key not in (first, second)
    assert split_unit_key(key)[0] != first


def test_programming_deposits_one_component_with_each_agent():
    agents = (EscrowAgent("NIST"), EscrowAgent("Treasury"))
    unit = program_unit(agents, 0x0102_0304)
    wrapped = aes_key_wrap(unit.unit_key, bytes(range(32)))
    assert release_unit_key(agents, unit.unit_id, wrapped, "case 1") == unit.unit_key
    assert [r.case for r in agents[0].releases] == ["case 1"]
    assert [r.case for r in agents[1].releases] == ["case 1"]
    assert "unit_key" not in repr(unit)


def test_agents_release_a_unit_key_only_for_a_leaf_that_unwraps_under_it():
    agents = (EscrowAgent("NIST"), EscrowAgent("Treasury"))
    unit, other = program_unit(agents, 1), program_unit(agents, 2)
    for wrapped in (aes_key_wrap(other.unit_key, bytes(32)), bytes(40), bytes(24)):
        with pytest.raises(EscrowAgentError, match="does not unwrap"):
            release_unit_key(agents, unit.unit_id, wrapped, "case")
    assert agents[0].releases == agents[1].releases == []


@pytest.mark.parametrize("bad", [-1, 1 << 32, "7", True])
def test_unit_ids_are_32_bit(bad):
    with pytest.raises(Leaf16Error):
        Unit(bad, bytes(32))


def test_agents_refuse_duplicates_unknown_units_and_unnamed_cases():
    agents = (EscrowAgent("NIST"), EscrowAgent("Treasury"))
    unit = program_unit(agents, 5)
    with pytest.raises(EscrowAgentError):
        program_unit(agents, 5)
    wrapped = aes_key_wrap(unit.unit_key, bytes(32))
    with pytest.raises(EscrowAgentError):
        release_unit_key(agents, 6, wrapped, "case")
    with pytest.raises(EscrowAgentError):
        release_unit_key(agents, unit.unit_id, wrapped, " ")
    assert agents[0].releases == []
    with pytest.raises(Leaf16Error):
        program_unit((agents[0], agents[0]))


def test_a_leaf_has_the_documented_layout():
    world = ees_world()
    leaf = world.module(0xDEADBEEF).make_leaf(chain_context())
    assert len(leaf) == LEAF_LENGTH == 66
    parsed = parse_leaf(leaf)
    assert parsed.width == 16
    assert world.decryptor().read(leaf).unit_id == 0xDEADBEEF


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r[:-1],
        lambda r: r + b"\0",
        lambda r: b"\x01" + r[1:],
        lambda r: r[:1] + b"\x11" + r[2:],
        lambda r: b"",
    ],
    ids=["truncated", "trailing", "version", "width", "empty"],
)
def test_malformed_leafs_raise_format_errors(mutate):
    world = ees_world()
    module, context = world.module(), chain_context()
    with pytest.raises(LeafFormatError):
        module.validate_leaf(mutate(module.make_leaf(context)), context)


def test_a_recipient_module_validates_a_sender_modules_leaf():
    world = ees_world()
    context = chain_context()
    assert world.module().validate_leaf(world.module().make_leaf(context), context)


def test_leafs_are_fresh_per_chain_and_unlinkable_without_the_family_key():
    module = ees_world().module()
    context = chain_context()
    assert module.make_leaf(context) != module.make_leaf(context)


def test_a_leaf_does_not_validate_for_another_chain_family_or_width():
    world = ees_world(width=32)
    context = chain_context()
    leaf = world.module().make_leaf(context)
    recipient = world.module()
    for other in (
        chain_context(chain_key=b"\1" * 32),
        chain_context(chain_number=1, chain_key=context.chain_key),
        chain_context(conversation_id="C2", chain_key=context.chain_key),
    ):
        assert not recipient.validate_leaf(leaf, other)
    assert not ees_world(width=32).module().validate_leaf(leaf, context)
    with pytest.raises(LeafFormatError):
        LeafModule(world.family_key, program_unit(world.agents), 16).validate_leaf(leaf, context)


def test_the_module_exposes_only_make_validate_and_width():
    world = ees_world()
    module = world.module()
    public = {name for name in dir(module) if not name.startswith("_")}
    assert public == {"make_leaf", "validate_leaf", "width"}
    assert repr(module) == "LeafModule(width=16)"
    with pytest.raises(TypeError):
        pickle.dumps(module)
    with pytest.raises(TypeError):
        pickle.dumps(world.family_key)
    assert "secret" in repr(world.family_key)


@pytest.mark.parametrize("width", [8, 16, 24, 32])
def test_every_supported_width_round_trips(width):
    world = ees_world(width)
    context = chain_context()
    leaf = world.module().make_leaf(context)
    assert parse_leaf(leaf).width == width
    assert world.module().validate_leaf(leaf, context)


@pytest.mark.parametrize("width", [0, 12, 20, 40, True])
def test_unsupported_widths_are_refused(width):
    with pytest.raises(Leaf16Error):
        ees_world(width).module()


def test_the_hook_refuses_missing_malformed_and_mismatched_leafs_with_clear_errors():
    world = ees_world(width=32)
    hook = world.hook()
    context = chain_context()
    leaf = world.module().make_leaf(context)
    hook.check_chain(context, leaf)
    for record, words in (
        (b"", "no LEAF"),
        (leaf[:-3], "66 bytes"),
        (world.module().make_leaf(chain_context()), "checksum does not match"),
    ):
        with pytest.raises(HookRefusedError, match=words):
            hook.check_chain(context, record)


def test_lawful_recovery_follows_the_ees_path_and_logs_both_releases():
    world = ees_world()
    context = chain_context()
    module = world.module(0x00C0FFEE)
    recovered = recover_chain_key(world.decryptor(), module.make_leaf(context), world.agents, "W-1")
    assert recovered.unit_id == 0x00C0FFEE
    assert recovered.chain_key == context.chain_key
    assert [(r.unit_id, r.case) for r in world.agents[1].releases] == [(0x00C0FFEE, "W-1")]
    assert context.chain_key.hex() not in repr(recovered)


def test_recovery_of_a_leaf_for_a_real_unit_with_a_garbage_key_fails_at_the_unwrap():
    world = ees_world()
    unit = program_unit(world.agents, 77)
    context = chain_context()
    garbage = aes_key_wrap(bytes(32), bytes(32))
    forged = seal_leaf(world.family_key, context, 16, bytes(16), unit.unit_id, garbage)
    assert world.module().validate_leaf(forged, context)
    with pytest.raises(LeafRecoveryError, match="does not unwrap"):
        recover_chain_key(world.decryptor(), forged, world.agents, "W-2")


def test_recovery_of_a_leaf_naming_an_unknown_unit_fails_clearly():
    world = ees_world()
    context = chain_context()
    forged = forge_with_family_key(world.family_key, context, 16, rng=random.Random(3))
    with pytest.raises(LeafRecoveryError, match="release nothing: agent NIST holds no component"):
        recover_chain_key(world.decryptor(), forged, world.agents, "W-3")


def test_a_leaf16_conversation_is_recoverable_message_by_message():
    world = ees_world()
    pair = session_pair(world.hook(), world.hook())
    archive = [pair.first_envelope]
    for i in range(3):
        envelope = pair.alice.encrypt(b"a%d" % i)
        archive.append(envelope)
        assert pair.bob.decrypt(envelope) == b"a%d" % i
        reply = pair.bob.encrypt(b"b%d" % i)
        assert pair.alice.decrypt(reply) == b"b%d" % i
    from_alice = [parse_envelope(raw) for raw in archive]
    assert len({env.header.record for env in from_alice}) == 3  # chains 0, 0, 1, 2
    for i, env in enumerate(from_alice):
        chain = recover_chain_key(world.decryptor(), env.header.record, world.agents, "W-4")
        plain = open_message(chain.chain_key, env, pair.alice_identity.public,
                             pair.bob_identity.public)
        assert plain == (b"hello" if i == 0 else b"a%d" % (i - 1))


def test_a_different_family_cannot_talk_to_this_one():
    world, other = ees_world(width=32), ees_world(width=32)
    with pytest.raises(HookRefusedError):
        session_pair(world.hook(), other.hook())


def test_the_hook_needs_a_module():
    with pytest.raises(Leaf16Error):
        Leaf16Escrow(FamilyKey.generate())


def test_the_interval_for_the_mean_contains_theory_and_narrows_with_more_forgeries():
    lo8, hi8 = mean_queries_interval(16, 8)
    lo1000, hi1000 = mean_queries_interval(16, 1000)
    assert lo8 < lo1000 < 2**16 < hi1000 < hi8
    assert hi1000 / lo1000 < 1.5


def test_archive_recovery_reads_exactly_the_window_and_names_both_units():
    from escrow.leaf16.recovery import recover
    from tests.escrow.helpers import DAY, chatter, conversation

    world = ees_world()
    conv = conversation(world.hook(0xA11CE), world.hook(0xB0B))
    day0 = conv.clock.now()
    chatter(conv, days=6, per_day=4, ratchet_every=3)
    start, end = day0 + 3 * DAY, day0 + 5 * DAY
    report = recover(world.decryptor(), world.agents, conv.relay_archive(), "C1", start, end,
                     "W-5")
    expected = sum(start <= e.received_at < end for e in conv.archive)
    assert report.messages_recovered == report.messages_in_scope == expected
    assert all(start <= m.received_at < end for m in report.messages)
    assert set(report.unit_ids) == {0xA11CE, 0xB0B}
    assert report.to_json()["chains_recovered"] == report.chains_recovered >= 2


def test_archive_recovery_names_the_chain_whose_leaf_is_forged():
    from escrow.leaf16.forgery import ForgingLeafSender, extract_family_key
    from escrow.leaf16.recovery import recover
    from tests.escrow.helpers import conversation

    world = ees_world()
    module = world.module()
    conv = conversation(ForgingLeafSender(module, family_key=extract_family_key(module)),
                        world.hook())
    conv.send("bob", b"bob's chains escrow honestly")
    report = recover(world.decryptor(), world.agents, conv.relay_archive(), "C1", 0, 2e9,
                     "W-6")
    forged = [c for c in report.chains if c.outcome == FORGED]
    assert [c.chain for c in forged] == ["C1 alice:1->bob:1 chain 0"]
    assert "release nothing" in forged[0].reason
    assert report.chains_recovered == 1 and report.messages_recovered == 1


def test_the_decrypted_leaf_body_shows_no_wrapped_key_in_its_repr():
    family_key = FamilyKey.generate()
    wrapped = bytes(range(40))
    leaf = seal_leaf(family_key, chain_context(), 16, bytes(16), 7, wrapped)
    fields = open_body(family_key, parse_leaf(leaf))
    assert fields.wrapped_chain_key == wrapped
    assert wrapped.hex() not in repr(fields) and repr(wrapped) not in repr(fields)
