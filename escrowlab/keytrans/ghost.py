"""The compelled provider's ghost device (docs/ghost.md, "The injection").

:func:`inject` is what a compulsion order makes the provider do: register a device it
controls under the target's account with no link signature
(:meth:`messaging.relay.service.RelayService.provider_add_device`), publish its prekeys,
and read what arrives. Every sender's fan-out includes it from then on, so it reads what
is sent to the target, and the target's own outgoing copies, after it was added, and
nothing from before (the archive holds ciphertext under keys it never had).
"""

from __future__ import annotations

from messaging.client import Device
from messaging.clock import Clock
from messaging.hooks import EscrowHook
from messaging.identity import IdentityKeyPair
from messaging.relay import RelayService
from messaging.transport import Transport

GHOST_DEVICE_ID = 99


def inject(relay: RelayService, transport: Transport, target: str, hook: EscrowHook,
           clock: Clock, device_id: int = GHOST_DEVICE_ID) -> Device:
    """Add the provider's device ``target:device_id`` and return it, ready to receive."""
    identity = IdentityKeyPair.generate()
    address = f"{target}:{device_id}"
    relay.provider_add_device(address, identity.public)
    return Device.attach(address, identity, transport, hook=hook, clock=clock,
                         one_time_prekeys=8, kem_prekeys=4)
