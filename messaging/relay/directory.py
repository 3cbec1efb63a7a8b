"""Extension point for proposals the provider carries out: the relay's device publisher.

The relay side of :mod:`messaging.directory` (docs/architecture.md, "Three
kinds of proposal"). Whenever a user's device list changes (a registration, a
linked device, a removal, or a device the provider adds itself under
compulsion, :meth:`messaging.relay.service.RelayService.provider_add_device`),
the relay hands the new list to its :class:`DevicePublisher` (the
``publisher`` argument of :class:`messaging.relay.service.RelayService`) inside
the same transaction, so a key-transparency directory commits to exactly the lists the
relay serves. A publisher that raises aborts the change. :class:`NoDirectory`,
the default, publishes nothing, as relays without key transparency do today.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from messaging.identity import IdentityPublic

__all__ = ["DevicePublisher", "NoDirectory"]


@runtime_checkable
class DevicePublisher(Protocol):
    """Receives every device list the relay will serve from now on."""

    def publish_devices(self, user: str, devices: Mapping[str, IdentityPublic],
                        at: float) -> None:
        """``user``'s active devices (address -> identity) as of relay time ``at``."""
        ...


class NoDirectory:
    """The default publisher: nothing is published (no key transparency)."""

    def publish_devices(self, user: str, devices: Mapping[str, IdentityPublic],
                        at: float) -> None:
        return None
