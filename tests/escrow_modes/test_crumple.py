"""The crumple mode: puzzle lock, solver, hook (byte-for-byte check) and recovery with work."""

import functools
import os
import threading
from concurrent.futures import Future
from dataclasses import replace

import pytest

from escrow.crumple.hook import CrumpleEscrow, puzzle_bits_of
from escrow.crumple.puzzle import PuzzleError, answer_of, lock, puzzle_for
from escrow.crumple.recovery import recover
from escrow.crumple.solver import SolverPool
from escrow.errors import InsufficientSharesError, RecordFormatError, RecoveryError
from escrow.record import parse_record
from escrow.recovery import recover as threshold_recover
from messaging.errors import HookRefusedError
from messaging.wire import parse_envelope
from tests.escrow.helpers import case, conversation, make_custodians, make_set
from tests.escrow_modes.helpers import chain_context

BITS = 8


def crumple_case(bits=BITS, **kwargs):
    return case(hook_class=functools.partial(CrumpleEscrow, puzzle_bits=bits), **kwargs)


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
    assert puzzle_bits_of(record) == BITS


def test_a_recipient_with_another_puzzle_size_refuses_the_chain():
    custodians = make_custodians(3)
    cset = make_set(custodians, 2)
    with pytest.raises(HookRefusedError, match="8-bit puzzle; this client enforces k=9"):
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


def test_recovery_reads_k_from_the_records_not_from_the_hook():
    c = crumple_case()
    other_k = CrumpleEscrow(c.hook.custodian_set, BITS + 2)
    report = recover(other_k, c.conv.archive, "C1", c.start, c.end, c.releases(),
                     c.recovery_key, c.conv.identity_of)
    assert report.messages_recovered == report.messages_in_scope > 0
    assert report.puzzle_bits == BITS
    assert {w.puzzle_bits for w in report.chain_work} == {BITS}
    assert all(1 <= w.work <= 1 << BITS for w in report.chain_work)


def test_a_crumple_record_without_its_k_is_a_format_error():
    c = crumple_case(days=4)
    record = parse_record(parse_envelope(c.conv.archive[0].envelope).header.record)
    for parameters in (b"", b"\x00", b"\x08\x08", bytes((33,))):
        with pytest.raises(RecordFormatError):
            puzzle_bits_of(replace(record, parameters=parameters))


def test_recovery_reads_exactly_the_window_and_reports_work_per_chain():
    c = crumple_case()
    report = recover(c.hook, c.conv.archive, "C1", c.start, c.end, c.releases(),
                     c.recovery_key, c.conv.identity_of)
    assert report.messages_recovered == report.messages_in_scope > 0
    assert all(c.start <= m.received_at < c.end for m in report.messages)
    assert len(report.chain_work) == len({s.ref.record_digest for s in c.scoped})
    assert all(1 <= w.work <= 1 << BITS for w in report.chain_work)
    assert report.to_json()["expected_work_per_chain"] == 1 << (BITS - 1)
    assert report.culprits == ()


def test_recovery_with_two_worker_processes_reads_the_same_messages():
    c = crumple_case(days=4)
    one = recover(c.hook, c.conv.archive, "C1", c.start, c.end, c.releases(), c.recovery_key,
                  c.conv.identity_of)
    with SolverPool(2, chunk=64) as pool:
        two = recover(c.hook, c.conv.archive, "C1", c.start, c.end, c.releases(),
                      c.recovery_key, c.conv.identity_of, pool=pool)
    assert [m.plaintext for m in one.messages] == [m.plaintext for m in two.messages]
    assert two.workers == 2


def test_recovery_with_fewer_than_t_releases_fails_clearly():
    c = crumple_case(days=4)
    with pytest.raises(InsufficientSharesError):
        recover(c.hook, c.conv.archive, "C1", c.start, c.end,
                c.releases(c.custodians[:2]), c.recovery_key, c.conv.identity_of)


def test_the_threshold_recovery_refuses_a_crumple_secret_instead_of_guessing():
    c = crumple_case(days=4)
    with pytest.raises(RecoveryError, match="puzzle"):
        threshold_recover(c.hook, c.conv.archive, "C1", c.start, c.end, c.releases(),
                          c.recovery_key, c.conv.identity_of)


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
