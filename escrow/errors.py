"""The escrow package's error types (docs/architecture.md, "Conventions": one error type per
package).

Every failure in :mod:`escrow` raises a subclass of :class:`EscrowError` with a
message a user can act on. Messages name custodians, sets and records, never
key material. :class:`RecordRefusedError` is also a
:class:`messaging.errors.HookRefusedError`, so a session that calls the hook
treats a refused record exactly like any other refused chain.
"""

from messaging.errors import HookRefusedError


class EscrowError(Exception):
    """Base class of every error raised by the escrow layer."""


class CustodianSetError(EscrowError):
    """A custodian set that is malformed or violates the policy (t = 1, t > n, duplicates)."""


class KeystoreError(EscrowError):
    """A key file that cannot be read, is corrupt, or was opened with the wrong passphrase."""


class CeremonyError(EscrowError):
    """A key ceremony or restore that cannot proceed (bad parameters, wrong mnemonics)."""


class RecordFormatError(EscrowError):
    """Bytes that do not parse as a well-formed escrow record."""


class RecordRefusedError(EscrowError, HookRefusedError):
    """A recipient refused a chain's escrow record (missing, altered, or for another set)."""


class ShareError(EscrowError):
    """Shares that cannot be split or combined (wrong count, failed digest)."""


class AuthorisationError(EscrowError):
    """A release authorisation that is unsigned, badly signed, expired or malformed."""


class ReleaseRefusedError(EscrowError):
    """A custodian refused to release a share (out of scope, other set, context mismatch)."""


class RecoveryError(EscrowError):
    """A lawful recovery that cannot start (an empty window, a recovery key or
    authorisation that do not belong together). What happens to each chain is reported,
    never raised (:mod:`escrow.recovery`)."""


class ModeError(EscrowError):
    """An escrow mode that is not registered, a mode parameter out of its range
    (:mod:`escrow.modes`), or a hook whose mode id is not one (:mod:`messaging.mode_id`)."""


class WorkflowError(EscrowError):
    """A lawful-access step the attempt refuses: a wrong nonce, a release of another
    authorisation or party, a conflicting release, an attempt cancelled or already executed
    (:mod:`escrow.workflow`). The attempt is left as it was."""
