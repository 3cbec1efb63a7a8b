"""The custodians as the portal sees them (docs/portal.md, "Custodians").

The portal coordinates; it never holds a custodian's key. :class:`Custodians` is the
small interface it needs: who the custodians are and how many must release, the scope of
a window, one custodian's release under a signed authorisation (the custodian checks
the judge's signature against *its own* judge registry and the expiry by its own clock,
and refuses otherwise), and the attempt that collects releases
(:class:`escrow.workflow.Attempt`).

:class:`InProcessCustodians` runs them in this process over a deployment of the
registry (:mod:`escrow.modes`), each custodian trusting the judge keys it was given at
start, not the portal's database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import ReleaseAuthorisation, TrustedIssuers
from escrow.modes import Deployment
from escrow.scope import Archive, ScopedRecord, Window
from escrow.workflow import Attempt, LawfulAccess
from messaging.clock import Clock


class Custodians(Protocol):
    """What the portal asks of the custodian nodes."""

    @property
    def ids(self) -> tuple[str, ...]: ...

    @property
    def threshold(self) -> int: ...

    def scope(self, window: Window) -> tuple[ScopedRecord, ...]: ...

    def release(self, custodian_id: str, authorisation: ReleaseAuthorisation,
                scoped: tuple[ScopedRecord, ...]) -> list: ...

    def open(self, window: Window, authorisation: ReleaseAuthorisation,
             recovery_key: X25519PrivateKey) -> Attempt: ...


class InProcessCustodians:
    """The deployment's custodians in this process, each with the judge registry
    ``judges`` (issuer name -> raw Ed25519 public key) and the clock ``clock``."""

    def __init__(self, deployment: Deployment, archive: Archive, judges: Mapping[str, bytes],
                 clock: Clock) -> None:
        self.deployment = deployment
        self.archive = archive
        self._verifier = TrustedIssuers(dict(judges))
        self._clock = clock
        self._access = LawfulAccess(deployment, archive)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.deployment.parties)

    @property
    def threshold(self) -> int:
        return self.deployment.threshold

    def scope(self, window: Window) -> tuple[ScopedRecord, ...]:
        return self._access.scope(window)

    def release(self, custodian_id: str, authorisation: ReleaseAuthorisation,
                scoped: tuple[ScopedRecord, ...]) -> list:
        party = self.ids.index(custodian_id)
        return self.deployment.release(party, authorisation, self._verifier, scoped,
                                       self._clock)

    def open(self, window: Window, authorisation: ReleaseAuthorisation,
             recovery_key: X25519PrivateKey) -> Attempt:
        return self._access.open(window, authorisation, recovery_key)
