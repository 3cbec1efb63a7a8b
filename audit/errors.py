"""The audit package's error types.

Every failure raised by ``audit`` is an :class:`AuditError`. Proof failures follow
transparency-dev/merkle's ``proof/verify.go``: typed errors that carry the data a caller
needs (expected and calculated roots, sizes), never anything secret.
"""

from __future__ import annotations


class AuditError(Exception):
    """Base class of every error the audit log raises."""


class ProofError(AuditError):
    """A Merkle inclusion or consistency proof does not verify."""


class ProofShapeError(ProofError):
    """The proof's parameters (index, sizes, hash lengths, proof length) are impossible."""


class RootMismatchError(ProofError):
    """The root recomputed from a proof differs from the expected root."""

    def __init__(self, expected_root: bytes, calculated_root: bytes, what: str = "root") -> None:
        self.expected_root = expected_root
        self.calculated_root = calculated_root
        super().__init__(
            f"{what} mismatch: calculated {calculated_root.hex()}, expected {expected_root.hex()}"
        )


class StorageError(AuditError):
    """The log database is missing, corrupt, of another format or inconsistent."""


class EntryError(AuditError):
    """A log entry is malformed, not canonical, or would carry forbidden data."""


class NoteError(AuditError):
    """A signed note or checkpoint is malformed or its signatures do not verify."""


class LogSigningError(AuditError):
    """The log refuses to sign a checkpoint inconsistent with one it already signed."""


class WitnessError(AuditError):
    """A witness refused to cosign a checkpoint.

    Each refusal of C2SP tlog-witness ("add-checkpoint") has its own subclass, and so its
    own HTTP status (:mod:`audit.http.witness_api`): unknown log 404, no valid log
    signature 403, a malformed request or an old size beyond the checkpoint 400, a stale
    old size 409 (with the latest size), the same size with another root 409, a proof
    that does not verify 422.
    """


class WitnessRequestError(WitnessError):
    """The request is malformed, or its old size exceeds the checkpoint's size (400)."""


class WitnessUnknownLogError(WitnessError):
    """The checkpoint's origin is not a log this witness knows (404)."""


class WitnessSignatureError(WitnessError):
    """No signature on the checkpoint verifies under the log's known key (403)."""


class WitnessRollbackError(WitnessRequestError):
    """The checkpoint is smaller than the one the witness already cosigned (400: the
    caller's old size, the witness's latest, exceeds the checkpoint's size)."""

    def __init__(self, latest_size: int, offered_size: int) -> None:
        self.latest_size = latest_size
        self.offered_size = offered_size
        super().__init__(
            f"rollback: witness already cosigned size {latest_size}, offered size {offered_size}"
        )


class WitnessInconsistencyError(WitnessError):
    """The consistency proof from the witness's checkpoint does not verify (422)."""


class WitnessForkError(WitnessInconsistencyError):
    """Same size as the witness's checkpoint, different root hash (409)."""


class WitnessConflictError(WitnessError):
    """The caller's idea of the witness's latest size is stale (409, with that size)."""

    def __init__(self, latest_size: int, claimed_size: int) -> None:
        self.latest_size = latest_size
        self.claimed_size = claimed_size
        super().__init__(
            f"conflict: witness's latest cosigned size is {latest_size}, request assumed "
            f"{claimed_size}"
        )


class QuorumError(AuditError):
    """Fewer valid cosignatures than the quorum requires."""

    def __init__(self, message: str, refusals: dict[str, str] | None = None) -> None:
        self.refusals = dict(refusals or {})
        super().__init__(message)


class TrustError(AuditError):
    """The keys or quorum a caller pinned for a verification cannot be checked
    (:mod:`audit.trust`): a mistake of the caller, not a property of the log."""


class VerificationError(AuditError):
    """The offline verifier found a problem in a log."""
