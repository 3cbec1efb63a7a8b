"""The client-side-scanning package's error base (docs/css.md): every refusal in
:mod:`escrow.css` is a :class:`CssError`, with a message a person can act on."""

from escrow.errors import EscrowError


class CssError(EscrowError):
    """Base class of every error raised by :mod:`escrow.css`."""
