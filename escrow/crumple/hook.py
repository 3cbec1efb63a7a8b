"""The ``crumple`` escrow hook: threshold escrow of a puzzle-locked chain key (docs/architecture.md,
"Escrow modes"; Wright and Varia, "Crypto Crumple Zones", IEEE S&P 2018).

:class:`CrumpleEscrow` is a :class:`escrow.threshold.hook.ThresholdEscrow` whose
escrowed secret is ``lock(CK_0)`` (:mod:`escrow.crumple.puzzle`) instead of
CK_0: the custodians share, release and combine it exactly as in ``threshold``,
and the record layout is the same (mode id ``crumple``). The lock is a
deterministic function of the chain key, the puzzle size k and the context, so
the recipient still recomputes the whole record byte for byte and refuses any
difference.

k is a deployment parameter, pinned like the custodian set: the hook is built
with it, and every record states it in its one mode-parameter byte
(:mod:`escrow.record`), bound into every share's associated data, the
randomness and the puzzle itself. A recipient refuses a record made with
another k by name (:meth:`CrumpleEscrow.check_parameters`, through
``check_record``), and recovery, which screens every archived record the same
way (:mod:`escrow.scope`), reports such a record without solving anything:
whoever sends a record cannot choose what its recovery costs.
"""

from __future__ import annotations

from escrow.context import RecordContext
from escrow.crumple.puzzle import (
    DEFAULT_PUZZLE_BITS,
    Puzzle,
    check_bits,
    lock,
    puzzle_for,
)
from escrow.custodian_set import CustodianSet
from escrow.errors import RecordRefusedError, RecoveryError
from escrow.threshold.hook import ThresholdEscrow
from messaging.hooks import ChainContext

MODE = "crumple"


class CrumpleEscrow(ThresholdEscrow):
    """Hook of mode ``crumple`` for the pinned ``custodian_set`` and a ``puzzle_bits``-bit lock."""

    mode = MODE

    def __init__(self, custodian_set: CustodianSet, puzzle_bits: int = DEFAULT_PUZZLE_BITS):
        super().__init__(custodian_set)
        self.puzzle_bits = check_bits(puzzle_bits)

    def __repr__(self) -> str:
        return f"CrumpleEscrow({self.custodian_set.describe()}, k={self.puzzle_bits})"

    def mode_parameters(self) -> bytes:
        """One byte: k."""
        return bytes((self.puzzle_bits,))

    def check_parameters(self, parameters: bytes) -> None:
        """Refuse a record made with another puzzle size than this deployment's k."""
        if parameters != self.mode_parameters():
            stated = f"a {parameters[0]}-bit puzzle" if len(parameters) == 1 \
                else f"parameters {parameters.hex() or 'none'}"
            raise RecordRefusedError(f"escrow record was made with {stated}; this "
                                     f"deployment pins k={self.puzzle_bits}")

    def binding(self, record_context: RecordContext) -> bytes:
        """What the puzzle is bound to: the custodian set and the chain's whole context."""
        return self.custodian_set.fingerprint + record_context.encode()

    def escrowed_secret(self, context: ChainContext) -> bytes:
        """``lock(CK_0)``: the chain key under this chain's k-bit puzzle (32 bytes)."""
        binding = self.binding(RecordContext.of_chain(context))
        return lock(context.chain_key, self.puzzle_bits, binding)

    def puzzle(self, secret: bytes, record_context: RecordContext) -> Puzzle:
        """The puzzle a recovered (combined) secret poses for its chain."""
        return puzzle_for(secret, self.puzzle_bits, self.binding(record_context))

    def chain_key_from_secret(self, secret: bytes, record_context: RecordContext) -> bytes:
        """Refused: a crumple secret is a puzzle, solved by :mod:`escrow.crumple.recovery`.

        A 32-byte locked key alone cannot tell the true answer from the ~1 wrong
        candidate per 2^k that is also self-consistent; the crumple recovery
        confirms candidates against the archived record and reports the work.
        """
        raise RecoveryError(
            f"{record_context.describe()}: a crumple record's secret is a {self.puzzle_bits}-bit "
            "puzzle; recover it with escrow.crumple.recovery.recover"
        )
