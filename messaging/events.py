"""Device events: what a device reports to its user besides messages.

Changes to a device list (Sesame, "The Sesame Algorithm", section 3: the relay's
answer names the current devices), to a peer's identity (trust on first use,
:mod:`messaging.trust`), to a group (:mod:`messaging.groups`), and envelopes that
could not be opened. An :class:`EventLog` keeps them until drained and hands each
to its listeners as it happens (docs/architecture.md, "Data flow").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from messaging.groups import GroupChanged
from messaging.trust import IdentityChanged


@dataclass(frozen=True)
class DeviceListChanged:
    """The relay's device list of ``user`` differs from what this device knew."""

    user: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class ReceiveFailed:
    """An envelope that could not be opened (it was acknowledged and dropped)."""

    envelope_id: int
    sender: str
    reason: str


Event = DeviceListChanged | IdentityChanged | ReceiveFailed | GroupChanged


class EventLog:
    """The events of one device since the last drain, and who listens for new ones."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` for every future event."""
        self._listeners.append(listener)

    def drain(self) -> list[Event]:
        """The events since the last drain, oldest first."""
        events, self._events = self._events, []
        return events

    def emit(self, event: Event) -> None:
        """Record ``event`` and hand it to every listener."""
        self._events.append(event)
        for listener in self._listeners:
            listener(event)
