"""The client-side-scanning package's error types (docs/architecture.md, "Conventions": one
error type per package).

Every failure in :mod:`escrow.css` raises a subclass of :class:`CssError`, itself an
:class:`escrow.errors.EscrowError`.
"""

from escrow.errors import EscrowError


class CssError(EscrowError):
    """Base class of every error raised by the client-side-scanning layer."""
