"""Properties (hypothesis): strict LEAF parsing, and the crumple lock always solving to its key."""

from hypothesis import given, settings
from hypothesis import strategies as st

from escrow.crumple.puzzle import answer_of, lock, puzzle_for
from escrow.crumple.solver import SolverPool
from escrow.leaf16.errors import LeafFormatError
from tests.builders import chain_context
from tests.escrow.leaf16.helpers import ees_world

WORLD = ees_world(16)
MODULE = WORLD.module()
CONTEXT = chain_context()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=100))
def test_any_bytes_are_either_judged_or_refused_as_malformed(record):
    try:
        verdict = MODULE.validate_leaf(record, CONTEXT)
    except LeafFormatError:
        return
    assert isinstance(verdict, bool)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=66, max_size=66).map(lambda b: b"\x02\x10" + b[2:]))
def test_well_formed_leafs_with_random_bodies_decrypt_to_some_unit(record):
    assert 0 <= WORLD.decryptor().read(record).unit_id < 2**32


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.integers(1, 10), st.binary(max_size=40))
def test_a_locked_key_solves_to_itself_after_answer_plus_one_trials(key, bits, binding):
    puzzle = puzzle_for(lock(key, bits, binding), bits, binding)
    solution = SolverPool(1).solve(puzzle, lambda candidate: candidate == key)
    assert solution.chain_key == key
    assert solution.work == answer_of(key, bits, binding) + 1
