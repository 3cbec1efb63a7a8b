"""The ``ghost`` mode as the mode registry sees it (:mod:`escrow.modes`; docs/ghost.md).

GCHQ's "ghost" proposal escrows nothing. It is a provider capability, not a chain hook
(docs/architecture.md, "Three kinds of proposal, three extension points"): under a
compulsion order the relay adds a device it controls to the target's device list
(:meth:`messaging.relay.service.RelayService.provider_add_device`) and every sender's
fan-out encrypts to it from then on. So the devices run :class:`GhostHook`, which, like
``none``, attaches no record and accepts none; the mode id ``ghost`` in every header and
prekey signature only says which policy the deployment runs.

There is nobody to release anything: a recovery of an archived window reads nothing
(:func:`recover_window`, the same as ``none``'s), because access under ``ghost`` is
prospective only. What the ghost device reads is what is sent to it after it was added;
``escrowlab`` wires the device, the relay and the key-transparency defences together
(docs/ghost.md).
"""

from __future__ import annotations

from escrow.none import NoDeployment
from escrow.none import recover_window as none_recover_window
from messaging.errors import HookRefusedError
from messaging.hooks import ChainContext, NoEscrow

MODE = "ghost"
_NOTHING = ("mode 'ghost' escrows nothing: access is a device the provider adds, and reads "
            "only what is sent after it was added")


class GhostHook(NoEscrow):
    """No record per chain, and none accepted (the ghost is in the device list, not here)."""

    mode = MODE

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        if record:
            raise HookRefusedError("mode 'ghost' expects no escrow record, but the chain "
                                   "carries one")


class GhostDeployment(NoDeployment):
    """A ``ghost`` deployment: every device runs :class:`GhostHook`; no parties; the
    archive opens nothing (:func:`escrow.none.recover_window`)."""

    mode = MODE
    hook_class = GhostHook
    nothing_to_release = _NOTHING


def deploy() -> GhostDeployment:
    """The registry's ``deploy`` of ``ghost`` (no parameters)."""
    return GhostDeployment()


recover_window = none_recover_window
