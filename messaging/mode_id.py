"""Escrow mode ids: the short ASCII name of the escrow mode a device runs.

A mode id (``"none"``, ``"threshold"``, ...) is bound into prekey signatures
(:mod:`messaging.prekey_records`), carried in every message header (:mod:`messaging.wire`),
stored in session state (:mod:`messaging.state`) and named by every escrow hook
(:mod:`messaging.hooks`); it is checked here, once, below all of them.
"""

from __future__ import annotations

from messaging.errors import ModeIdError
from messaging.limits import MAX_MODE_ID_LENGTH


def validate_mode_id(mode: str) -> str:
    """Check that ``mode`` is a short printable ASCII id; return it, or raise
    :class:`~messaging.errors.ModeIdError`."""
    if not isinstance(mode, str) or not mode or len(mode) > MAX_MODE_ID_LENGTH:
        raise ModeIdError(f"an escrow mode id is 1..{MAX_MODE_ID_LENGTH} characters")
    if not (mode.isascii() and mode.isprintable() and " " not in mode):
        raise ModeIdError("an escrow mode id is printable ASCII without spaces")
    return mode
