"""The crumple mode: puzzle lock, solver, hook (byte-for-byte check) and recovery with work."""

import functools
import os
import threading
from concurrent.futures import Future
from dataclasses import replace

import pytest

from escrow.authorisation import RecordRef
from escrow.context import RecordContext
from escrow.crumple.hook import CrumpleEscrow
from escrow.crumple.puzzle import PuzzleError, answer_of, lock, puzzle_for
from escrow.crumple.recovery import recover
from escrow.crumple.solver import SolverPool
from escrow.errors import RecordRefusedError, RecoveryError
from escrow.record import parse_record, record_digest
from escrow.release import release_share
from escrow.scope import FORGED, NOT_RELEASED, ScopedRecord
from messaging.errors import HookRefusedError
from messaging.wire import parse_envelope
from tests.builders import chain_context
from tests.escrow.helpers import DAY, Entry, case, conversation, make_custodians, make_set

BITS = 8


def crumple_case(bits=BITS, **kwargs):
    return case(hook_class=functools.partial(CrumpleEscrow, puzzle_bits=bits), **kwargs)


def crumple_recover(c, releases=None, hook=None, archive=None, authorisation=None, pool=None):
    return recover(hook or c.hook, archive or c.archive, "C1", c.start, c.end,
                   c.releases() if releases is None else releases, c.recovery_key, pool,
                   authorisation=authorisation or c.authorisation)


def test_the_lock_is_deterministic_and_bound_to_key_size_and_context():
    key = os.urandom(32)
    assert lock(key, 12, b"ctx") == lock(key, 12, b"ctx")
    assert lock(key, 12, b"ctx") != lock(key, 13, b"ctx")
    assert lock(key, 12, b"ctx") != lock(key, 12, b"other")
    assert lock(key, 12, b"ctx") != key


@pytest.mark.parametrize("workers", [1, 2])
def test_the_solver_finds_the_key_and_sequential_work_is_answer_plus_false_trials(workers):
    key, binding = os.urandom(32), b"chain"
    puzzle = puzzle_for(lock(key, 12, binding), 12, binding)
    with SolverPool(workers, chunk=512) as pool:
        solution = pool.solve(puzzle, lambda candidate: candidate == key)
    assert solution.chain_key == key
    if workers == 1:
        assert solution.work == answer_of(key, 12, binding) + 1
    assert solution.work <= 1 << 12


def test_a_locked_key_under_another_context_never_solves():
    key = os.urandom(32)
    puzzle = puzzle_for(lock(key, 8, b"chain A"), 8, b"chain B")
    with pytest.raises(PuzzleError, match="no answer"):
        SolverPool(1).solve(puzzle, lambda candidate: candidate == key)


@pytest.mark.parametrize("bits", [0, 33, True, "8"])
def test_puzzle_sizes_out_of_range_are_refused(bits):
    custodians = make_custodians(3)
    with pytest.raises(PuzzleError):
        CrumpleEscrow(make_set(custodians, 2), puzzle_bits=bits)


def test_records_have_the_threshold_layout_with_mode_crumple_and_a_32_byte_secret():
    c = crumple_case(days=4)
    record = parse_record(parse_envelope(c.conv.archive[0].envelope).header.record)
    assert record.mode == "crumple"
    assert record.secret_length == 32


def test_every_record_states_its_puzzle_size():
    c = crumple_case(days=4)
    record = parse_record(parse_envelope(c.conv.archive[0].envelope).header.record)
    assert record.parameters == bytes((BITS,))


def test_a_recipient_with_another_puzzle_size_refuses_the_chain():
    custodians = make_custodians(3)
    cset = make_set(custodians, 2)
    with pytest.raises(HookRefusedError, match="8-bit puzzle; this deployment pins k=9"):
        conversation(CrumpleEscrow(cset, 8), CrumpleEscrow(cset, 9))


def test_a_record_whose_stated_k_was_edited_is_refused():
    c = crumple_case(days=4)
    custodian_set = c.hook.custodian_set
    sender = _Tampering(custodian_set, BITS)
    conv = conversation(sender, CrumpleEscrow(custodian_set, BITS))
    conv.send("bob", b"reply")
    sender.tamper = lambda record, context: replace(
        parse_record(record), parameters=bytes((BITS + 1,))).encode()
    envelope = conv.alice.encrypt(b"next chain")
    before = conv.bob.serialize()
    with pytest.raises(HookRefusedError, match=f"{BITS + 1}-bit puzzle"):
        conv.bob.decrypt(envelope)
    assert conv.bob.serialize() == before


def test_a_deployment_with_another_k_reports_the_records_and_solves_nothing():
    c = crumple_case()
    other_k = CrumpleEscrow(c.hook.custodian_set, BITS + 2)
    report = crumple_recover(c, hook=other_k)
    assert report.messages_recovered == 0 and report.chain_work == ()
    assert report.outcome_counts()[FORGED] == len(report.chains) > 0
    assert all(f"{BITS}-bit puzzle; this deployment pins k={BITS + 2}" in chain.reason
               for chain in report.chains)


def test_a_crumple_record_without_the_pinned_k_is_refused_by_the_record_check():
    c = crumple_case(days=4)
    record = parse_record(parse_envelope(c.conv.archive[0].envelope).header.record)
    for parameters in (b"", b"\x00", b"\x08\x08", bytes((33,)), bytes((BITS + 1,))):
        with pytest.raises(RecordRefusedError, match="this deployment pins"):
            c.hook.check_record(replace(record, parameters=parameters).encode())


def _k31_envelope(c) -> bytes:
    """Alice's next chain as she could send it: a record made, properly, with a 31-bit
    puzzle for its own context (cheap to make: locking costs one HMAC)."""
    genuine = parse_envelope(c.scoped[0].envelope)
    header = replace(genuine.header, chain_number=genuine.header.chain_number + 1000,
                     record=b"", message_number=0, previous_chain_length=0)
    unrecorded = replace(genuine, header=header)
    context = RecordContext.of_envelope(unrecorded).with_chain_key(os.urandom(32))
    record = CrumpleEscrow(c.hook.custodian_set, 31).build(context).record
    return replace(unrecorded, header=replace(header, record=record)).encode()


def test_a_recipient_refuses_a_record_made_with_k_31():
    c = crumple_case(days=4)
    envelope = parse_envelope(_k31_envelope(c))
    context = RecordContext.of_envelope(envelope).with_chain_key(os.urandom(32))
    with pytest.raises(RecordRefusedError, match="31-bit puzzle; this deployment pins k=8"):
        c.hook.check_chain(context, envelope.header.record)


def test_a_record_with_k_31_in_the_window_is_reported_and_costs_no_solving_work():
    """Named in the authorisation and released by t custodians (its shares do open): the
    recovery still refuses to solve it, because the deployment pins k."""
    c = crumple_case(days=4)
    injected = _k31_envelope(c)
    archive = c.conv.relay_archive([Entry(injected, c.start + 1)])
    context = RecordContext.of_envelope(parse_envelope(injected))
    ref = RecordRef("C1", context.sender, context.recipient, context.chain_number,
                    record_digest(parse_envelope(injected).header.record), context.digest())
    scoped = [*c.scoped, ScopedRecord(ref, injected)]
    authorisation = c.issuer.authorise(scoped, c.recovery_key, c.conv.clock.now() + DAY, "A-31")
    releases = [release_share(k, c.hook.custodian_set, authorisation, c.issuer.verifier(),
                              s.envelope, c.conv.clock)
                for k in c.custodians[:3] for s in scoped]
    clean = crumple_recover(c)
    report = crumple_recover(c, releases, archive=archive, authorisation=authorisation)
    assert report.chains_recovered == clean.chains_recovered == len(c.scoped)
    assert report.messages_recovered == clean.messages_recovered
    refused = [chain for chain in report.chains if chain.outcome == FORGED]
    assert len(refused) == 1 and "31-bit puzzle; this deployment pins k=8" in refused[0].reason
    assert len(report.chain_work) == len(c.scoped)  # no work on the k = 31 chain
    assert {w.puzzle_bits for w in report.chain_work} == {BITS}
    assert report.total_work <= len(c.scoped) << BITS


def test_recovery_reads_exactly_the_window_and_reports_work_per_chain():
    c = crumple_case()
    report = crumple_recover(c)
    assert report.messages_recovered == report.messages_in_scope > 0
    assert all(c.start <= m.received_at < c.end for m in report.messages)
    assert len(report.chain_work) == len({s.ref.record_digest for s in c.scoped})
    assert all(1 <= w.work <= 1 << BITS for w in report.chain_work)
    assert report.to_json()["expected_work_per_chain"] == 1 << (BITS - 1)
    assert report.culprits == ()


def test_recovery_with_two_worker_processes_reads_the_same_messages():
    c = crumple_case(days=4)
    one = crumple_recover(c)
    with SolverPool(2, chunk=64) as pool:
        two = crumple_recover(c, pool=pool)
    assert [m.plaintext for m in one.messages] == [m.plaintext for m in two.messages]
    assert two.workers == 2


def test_recovery_with_fewer_than_t_releases_reports_every_chain_not_released():
    c = crumple_case(days=4)
    report = crumple_recover(c, c.releases(c.custodians[:2]))
    assert report.chain_work == () and report.messages_recovered == 0
    assert {chain.outcome for chain in report.chains} == {NOT_RELEASED}


def test_the_threshold_recovery_refuses_a_crumple_secret_instead_of_guessing():
    c = crumple_case(days=4)
    with pytest.raises(RecoveryError, match="puzzle"):
        c.recover(c.releases())


@pytest.mark.parametrize("workers", [1, 2])
def test_self_consistent_wrong_answers_are_skipped_until_the_key_is_confirmed(workers):
    false = 0
    with SolverPool(workers, chunk=3) as pool:
        for i in range(60):
            key, binding = os.urandom(32), b"tiny %d" % i
            puzzle = puzzle_for(lock(key, 4, binding), 4, binding)
            solution = pool.solve(puzzle, lambda candidate, k=key: candidate == k)
            assert solution.chain_key == key
            false += solution.false_candidates
    assert false > 0  # at 4 bits a wrong answer is self-consistent 1 time in 16


class _Tampering(CrumpleEscrow):
    """A modified crumple sender: the real record, then ``tamper`` once it is set."""

    def __init__(self, custodian_set, puzzle_bits):
        super().__init__(custodian_set, puzzle_bits)
        self.tamper = None

    def record_for_chain(self, context):
        record = super().record_for_chain(context)
        return self.tamper(record, context) if self.tamper else record


@pytest.mark.parametrize("variant", ["missing", "zeroed", "truncated", "random", "other chain",
                                     "other k"])
def test_s14_stripped_or_altered_crumple_records_are_refused_with_state_unchanged(variant):
    custodian_set = make_set(make_custodians(3), 2)
    other_k = CrumpleEscrow(custodian_set, 9)

    def tamper(record, context):
        return {
            "missing": lambda: b"",
            "zeroed": lambda: bytes(len(record)),
            "truncated": lambda: record[:-1],
            "random": lambda: os.urandom(len(record)),
            "other chain": lambda: CrumpleEscrow(custodian_set, 8).record_for_chain(
                replace(context, chain_key=os.urandom(32))),
            "other k": lambda: other_k.record_for_chain(context),
        }[variant]()

    sender = _Tampering(custodian_set, 8)
    conv = conversation(sender, CrumpleEscrow(custodian_set, 8))
    conv.send("bob", b"reply")
    sender.tamper = tamper
    envelope = conv.alice.encrypt(b"next chain")
    before = conv.bob.serialize()
    with pytest.raises(HookRefusedError):
        conv.bob.decrypt(envelope)
    assert conv.bob.serialize() == before


class _StallingExecutor:
    """Runs every chunk at once except the one holding ``answer``, which finishes only after
    ``delay`` seconds: a worker the OS deschedules while the other keeps going."""

    def __init__(self, answer, delay=0.2):
        self.answer, self.delay, self.timers = answer, delay, []

    def submit(self, fn, puzzle, start, stop):
        future = Future()
        if start <= self.answer < stop:
            timer = threading.Timer(self.delay,
                                    lambda: future.set_result(fn(puzzle, start, stop)))
            self.timers.append(timer)
            timer.start()
        else:
            future.set_result(fn(puzzle, start, stop))
        return future

    def shutdown(self, cancel_futures=False):
        for timer in self.timers:
            timer.join()


def test_a_stalled_worker_does_not_let_the_others_run_unbounded_work():
    bits, chunk, binding = 14, 256, b"stall"
    key = next(k for k in iter(lambda: os.urandom(32), None)
               if answer_of(k, bits, binding) < 1024)
    puzzle = puzzle_for(lock(key, bits, binding), bits, binding)
    pool = SolverPool(2, chunk=chunk)
    pool.close()
    pool._executor = _StallingExecutor(answer_of(key, bits, binding))
    solution = pool.solve(puzzle, lambda candidate: candidate == key)
    pool.close()
    assert solution.chain_key == key
    sequential = SolverPool(1, chunk=chunk).solve(puzzle, lambda candidate: candidate == key)
    assert solution.work <= sequential.work + (2 * 2 + 1) * chunk


def test_a_chain_key_that_cannot_be_locked_is_refused_not_crashed():
    hook = CrumpleEscrow(make_set(make_custodians(3), 2), BITS)
    context = chain_context(mode="crumple")
    record = hook.record_for_chain(context)
    with pytest.raises(HookRefusedError, match="cannot recompute"):
        hook.check_chain(replace(context, chain_key=bytes(34)), record)
