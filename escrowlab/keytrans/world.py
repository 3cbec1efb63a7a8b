"""A relay with a witnessed key-transparency directory, and devices that verify against it
(docs/ghost.md): what the ghost demo, scenarios S19 and S20 and ``bench kt`` build.

The relay publishes every device list to the directory (:class:`KTPublisher`); the
directory's epochs go into their own RFC 9162 log, cosigned by ``witnesses`` with quorum
``quorum``. Every device made by :meth:`KTWorld.device` checks every list it is served with
a :class:`KTVerifier` (``verify=False`` for a client without key transparency). A device's
very first fetch of its own list, inside :meth:`messaging.client.Device.create`, happens
before the verifier is attached; every later one is verified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from audit.kt.directory import KeyDirectory
from audit.kt.lookup import KTTrust
from audit.kt.monitor import DirectoryServer
from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.witness import Witness
from escrowlab.keytrans.owner import OwnerWatch
from escrowlab.keytrans.wiring import KTPublisher, KTVerifier, identity_bytes
from messaging.client import Device
from messaging.clock import ManualClock
from messaging.hooks import EscrowHook, NoEscrow
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport
from messaging.transport import Transport

DIRECTORY_ORIGIN = "kt.escrowlab.test/directory"
START = 1_767_261_600.0  # 2026-01-01T10:00:00Z


@dataclass
class KTWorld:
    clock: ManualClock
    relay: RelayService
    transport: Transport
    signer: Signer
    witnesses: list[Witness]
    log: AuditLog
    directory: KeyDirectory
    trust: KTTrust
    hook_for: Callable[[str], EscrowHook]
    devices: dict[str, Device] = field(default_factory=dict)
    watches: dict[str, OwnerWatch] = field(default_factory=dict)

    def verifier(self, server: DirectoryServer | None = None,
                 trust: KTTrust | None = None) -> KTVerifier:
        return KTVerifier(server or self.directory, trust or self.trust)

    def device(self, user: str, device_id: int, *, linked_by: Device | None = None,
               verify: bool = True, transport: Transport | None = None) -> Device:
        """Register (or link) a device with one-time prekeys enough for a scenario."""
        device = Device.create(user, device_id, transport or self.transport,
                               hook=self.hook_for(f"{user}:{device_id}"),
                               clock=self.clock, linked_by=linked_by, one_time_prekeys=8,
                               kem_prekeys=4)
        if verify:
            device.directory = self.verifier()
        self.devices[device.address] = device
        if linked_by is not None and linked_by.user in self.watches:
            self.watches[user].approve(device.address, device.identity.public)
        return device

    def watch(self, device: Device, kt: bool = True) -> OwnerWatch:
        """The owner's watch, run on ``device`` (with key-transparency monitoring if ``kt``)."""
        watch = OwnerWatch(device, self.directory if kt else None, self.trust if kt else None)
        self.watches[device.user] = watch
        return watch

    def close(self) -> None:
        self.log.close()
        for witness in self.witnesses:
            witness.close()


@dataclass(frozen=True)
class WitnessedDirectory:
    """A directory on its own log, cosigned by witnesses, and the trust that checks it."""

    signer: Signer
    witnesses: list[Witness]
    log: AuditLog
    directory: KeyDirectory
    trust: KTTrust


def witnessed_directory(clock: ManualClock, *, witnesses: int = 3,
                        quorum: int = 2) -> WitnessedDirectory:
    """A fresh directory whose log ``quorum`` of ``witnesses`` cosign (in-memory stores)."""
    signer = Signer.generate(DIRECTORY_ORIGIN)
    ws = [Witness.generate(f"witness-{i}.kt.test", [signer.verifier], ":memory:", clock)
          for i in range(witnesses)]
    log = AuditLog.open(":memory:", signer, clock=clock,
                        quorum=WitnessQuorum(ws, quorum) if quorum else None)
    trust = KTTrust(signer.verifier, tuple(w.verifier for w in ws), quorum)
    return WitnessedDirectory(signer, ws, log, KeyDirectory(log), trust)


def bootstrap(relay: RelayService, directory: KeyDirectory, users: list[str],
              *, auto_epoch: bool = True) -> int:
    """Put a running relay under key transparency: publish the current lists of ``users``
    as one epoch, then have the relay publish every later change; return that epoch."""
    with relay.transaction() as conn:
        for user in users:
            directory.stage(user, identity_bytes(dict(relay.devices._active_devices(conn,
                                                                                    user))))
    epoch = directory.publish_epoch()
    relay.devices.publisher = KTPublisher(directory, auto_epoch=auto_epoch)
    return epoch


def build(*, witnesses: int = 3, quorum: int = 2, hook: EscrowHook | None = None,
          hook_for: Callable[[str], EscrowHook] | None = None,
          auto_epoch: bool = True) -> KTWorld:
    """An in-process relay whose device lists go to a directory witnessed ``quorum`` of
    ``witnesses`` (in-memory stores, one manual clock); every device runs ``hook`` or the
    hook ``hook_for`` gives its address (default :class:`NoEscrow`)."""
    clock = ManualClock(START)
    kt = witnessed_directory(clock, witnesses=witnesses, quorum=quorum)
    relay = RelayService("sqlite://", clock=clock,
                         publisher=KTPublisher(kt.directory, auto_epoch=auto_epoch))
    return KTWorld(clock, relay, InProcessTransport(relay), kt.signer, kt.witnesses, kt.log,
                   kt.directory, kt.trust, hook_for or (lambda address: hook or NoEscrow()))
