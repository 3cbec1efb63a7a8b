"""Extension point for proposals the provider carries out: the client's directory verifier.

Not every lawful-access proposal is a chain hook (docs/architecture.md, "Three
kinds of proposal"). GCHQ's "ghost" proposal escrows nothing: the compelled
provider adds a device it controls to a user's device list, and every sender's
fan-out (Sesame) then encrypts to it. What detects it is transparency: safety
numbers, device-list notices, and key transparency (an auditable directory of
every user's devices, as in WhatsApp's AKD, CONIKS, or the IETF keytrans
architecture, where each client checks that the list it is served is the one
committed to in a log everyone sees).

The client asks its :class:`DirectoryVerifier`
(:attr:`messaging.client.Device.directory`) about *every* device list the relay
serves, before it trusts or fans out to any device in it
(:meth:`messaging.client.Device.refresh_devices`). A verifier that does not
accept the list raises :class:`DirectoryRefusedError`, and the client then
changes nothing: no device is added, no trust record written, no message sent.
:class:`TrustTheRelay`, the default, accepts what the relay says, as clients
without key transparency do today. The relay side of the same extension point
(what the provider publishes whenever a device list changes) is
:class:`messaging.relay.directory.DevicePublisher`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from messaging.errors import MessagingError
from messaging.identity import IdentityPublic

__all__ = ["DirectoryRefusedError", "DirectoryVerifier", "TrustTheRelay"]


class DirectoryRefusedError(MessagingError):
    """A device list the directory verifier does not accept (e.g. not in the key-transparency
    log, or a view that differs from the one other users are shown)."""


@runtime_checkable
class DirectoryVerifier(Protocol):
    """Checks a device list the relay served before the client uses it."""

    def verify_devices(self, user: str, devices: Mapping[str, IdentityPublic]) -> None:
        """Accept ``devices`` (address -> identity) as ``user``'s list, or raise
        :class:`DirectoryRefusedError`; must not keep state of a list it refuses."""
        ...


class TrustTheRelay:
    """The default verifier: every list the relay serves is accepted (no key transparency)."""

    def verify_devices(self, user: str, devices: Mapping[str, IdentityPublic]) -> None:
        return None
