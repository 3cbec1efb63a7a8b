"""The ``none`` mode as the mode registry sees it (:mod:`escrow.modes`): today's end-to-end
encryption, with :class:`messaging.hooks.NoEscrow` on every device.

There is nobody to release anything and nothing to unlock: a recovery of a window
(:func:`recover_window`) reports every chain of it as not escrowed (or, if a record rides
where none may, as one this deployment's recipients refuse), and reads no message.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import AuthorisationVerifier, ReleaseAuthorisation
from escrow.errors import RecordRefusedError, WorkflowError
from escrow.recovery import WindowReport, chain_report, conversation_basis
from escrow.scope import Archive, ScopedRecord, Window, scan_window
from messaging.clock import Clock
from messaging.hooks import NoEscrow

MODE = NoEscrow.mode


class NoDeployment:
    """A deployment without escrow: no parties, no releases, no records."""

    mode = MODE
    threshold = 0
    parties: tuple[str, ...] = ()
    hook_class: type[NoEscrow] = NoEscrow
    nothing_to_release = "mode 'none' has no custodians: nothing can be released"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def hook_for(self, address: str) -> NoEscrow:
        return self.hook_class()

    def screen(self, record: bytes) -> object:
        raise RecordRefusedError(f"mode {self.mode!r} expects no escrow record, but the chain "
                                 "carries one")

    def admit(self, release: object) -> tuple[str, tuple]:
        raise WorkflowError(self.nothing_to_release)

    def release(self, party: int, authorisation: ReleaseAuthorisation,
                verifier: AuthorisationVerifier, scoped: Sequence[ScopedRecord],
                clock: Clock) -> list:
        raise WorkflowError(self.nothing_to_release)


def deploy() -> NoDeployment:
    """The registry's ``deploy`` of ``none`` (no parameters)."""
    return NoDeployment()


def recover_window(deployment: NoDeployment, archive: Archive, window: Window,
                   authorisation: ReleaseAuthorisation, releases: Sequence[object],
                   recovery_key: X25519PrivateKey) -> WindowReport:
    """The window's chains, each settled by the scan alone; no message is read (``none``
    and ``ghost``: neither escrows anything)."""
    scan = scan_window(archive, window.conversation_id, window.start, window.end,
                       deployment.screen)
    return WindowReport(scan.conversation_id, scan.start, scan.end, (), scan.messages_in_scope,
                        0, 0, conversation_basis(scan),
                        tuple(chain_report(c) for c in scan.chains), scan.unreadable_entries)
