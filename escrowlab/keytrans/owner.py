"""The owner's watch over its own account (docs/ghost.md, "Detection channels").

An owner knows which devices it registered and linked itself (:meth:`OwnerWatch.approve`).
Two channels can tell it about any other device:

- the device-list notice: its devices fetch their own user's list from the relay, and a
  device in it that the owner did not approve is an alarm
  (:meth:`OwnerWatch.device_list_alarm`); a relay that shows the owner a list without the
  ghost (a split view) defeats it;
- key-transparency self-monitoring: its :class:`audit.kt.monitor.SelfMonitor` checks its
  own directory entry at every epoch (:meth:`OwnerWatch.kt_alarm`); a provider that keeps
  the ghost out of the directory the owner sees must fork the directory's log, which the
  witnesses refuse.
"""

from __future__ import annotations

from audit.kt.lookup import KTTrust
from audit.kt.monitor import Alert, DirectoryServer, SelfMonitor
from escrowlab.keytrans.wiring import identity_bytes
from messaging.client import Device
from messaging.identity import IdentityPublic


class OwnerWatch:
    """One user's approved devices and its two self-checks."""

    def __init__(self, device: Device, server: DirectoryServer | None = None,
                 trust: KTTrust | None = None) -> None:
        self.device = device
        self.approved: dict[str, IdentityPublic] = dict(device.refresh_devices(device.user))
        self.monitor = SelfMonitor(server, device.user, trust) \
            if server is not None and trust is not None else None

    def approve(self, address: str, identity: IdentityPublic) -> None:
        """Record a device the owner registered or linked itself. A device the owner later
        removes stays approved: the epochs between its link and its removal list it, and the
        self-monitor checks every one of them against this set."""
        self.approved[address] = identity

    def device_list_alarm(self) -> tuple[str, ...]:
        """Refresh the owner's own list from the relay; the devices in it that the owner did
        not approve (what a device-list notice would show)."""
        current = self.device.refresh_devices(self.device.user)
        return tuple(sorted(a for a in current if a not in self.approved))

    def kt_alarm(self) -> list[Alert]:
        """Check the owner's directory entry at every epoch since the last check."""
        if self.monitor is None:
            return []
        return self.monitor.check(identity_bytes(self.approved))
