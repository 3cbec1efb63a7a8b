"""The ``ghost`` mode as the mode registry sees it (:mod:`escrow.modes`; docs/ghost.md).

GCHQ's "ghost" proposal escrows nothing. It is a provider capability, not a chain hook
(docs/architecture.md, "Three kinds of proposal, three extension points"): under a
compulsion order the relay adds a device it controls to the target's device list
(:meth:`messaging.relay.service.RelayService.provider_add_device`) and every sender's
fan-out encrypts to it from then on. So the devices run :class:`GhostHook`, which, like
``none``, attaches no record and accepts none; the mode id ``ghost`` in every header and
prekey signature only says which policy the deployment runs.

There is nobody to release anything: a recovery of an archived window reads nothing
(:func:`recover_window`), because access under ``ghost`` is prospective only. What the
ghost device reads is what is sent to it after it was added; ``escrowlab`` wires the
device, the relay and the key-transparency defences together (docs/ghost.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import AuthorisationVerifier, ReleaseAuthorisation
from escrow.errors import RecordRefusedError, WorkflowError
from escrow.recovery import WindowReport, chain_report, conversation_basis
from escrow.scope import Archive, ScopedRecord, Window, scan_window
from messaging.clock import Clock
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


class GhostDeployment:
    """A ``ghost`` deployment: every device runs :class:`GhostHook`; no parties."""

    mode = MODE
    threshold = 0
    parties: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return "GhostDeployment()"

    def hook_for(self, address: str) -> GhostHook:
        return GhostHook()

    def screen(self, record: bytes) -> object:
        raise RecordRefusedError("mode 'ghost' expects no escrow record, but the chain "
                                 "carries one")

    def admit(self, release: object) -> tuple[str, tuple]:
        raise WorkflowError(_NOTHING)

    def release(self, party: int, authorisation: ReleaseAuthorisation,
                verifier: AuthorisationVerifier, scoped: Sequence[ScopedRecord],
                clock: Clock) -> list:
        raise WorkflowError(_NOTHING)


def deploy() -> GhostDeployment:
    """The registry's ``deploy`` of ``ghost`` (no parameters)."""
    return GhostDeployment()


def recover_window(deployment: GhostDeployment, archive: Archive, window: Window,
                   authorisation: ReleaseAuthorisation, releases: Sequence[object],
                   recovery_key: X25519PrivateKey) -> WindowReport:
    """The window's chains, each settled by the scan alone: the archive opens nothing."""
    scan = scan_window(archive, window.conversation_id, window.start, window.end,
                       deployment.screen)
    return WindowReport(scan.conversation_id, scan.start, scan.end, (), scan.messages_in_scope,
                        0, 0, conversation_basis(scan),
                        tuple(chain_report(c) for c in scan.chains), scan.unreadable_entries)
