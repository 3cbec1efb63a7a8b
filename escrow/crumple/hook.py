"""The ``crumple`` escrow hook: threshold escrow of a puzzle-locked chain key (DESIGN.md,
"Escrow modes"; Wright and Varia, "Crypto Crumple Zones", IEEE S&P 2018).

:class:`CrumpleEscrow` is a :class:`escrow.threshold.ThresholdEscrow` whose
escrowed secret is ``lock(CK_0)`` (:mod:`escrow.crumple.puzzle`) instead of
CK_0: the custodians share, release and combine it exactly as in ``threshold``,
and the record layout is the same (mode id ``crumple``). The lock is a
deterministic function of the chain key, the puzzle size k and the context, so
the recipient still recomputes the whole record byte for byte and refuses any
difference.

k is a deployment parameter like the custodian set, and every record states
it: it is the record's one mode-parameter byte (:mod:`escrow.record`), bound
into every share's associated data, the randomness and the puzzle itself. A
recipient refuses a record made with another k by name, and recovery reads k
from the record (:func:`puzzle_bits_of`), so it needs no k out of band.
"""

from __future__ import annotations

from escrow.context import RecordContext
from escrow.crumple.puzzle import (
    DEFAULT_PUZZLE_BITS,
    Puzzle,
    PuzzleError,
    check_bits,
    lock,
    puzzle_for,
)
from escrow.custodian_set import CustodianSet
from escrow.errors import RecordFormatError, RecordRefusedError, RecoveryError
from escrow.record import EscrowRecord
from escrow.threshold import ThresholdEscrow
from messaging.hooks import ChainContext

MODE = "crumple"


def puzzle_bits_of(record: EscrowRecord) -> int:
    """The puzzle size k a crumple record states (:class:`RecordFormatError` if none)."""
    if record.mode != MODE or len(record.parameters) != 1:
        raise RecordFormatError("a crumple record states its puzzle size in one parameter byte")
    try:
        return check_bits(record.parameters[0])
    except PuzzleError as exc:
        raise RecordFormatError(f"crumple record: {exc}") from None


class CrumpleEscrow(ThresholdEscrow):
    """Hook of mode ``crumple`` for the pinned ``custodian_set`` and a ``puzzle_bits``-bit lock."""

    mode = MODE

    def __init__(self, custodian_set: CustodianSet, puzzle_bits: int = DEFAULT_PUZZLE_BITS):
        super().__init__(custodian_set)
        self.puzzle_bits = check_bits(puzzle_bits)

    def __repr__(self) -> str:
        return f"CrumpleEscrow({self.custodian_set.describe()}, k={self.puzzle_bits})"

    def with_puzzle_bits(self, bits: int) -> CrumpleEscrow:
        """This hook for the same set with a ``bits``-bit puzzle (``self`` if it is k)."""
        return self if bits == self.puzzle_bits else CrumpleEscrow(self.custodian_set, bits)

    def mode_parameters(self) -> bytes:
        """One byte: k."""
        return bytes((self.puzzle_bits,))

    def check_parameters(self, where: str, parameters: bytes) -> None:
        if parameters != self.mode_parameters():
            stated = f"a {parameters[0]}-bit puzzle" if len(parameters) == 1 \
                else f"parameters {parameters.hex() or 'none'}"
            raise RecordRefusedError(f"{where}: escrow record was made with {stated}; this "
                                     f"client enforces k={self.puzzle_bits}")

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
