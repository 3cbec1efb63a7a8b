"""The messaging package's error types.

Every failure in :mod:`messaging` raises a subclass of :class:`MessagingError`
with a message a user can act on. Messages never contain key material.
"""


class MessagingError(Exception):
    """Base class of every error raised by the messaging core."""


class WireFormatError(MessagingError):
    """Bytes that do not parse as a well-formed envelope or header."""


class ContentError(WireFormatError):
    """A decrypted plaintext that is not valid message content; the message is refused and
    the session keeps the state it had before it."""


class HandshakeError(MessagingError):
    """A prekey bundle or initial message that fails PQXDH verification."""


class DecryptionError(MessagingError):
    """A message that cannot be authenticated and decrypted (bad tag, wrong key)."""


class ReplayError(DecryptionError):
    """A message whose key was already used and deleted."""


class TooManySkippedError(DecryptionError):
    """A message that would need more skipped message keys than the limits allow."""


class HookRefusedError(DecryptionError):
    """The escrow hook refused a chain (missing, altered or non-conforming record)."""


class ModeMismatchError(HookRefusedError):
    """A message made under a different escrow mode than the session's policy."""


class StateError(MessagingError):
    """A serialised session state or store that is corrupt or of an unknown version."""


class IdentityChangedError(MessagingError):
    """A peer's identity key differs from the one this device has recorded."""


class ModeIdError(MessagingError, ValueError):
    """An escrow mode id that is not 1..32 printable ASCII characters without spaces
    (:mod:`messaging.mode_id`); also a ``ValueError``, as a bad argument."""


class GroupError(MessagingError, ValueError):
    """A group operation that is not allowed (not a member, too many members, ...), or a
    malformed group message."""


class VoucherRefusedError(MessagingError):
    """A received message the recipient's content hook refuses for its safety voucher
    (missing where the mode requires one, present where it allows none, malformed); the
    session keeps the state it had before it (:mod:`messaging.content_hook`)."""
