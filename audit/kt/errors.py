"""The refusals of key transparency (docs/key_transparency.md, "What a client refuses").

Every one is an :class:`audit.errors.AuditError`, so a caller of ``audit`` catches one
type; the subclasses say which check failed.
"""

from __future__ import annotations

from audit.errors import AuditError


class KTError(AuditError):
    """A key-transparency input or proof that is refused."""


class KTProofError(KTError):
    """A prefix-tree proof, a lookup or an absence proof does not verify."""


class KTEpochError(KTError):
    """An epoch that is not the one claimed, not logged where it must be, or older than one
    already seen (a rollback)."""


class KTHistoryError(KTError):
    """The epoch history is not append-only: a checkpoint inconsistent with one seen before."""
