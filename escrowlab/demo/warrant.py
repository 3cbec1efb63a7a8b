"""The demo's lawful access, for any mode: a judge's authorisation of a window, the parties'
releases and the recovery, all through the library's workflow (:mod:`escrow.workflow`).

:func:`deploy` builds the mode's deployment from the registry (:mod:`escrow.modes`) with the
options on the command line; :func:`issue` scopes a window and opens the attempt of a
freshly signed authorisation; :func:`release` has parties submit their releases to it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import SignedAuthorisation, TrustedIssuers
from escrow.errors import EscrowError
from escrow.modes import Deployment, get_mode
from escrow.scope import ScopedRecord, Window
from escrow.workflow import Attempt, LawfulAccess, Progress
from escrowlab.cli import CommandError
from messaging.clock import Clock

JUDGE = "judge-1"
WARRANT_LIFETIME = 10 * 86_400.0


def deploy(mode: str, args: argparse.Namespace) -> Deployment:
    """The in-memory deployment of ``mode`` with the parameters ``args`` carries."""
    registered = get_mode(mode)
    given = {p.name: getattr(args, p.name) for p in registered.parameters
             if hasattr(args, p.name)}
    try:
        return registered.deployment(**given)
    except EscrowError as exc:
        raise CommandError(str(exc)) from None


@dataclass
class Warrant:
    """A signed authorisation of one window, its one-time recovery key, the attempt that
    executes it and the releases submitted to that attempt so far."""

    deployment: Deployment
    window: Window
    scoped: tuple[ScopedRecord, ...]
    authorisation: SignedAuthorisation
    verifier: TrustedIssuers
    attempt: Attempt
    recovery_key: X25519PrivateKey
    releases: list = field(default_factory=list)


def issue(deployment: Deployment, archive, window: Window, authorisation_id: str,
          clock: Clock) -> Warrant:
    """Scope ``window``, have the judge sign an authorisation of its records (with a one-time
    recovery key, expiring in :data:`WARRANT_LIFETIME`) and open its attempt."""
    access = LawfulAccess(deployment, archive)
    scoped = access.scope(window)
    judge = Ed25519PrivateKey.generate()
    recovery_key = X25519PrivateKey.generate()
    authorisation = SignedAuthorisation.issue(
        JUDGE, judge, authorisation_id, tuple(s.ref for s in scoped),
        recovery_key.public_key().public_bytes_raw(), clock.now() + WARRANT_LIFETIME)
    verifier = TrustedIssuers({JUDGE: judge.public_key().public_bytes_raw()})
    attempt = access.open(window, authorisation, recovery_key)
    return Warrant(deployment, window, scoped, authorisation, verifier, attempt, recovery_key)


def release(warrant: Warrant, parties: Iterable[int], clock: Clock) -> Progress:
    """Parties ``parties`` (by number) check the warrant and submit their releases."""
    progress = warrant.attempt.progress()
    for party in parties:
        made = warrant.deployment.release(party, warrant.authorisation, warrant.verifier,
                                          warrant.scoped, clock)
        progress = warrant.attempt.submit(warrant.attempt.nonce, made)
        warrant.releases.extend(made)
    return progress
