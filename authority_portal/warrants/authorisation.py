"""The warrant as the escrow workflow's release authorisation (docs/warrants.md, "Release").

There is one release path, :func:`escrow.release.release_share` driven by
:class:`escrow.workflow.LawfulAccess`; a warrant enters it as a
:class:`WarrantAuthorisation`, a :class:`escrow.authorisation.ReleaseAuthorisation` made of:

- the approved warrant and its judges' signatures;
- one of its targets (``conversation_id``): a workflow attempt recovers one conversation's
  window (:class:`escrow.scope.Window`), so a warrant of three targets is executed as three
  authorisations;
- the records of that conversation in the warrant's window (:meth:`LawfulAccess.scope`),
  and the one-time recovery key the shares are sealed to.

Its :attr:`~WarrantAuthorisation.digest` is the SHA-256 of the RFC 8785 encoding of the
*release statement*: the warrant's hash (what the judges signed), the conversation, the
records and the recovery key. Releases bind that digest, so a release made under one
warrant, conversation, record list or recovery key is refused under any other. The issuer
is the approving judges' ids, sorted and joined with ``:``; the expiry is the warrant's.

:class:`WarrantVerifier` is the :class:`~escrow.authorisation.AuthorisationVerifier` a
custodian runs on it: the judges' signatures against *its* registry (k of m as its policy
says), validity at *its* clock (not before issue, not at or after expiry), *its*
particularity policy, and, given an :class:`ArchiveScope`, that the records are exactly
those the archive shows for the conversation and window. Every refusal is an
:class:`escrow.errors.AuthorisationError` naming the check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import rfc8785

import strictjson
from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.judges import JudgeRegistry
from authority_portal.warrants.model import Warrant, out_of_force
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import (
    JudgeSignature,
    signatures_from_json,
    verify_approval,
)
from escrow.authorisation import (
    MAX_RECORDS,
    RecordRef,
    ReleaseAuthorisation,
    check_id,
    check_recovery_key,
)
from escrow.errors import AuthorisationError
from escrow.scope import Archive, Screen, Window, records_in_scope

STATEMENT_FORMAT = "escrowlab-warrant-release-v1"
AUTHORISATION_FORMAT = "escrowlab-warrant-authorisation-v1"


def warrant_window(warrant: Warrant, conversation_id: str) -> Window:
    """The window of one of ``warrant``'s targets, as the workflow recovers it."""
    if conversation_id not in warrant.targets:
        raise AuthorisationError(f"warrant {warrant.warrant_id} does not name "
                                 f"{conversation_id!r}")
    return Window(conversation_id, float(warrant.window_start), float(warrant.window_end))


@dataclass(frozen=True)
class WarrantAuthorisation:
    """One target of an approved warrant, as a release authorisation (module docstring)."""

    warrant: Warrant
    signatures: tuple[JudgeSignature, ...]
    conversation_id: str
    records: tuple[RecordRef, ...]
    recovery_key: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.warrant, Warrant):
            raise AuthorisationError("a warrant authorisation carries a Warrant")
        if not isinstance(self.signatures, tuple) or not self.signatures or not all(
                isinstance(s, JudgeSignature) for s in self.signatures):
            raise AuthorisationError("a warrant authorisation carries its judges' signatures")
        warrant_window(self.warrant, self.conversation_id)
        if not isinstance(self.records, tuple) or not all(isinstance(r, RecordRef)
                                                          for r in self.records):
            raise AuthorisationError("a warrant authorisation's records are RecordRef values")
        if not 1 <= len(self.records) <= MAX_RECORDS:
            raise AuthorisationError(f"a warrant authorisation names 1..{MAX_RECORDS} records")
        if len({(r.record_digest, r.context_digest) for r in self.records}) != \
                len(self.records):
            raise AuthorisationError("a warrant authorisation names each record once")
        strays = [r for r in self.records if r.conversation_id != self.conversation_id]
        if strays:
            raise AuthorisationError(f"a record of {strays[0].conversation_id!r} is not of "
                                     f"the authorised conversation {self.conversation_id!r}")
        check_recovery_key(self.recovery_key)
        check_id(self.issuer, "warrant authorisation issuer")

    @property
    def authorisation_id(self) -> str:
        return self.warrant.warrant_id

    @property
    def issuer(self) -> str:
        return ":".join(sorted({s.judge_id for s in self.signatures}))

    @property
    def not_after(self) -> float:
        return float(self.warrant.expires_at)

    @property
    def window(self) -> Window:
        return warrant_window(self.warrant, self.conversation_id)

    def statement(self) -> dict:
        return {"format": STATEMENT_FORMAT, "warrant_sha256": self.warrant.sha256.hex(),
                "conversation_id": self.conversation_id,
                "records": [r.to_json() for r in self.records],
                "recovery_key": self.recovery_key.hex()}

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(rfc8785.dumps(self.statement())).digest()

    def to_json(self) -> dict:
        return {"format": AUTHORISATION_FORMAT, "warrant": self.warrant.to_json(),
                "signatures": [s.to_json() for s in self.signatures],
                "conversation_id": self.conversation_id,
                "records": [r.to_json() for r in self.records],
                "recovery_key": self.recovery_key.hex()}

    @classmethod
    def from_json(cls, data: object) -> WarrantAuthorisation:
        strictjson.fields(data, {"format": str, "warrant": dict, "signatures": list,
                                 "conversation_id": str, "records": list,
                                 "recovery_key": str},
                          what="warrant authorisation", error=AuthorisationError)
        if data["format"] != AUTHORISATION_FORMAT:
            raise AuthorisationError(f"unknown warrant authorisation format "
                                     f"{data['format']!r}")
        if len(data["records"]) > MAX_RECORDS:
            raise AuthorisationError(f"a warrant authorisation names 1..{MAX_RECORDS} records")
        try:
            warrant = Warrant.from_json(data["warrant"])
            signatures = signatures_from_json(data["signatures"])
            key = bytes.fromhex(data["recovery_key"])
        except WarrantError as exc:
            raise AuthorisationError(str(exc)) from None
        except ValueError:
            raise AuthorisationError("the recovery key is hex") from None
        return cls(warrant, signatures, data["conversation_id"],
                   tuple(RecordRef.from_json(r) for r in data["records"]), key)


def authorise(warrant: Warrant, signatures: tuple[JudgeSignature, ...], conversation_id: str,
              scoped: object, recovery_key: bytes) -> WarrantAuthorisation:
    """The authorisation of ``conversation_id`` under ``warrant``, naming the records of
    ``scoped`` (:meth:`escrow.workflow.LawfulAccess.scope` of :func:`warrant_window`)."""
    return WarrantAuthorisation(warrant, tuple(signatures), conversation_id,
                                tuple(s.ref for s in scoped), recovery_key)


Scope = Callable[[Window], frozenset[tuple[bytes, bytes]]]
"""The (record SHA-256, context SHA-256) of every open chain of a window, read from an archive."""


class ArchiveScope:
    """A :data:`Scope` that reads a relay archive itself, under a deployment's screen."""

    def __init__(self, archive: Archive, screen: Screen) -> None:
        self.archive = archive
        self.screen = screen

    def __call__(self, window: Window) -> frozenset[tuple[bytes, bytes]]:
        return frozenset((s.ref.record_digest, s.ref.context_digest) for s in records_in_scope(
            self.screen, self.archive, window.conversation_id, window.start, window.end))


class WarrantVerifier:
    """A custodian's check of a :class:`WarrantAuthorisation` (module docstring)."""

    def __init__(self, registry: JudgeRegistry, policy: ParticularityPolicy,
                 scope: Scope | None = None) -> None:
        self.registry = registry
        self.policy = policy
        self.scope = scope

    def verify(self, authorisation: ReleaseAuthorisation, now: float) -> None:
        if not isinstance(authorisation, WarrantAuthorisation):
            raise AuthorisationError("this custodian accepts only judge-signed warrants")
        w = authorisation.warrant
        try:
            judges = verify_approval(w, authorisation.signatures, self.registry,
                                     self.policy.judges_required)
            self.policy.check(w)
        except WarrantError as exc:
            raise AuthorisationError(str(exc)) from None
        if ":".join(judges) != authorisation.issuer:
            raise AuthorisationError(f"warrant {w.warrant_id}: issuer {authorisation.issuer} "
                                     f"is not the approving judges {':'.join(judges)}")
        refusal = out_of_force("warrant", w.warrant_id, w.issued_at, w.expires_at, now,
                               "this custodian's clock")
        if refusal:
            raise AuthorisationError(refusal)
        if self.scope is not None:
            expected = self.scope(authorisation.window)
            named = {(r.record_digest, r.context_digest) for r in authorisation.records}
            if named != expected:
                raise AuthorisationError(
                    f"warrant {w.warrant_id}: the request names {len(named - expected)} "
                    f"record(s) outside {authorisation.conversation_id} in the warrant's "
                    f"window and leaves out {len(expected - named)} of it: a release covers "
                    "exactly the warrant's conversation and window")
