"""The client-side-scanning package's error types (docs/architecture.md, "Conventions": one
error type per package; docs/css_matcher.md).

Every failure in :mod:`escrow.css` raises a subclass of :class:`CssError`, itself an
:class:`escrow.errors.EscrowError`. Messages name versions, accounts and voucher ids, never
key material or hashes.
"""

from escrow.errors import EscrowError


class CssError(EscrowError):
    """Base class of every error raised by the client-side-scanning layer."""


class ShamirError(CssError):
    """Shares that cannot be split or combined (t out of 2..255, duplicate or zero x,
    mismatched lengths)."""


class DatabaseError(CssError):
    """A hash database that cannot be built or parsed (fewer than two supplier lists,
    hashes of different lengths, malformed bytes)."""


class TableError(CssError):
    """A blinded table that cannot be built or parsed (cuckoo placement failed, invalid
    points, malformed bytes)."""


class PointError(CssError):
    """Bytes that are not a valid, non-identity ristretto255 point."""


class VoucherError(CssError):
    """Bytes that do not parse as a well-formed safety voucher, or a voucher that conflicts
    with one already received."""


class ReviewError(CssError):
    """A review that cannot run (a derivative the second hash cannot read, an error rate out
    of range)."""
