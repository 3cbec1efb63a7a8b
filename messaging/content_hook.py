"""Extension point for proposals that inspect content: the sending device's content hook.

The third kind of proposal (docs/architecture.md, "Three kinds of proposal"):
client-side scanning, as in the EU's proposed Child Sexual Abuse Regulation
("chat control") and Apple's 2021 CSAM-detection design. The sending device
inspects a message's plaintext *before* it is encrypted and reports what it
finds (Apple's design: a "safety voucher" that rides with the message).

The client (:attr:`messaging.client.Device.content_hook`) calls its
:class:`ContentHook` once per outgoing message with the plaintext and who it
is for (:class:`OutgoingContent`), before any envelope of that message is
made. A hook that raises :class:`ContentRefusedError` stops the send, and
nothing is encrypted, queued or sent. What the hook reports, and how that
reaches the provider, is the hook's own business (a later proposal binds its
vouchers to the envelopes); the ratchet and the wire format are untouched by
this interface. :class:`NoScanning`, the default, inspects nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from messaging.errors import MessagingError

__all__ = ["ContentHook", "ContentRefusedError", "NoScanning", "OutgoingContent"]


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


@runtime_checkable
class ContentHook(Protocol):
    """Inspects every outgoing message's plaintext before encryption."""

    mode: str

    def inspect(self, outgoing: OutgoingContent) -> None:
        """Inspect (and report on) one message, or raise :class:`ContentRefusedError`
        to stop its send."""
        ...


class NoScanning:
    """The default content hook: nothing is inspected, nothing reported."""

    mode = "none"

    def inspect(self, outgoing: OutgoingContent) -> None:
        return None
