"""The key-transparency publisher (relay side) and verifier (client side).

:class:`KTPublisher` is a :class:`messaging.relay.directory.DevicePublisher`: every new
device list of a user (registration, link, removal, a device the provider adds) is staged
in the :class:`audit.kt.directory.KeyDirectory` and, by default, published as a new epoch
at once, inside the relay's transaction; if the directory or its log refuses (e.g. the
witnesses refuse a quorum), the relay's change rolls back.

:class:`KTVerifier` is a :class:`messaging.directory.DirectoryVerifier`: for every device
list the relay serves, it looks the user up in the directory, verifies the proof under a
checkpoint with the witness quorum, keeps the directory's history append-only
(:class:`audit.kt.monitor.History`), and accepts the list only if it is exactly the one
the directory commits to. Prekey bundles are checked through it: the client uses a bundle
only if it is signed by the identity of the verified list
(:meth:`messaging.client.Device.refresh_devices`, ``Device._encrypt``). A refusal is a
:class:`messaging.directory.DirectoryRefusedError`; the verifier keeps no state of the
refused list (only the directory's verified history advances).
"""

from __future__ import annotations

from collections.abc import Mapping

from audit.kt.directory import KeyDirectory
from audit.kt.errors import KTError
from audit.kt.lookup import CheckpointCache, EpochHead, KTTrust
from audit.kt.monitor import DirectoryServer, History, checked_lookup
from audit.kt.value import DeviceSet
from messaging.directory import DirectoryRefusedError
from messaging.identity import IdentityPublic


def identity_bytes(devices: Mapping[str, IdentityPublic]) -> dict[str, bytes]:
    """A device list as the directory commits to it: address -> identity encoding."""
    return {address: identity.encode() for address, identity in devices.items()}


class KTPublisher:
    """Stages every device list the relay will serve; publishes an epoch per change unless
    ``auto_epoch`` is false (then :meth:`KeyDirectory.publish_epoch` is the caller's)."""

    def __init__(self, directory: KeyDirectory, *, auto_epoch: bool = True) -> None:
        self.directory = directory
        self.auto_epoch = auto_epoch

    def publish_devices(self, user: str, devices: Mapping[str, IdentityPublic],
                        at: float) -> None:
        self.directory.stage(user, identity_bytes(devices))
        if self.auto_epoch:
            self.directory.publish_epoch()


class KTVerifier:
    """Accepts a served device list only if the directory proves it (module docstring)."""

    def __init__(self, server: DirectoryServer, trust: KTTrust) -> None:
        self.server = server
        self.trust = trust
        self.history = History()
        self.cache = CheckpointCache()
        self.accepted = 0
        self.refused = 0

    def verify_devices(self, user: str, devices: Mapping[str, IdentityPublic]) -> None:
        try:
            result = checked_lookup(self.server, user, self.trust, self.history,
                                    cache=self.cache)
            served = DeviceSet.of(identity_bytes(devices))
        except KTError as exc:
            self.refused += 1
            raise DirectoryRefusedError(
                f"the key-transparency directory does not prove {user}'s device list: "
                f"{exc}") from None
        if isinstance(result, EpochHead):
            self.refused += 1
            raise DirectoryRefusedError(f"the key-transparency directory has no entry for "
                                        f"{user} at epoch {result.epoch}")
        if result.devices != served:
            self.refused += 1
            raise DirectoryRefusedError(
                f"the relay serves a device list of {user} that the key-transparency "
                f"directory does not commit to at epoch {result.epoch}")
        self.accepted += 1
