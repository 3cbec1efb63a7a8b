"""The lawful-access workflow: scope -> authorisation -> parties' releases -> recovery, for any
registered mode (docs/architecture.md, "The mode registry and the lawful-access workflow").

Modelled on the operator workflow of HashiCorp Vault's root generation: a recovery is an
:class:`Attempt` that executes one authorisation; the attempt has its own random nonce,
and every submission names it; progress is k of t (distinct parties who have submitted, of
the releases the mode needs); an attempt can be cancelled; and it ends in a report.

- :meth:`LawfulAccess.scope` is what an authorisation should name: the open chains of a
  window (:func:`escrow.scope.records_in_scope` under the deployment's screen).
- :meth:`LawfulAccess.open` starts the attempt of one authorisation; one authorisation has
  at most one attempt open, and one executed attempt.
- :meth:`Attempt.submit` takes a party's releases with the attempt's nonce. Each release
  must be of this attempt's authorisation (its digest, id and issuer) and be one the
  deployment admits (its kind, from one of its parties). The same release submitted twice
  counts once; another release of what a party already released is refused. A refused
  submission changes nothing, even when some of its releases were acceptable.
- :meth:`Attempt.recover` runs the mode's recovery (:data:`escrow.modes.Recover`) on what
  was submitted and returns its per-chain report (below t, the chains are reported not
  released). Once t parties have submitted, the report is final: the attempt is executed
  and takes nothing more.
- :meth:`Attempt.cancel` drops the attempt and what was submitted to it.

Every refusal is a :class:`~escrow.errors.WorkflowError`. The workflow never holds a
party's key: releases arrive made, and the attempt only checks their binding; whether a
release is authentic and opens is recovery's check.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import ReleaseAuthorisation
from escrow.errors import WorkflowError
from escrow.modes import Deployment, Mode, get_mode
from escrow.recovery import WindowReport
from escrow.scope import Archive, ScopedRecord, Window, records_in_scope

OPEN = "open"
EXECUTED = "executed"
CANCELLED = "cancelled"
NONCE_BYTES = 16


@dataclass(frozen=True)
class Progress:
    """Where an attempt stands: ``progress`` of ``required`` parties have submitted."""

    nonce: str
    state: str
    progress: int
    required: int
    parties: tuple[str, ...]
    releases: int

    @property
    def complete(self) -> bool:
        return self.progress >= self.required

    def __str__(self) -> str:
        return f"{self.progress}/{self.required}"

    def to_json(self) -> dict:
        return {"nonce": self.nonce, "state": self.state, "progress": self.progress,
                "required": self.required, "complete": self.complete,
                "parties": list(self.parties), "releases": self.releases}


class Attempt:
    """One execution of one authorisation (module docstring); made by :meth:`LawfulAccess.open`."""

    def __init__(self, mode: Mode, deployment: Deployment, archive: Archive, window: Window,
                 authorisation: ReleaseAuthorisation, recovery_key: X25519PrivateKey) -> None:
        if not isinstance(authorisation, ReleaseAuthorisation):
            raise WorkflowError("an attempt executes a ReleaseAuthorisation")
        if not isinstance(window, Window):
            raise WorkflowError("an attempt recovers a Window")
        if not isinstance(recovery_key, X25519PrivateKey) or \
                recovery_key.public_key().public_bytes_raw() != authorisation.recovery_key:
            raise WorkflowError(f"the recovery key is not the one authorisation "
                                f"{authorisation.authorisation_id} names")
        if mode.name != deployment.mode:
            raise WorkflowError(f"a deployment of mode {deployment.mode!r} is recovered by "
                                "that mode")
        self.mode = mode
        self.deployment = deployment
        self.archive = archive
        self.window = window
        self.authorisation = authorisation
        self._recovery_key = recovery_key
        self.nonce = secrets.token_hex(NONCE_BYTES)
        self.state = OPEN
        self.report: WindowReport | None = None
        self._accepted: dict[tuple[str, tuple], object] = {}
        self._lock = threading.Lock()  # one step at a time, as Vault's generate-root lock

    def __repr__(self) -> str:
        return (f"Attempt({self.mode.name}, authorisation {self.authorisation.authorisation_id}, "
                f"{self.progress()}, {self.state})")

    def progress(self) -> Progress:
        parties = tuple(dict.fromkeys(party for party, _ in self._accepted))
        return Progress(self.nonce, self.state, len(parties), self.deployment.threshold,
                        parties, len(self._accepted))

    def _check_open(self, nonce: object) -> None:
        if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(),
                                                                 self.nonce.encode()):
            raise WorkflowError(f"wrong nonce for the attempt of authorisation "
                                f"{self.authorisation.authorisation_id}")
        if self.state != OPEN:
            raise WorkflowError(f"attempt {self.nonce} is {self.state}: it takes nothing more")

    def submit(self, nonce: str, releases: Iterable[object]) -> Progress:
        """Add a party's ``releases`` to this attempt (module docstring); the new progress."""
        with self._lock:
            return self._submit(nonce, releases)

    def _submit(self, nonce: str, releases: Iterable[object]) -> Progress:
        self._check_open(nonce)
        a = self.authorisation
        terms = (a.digest, a.authorisation_id, a.issuer)
        new: dict[tuple[str, tuple], object] = {}
        for release in releases:
            party, item = self.deployment.admit(release)
            stated = tuple(getattr(release, name, None) for name in
                           ("authorisation_digest", "authorisation_id", "issuer"))
            if stated != terms:
                raise WorkflowError(f"a release by {party} is not of authorisation "
                                    f"{a.authorisation_id} (its digest, id and issuer)")
            known = self._accepted.get((party, item), new.get((party, item)))
            if known is None:
                new[party, item] = release
            elif known != release:
                raise WorkflowError(f"{party} already submitted another release of the same "
                                    "record to this attempt")
        self._accepted.update(new)
        return self.progress()

    def recover(self) -> WindowReport:
        """The mode's recovery of the window from what was submitted (module docstring)."""
        with self._lock:
            return self._recover()

    def _recover(self) -> WindowReport:
        if self.state == EXECUTED and self.report is not None:
            return self.report
        if self.state != OPEN:
            raise WorkflowError(f"attempt {self.nonce} is {self.state}: nothing to recover")
        report = self.mode.recover(self.deployment, self.archive, self.window,
                                   self.authorisation, list(self._accepted.values()),
                                   self._recovery_key)
        if self.progress().complete:
            self.state, self.report = EXECUTED, report
        return report

    def cancel(self) -> Progress:
        """Drop this attempt and every release submitted to it."""
        with self._lock:
            return self._cancel()

    def _cancel(self) -> Progress:
        if self.state == EXECUTED:
            raise WorkflowError(f"attempt {self.nonce} was executed: it cannot be cancelled")
        self.state = CANCELLED
        self._accepted.clear()
        return self.progress()


class LawfulAccess:
    """The workflow for one deployment of one mode over one relay archive; the mode is the
    registered one of the deployment's name unless ``mode`` (of that name) is given."""

    def __init__(self, deployment: Deployment, archive: Archive, mode: Mode | None = None
                 ) -> None:
        mode = get_mode(deployment.mode) if mode is None else mode
        if not isinstance(mode, Mode) or mode.name != deployment.mode:
            raise WorkflowError(f"a deployment of mode {deployment.mode!r} is recovered by "
                                "that mode")
        self.mode = mode
        self.deployment = deployment
        self.archive = archive
        self._attempts: dict[bytes, Attempt] = {}

    def __repr__(self) -> str:
        return f"LawfulAccess({self.mode.name}, {len(self._attempts)} attempt(s))"

    def scope(self, window: Window) -> tuple[ScopedRecord, ...]:
        """The records an authorisation of ``window`` names (one per open chain)."""
        return tuple(records_in_scope(self.deployment.screen, self.archive,
                                      window.conversation_id, window.start, window.end))

    def open(self, window: Window, authorisation: ReleaseAuthorisation,
             recovery_key: X25519PrivateKey) -> Attempt:
        """Start the attempt of ``authorisation`` over ``window``, to be recovered with the
        one-time ``recovery_key`` it names."""
        if not isinstance(authorisation, ReleaseAuthorisation):
            raise WorkflowError("an attempt executes a ReleaseAuthorisation")
        current = self._attempts.get(authorisation.digest)
        if current is not None and current.state != CANCELLED:
            raise WorkflowError(f"authorisation {authorisation.authorisation_id} already has "
                                f"an attempt ({current.state})")
        attempt = Attempt(self.mode, self.deployment, self.archive, window, authorisation,
                          recovery_key)
        self._attempts[authorisation.digest] = attempt
        return attempt

    def attempt(self, nonce: str) -> Attempt:
        """The attempt with ``nonce``."""
        for attempt in self._attempts.values():
            if isinstance(nonce, str) and hmac.compare_digest(nonce.encode(),
                                                              attempt.nonce.encode()):
                return attempt
        raise WorkflowError("no attempt has this nonce")
