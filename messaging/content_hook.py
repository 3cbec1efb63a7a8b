"""Extension point for proposals that inspect content: the content hook and its safety voucher.

The third kind of proposal (docs/architecture.md, "Three kinds of proposal"):
client-side scanning, as in the EU's proposed Child Sexual Abuse Regulation
("chat control") and Apple's 2021 CSAM-detection design. The sending device
inspects a message's plaintext *before* it is encrypted and reports what it
finds in a "safety voucher" that rides with the message (Apple, "CSAM Detection:
Technical Summary", 2021; docs/css.md).

Sending: the client (:attr:`messaging.client.Device.content_hook`) calls its
:class:`ContentHook`'s :meth:`~ContentHook.inspect` once per outgoing message
with the plaintext and who it is for (:class:`OutgoingContent`), before any
envelope of that message is made. The hook returns ``None`` (nothing to attach)
or a voucher: opaque bytes, 1..:data:`~messaging.limits.MAX_VOUCHER_LENGTH`,
that every envelope of that message carries in clear (a version-2 envelope,
:mod:`messaging.wire`) with its SHA-256 in the message's associated data
(:func:`messaging.ratchet.message_associated_data`): a relay can read it
(:func:`messaging.wire.read_voucher`) but cannot strip, swap or add one unseen.
A hook that raises :class:`ContentRefusedError`, or returns anything else,
stops the send, and nothing is encrypted, queued or sent.

Receiving: after a message's tag verified and its content parsed, and before
anything is stored, the recipient's hook judges it with
:meth:`~ContentHook.check_incoming` (:class:`IncomingContent`: the content kind
and the authenticated voucher). A hook whose mode requires vouchers refuses a
message without one by raising :class:`~messaging.errors.VoucherRefusedError`;
the message is then refused like one whose tag fails, and the session and the
prekeys keep the state they had. :class:`NoScanning`, the default, inspects
nothing and accepts no voucher (a mode that scans nothing has nothing to vouch for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from messaging.errors import MessagingError, VoucherRefusedError

__all__ = ["ContentHook", "ContentRefusedError", "IncomingContent", "NoScanning",
           "OutgoingContent", "VoucherRefusedError"]


class ContentRefusedError(MessagingError):
    """The content hook refused to let a message be sent."""


@dataclass(frozen=True)
class OutgoingContent:
    """One message as the sending device is about to encrypt it.

    ``plaintext`` is the encoded content (:mod:`messaging.content`); it is the
    user's message, so it has no ``repr``.
    """

    conversation_id: str
    sender: str
    recipients: tuple[str, ...]
    plaintext: bytes = field(repr=False)
    time: float


@dataclass(frozen=True)
class IncomingContent:
    """One received message as the recipient's hook judges it: its tag verified, so
    ``voucher`` (``None``: the envelope carried none) is the one its sender attached."""

    conversation_id: str
    sender: str
    recipient: str
    kind: str
    voucher: bytes | None = field(repr=False)


@runtime_checkable
class ContentHook(Protocol):
    """Inspects every outgoing message's plaintext before encryption, and judges the voucher
    of every incoming one."""

    mode: str

    def inspect(self, outgoing: OutgoingContent) -> bytes | None:
        """Inspect one message; return its safety voucher (or ``None``), or raise
        :class:`ContentRefusedError` to stop its send."""
        ...

    def check_incoming(self, incoming: IncomingContent) -> None:
        """Accept a received message, or raise :class:`~messaging.errors.VoucherRefusedError`."""
        ...


class NoScanning:
    """The default content hook: nothing is inspected, no voucher made, none accepted."""

    mode = "none"

    def inspect(self, outgoing: OutgoingContent) -> bytes | None:
        return None

    def check_incoming(self, incoming: IncomingContent) -> None:
        if incoming.voucher is not None:
            raise VoucherRefusedError(
                f"the message from {incoming.sender} carries a safety voucher, but this "
                f"device scans nothing (content hook {self.mode!r}) and accepts none")
