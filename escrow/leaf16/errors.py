"""Error types of the ``leaf16`` escrow mode (docs/architecture.md, "Conventions": one error type
per package).

Every error is an :class:`escrow.errors.EscrowError`. Messages name fields and
unit ids, never key material.
"""

from escrow.errors import EscrowError, RecoveryError


class Leaf16Error(EscrowError):
    """Base class of every error raised by :mod:`escrow.leaf16`."""


class LeafFormatError(Leaf16Error):
    """Bytes that are not a well-formed LEAF for this module (length, version, width)."""


class EscrowAgentError(Leaf16Error):
    """An escrow agent that does not hold, or refuses to release, a unit-key component."""


class LeafRecoveryError(Leaf16Error, RecoveryError):
    """Lawful recovery of a chain key from a LEAF failed (unknown unit, forged escrowed key)."""
