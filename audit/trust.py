"""Which keys and quorum an offline verification of a log trusts.

An auditor may pin the log's verifier key, the witnesses' cosignature keys and the
quorum (:class:`Pins`); whatever is not pinned is read from the log file itself
(:func:`resolve_trust`), which proves only that the file is consistent with the keys it
names, so a report should say which keys were pinned. With witness keys pinned and no
quorum, two cosignatures are required (:data:`PINNED_WITNESS_QUORUM`), whatever the file
records.

Errors: a malformed key is a :class:`NoteError`; a pinned quorum that cannot be checked
(negative, or more than the witness keys) is a :class:`TrustError`, a mistake of the
caller; what the file records and cannot be used (no log key, a quorum that is not a
number or exceeds the witness keys) is a :class:`VerificationError`, a property of the
log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audit.errors import TrustError, VerificationError
from audit.note import Verifier
from audit.storage import LogStore

PINNED_WITNESS_QUORUM = 2


@dataclass(frozen=True)
class Pins:
    """What the auditor pins; ``None`` means "take it from the log file"."""

    log_key: Verifier | None = None
    witness_keys: tuple[Verifier, ...] | None = None
    quorum: int | None = None

    def __post_init__(self) -> None:
        _check_quorum(self.quorum)

    @classmethod
    def parse(cls, log_key: str | None = None, witness_keys: Sequence[str] | None = None,
              quorum: int | None = None) -> Pins:
        """Pins from verifier-key strings (C2SP signed-note vkeys); raises
        :class:`TrustError` for a negative quorum, then :class:`NoteError` for a bad key."""
        _check_quorum(quorum)
        return cls(Verifier.from_vkey(log_key) if log_key else None,
                   tuple(Verifier.from_vkey(k) for k in witness_keys)
                   if witness_keys is not None else None,
                   quorum)



def _check_quorum(quorum: int | None) -> None:
    if quorum is not None and quorum < 0:
        raise TrustError("quorum must not be negative")


@dataclass(frozen=True)
class Trust:
    """The keys and quorum a verification checks the log against."""

    log_key: Verifier
    witness_keys: tuple[Verifier, ...]
    quorum: int


def resolve_trust(store: LogStore, pins: Pins) -> Trust:
    """The pinned keys and quorum, completed from what ``store`` records (see the module)."""
    log_key = pins.log_key
    if log_key is None:
        recorded_key = store.get_meta("log_key")
        if not recorded_key:
            raise VerificationError("no log key is recorded in the log; pin the log's verifier key")
        log_key = Verifier.from_vkey(recorded_key)
    witness_keys = pins.witness_keys
    if witness_keys is None:
        recorded = store.get_meta("witness_keys") or ""
        witness_keys = tuple(Verifier.from_vkey(k) for k in recorded.split("\n") if k)
    quorum = pins.quorum
    if quorum is None:
        recorded_quorum = store.get_meta("quorum") or "0"
        if not recorded_quorum.isascii() or not recorded_quorum.isdigit():
            raise VerificationError("the quorum recorded in the log is not a number")
        quorum = int(recorded_quorum) if pins.witness_keys is None else PINNED_WITNESS_QUORUM
    if quorum > len(witness_keys):
        message = (f"quorum {quorum} is more than the {len(witness_keys)} witness keys given "
                   "or recorded")
        raise TrustError(message) if pins.quorum is not None else VerificationError(message)
    return Trust(log_key, witness_keys, quorum)
