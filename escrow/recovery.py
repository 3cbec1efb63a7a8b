"""Lawful recovery of threshold records: the archive + at least t releases of one
authorisation -> exactly the requested messages, chain by chain (docs/architecture.md,
"Data flow" 6). The reports every mode's recovery returns are defined here too
(:class:`ChainReport`, :class:`WindowReport`).

:func:`recover_chains` reads the relay's archive (:class:`escrow.scope.Archive`: the
whole archived conversation, not what a caller chose to pass), a window
``[start, end)`` judged by receipt time only (never by the time a sender
claims), the custodians' :class:`~escrow.release.ShareRelease` objects and the
authorisation it executes. It scans the window once (:func:`escrow.scope.scan_window`,
the same definition :func:`escrow.scope.records_in_scope` uses), then for every
chain the scan left open it:

1. keeps the releases that the named custodian of the pinned set signed, for
   this set's epoch, the archived record *and* its archived context, under
   *this* authorisation (its SHA-256 digest, id and issuer; releases of any
   other authorisation are ignored and counted), and that open under the
   one-time recovery key (which the release also names);
2. combines exactly t of them with SLIP-39's recovery (:mod:`escrow.shares`),
   trying other t-subsets when the digest or the record check fails, so it
   never needs more than t good shares;
3. accepts a chain key only if it recomputes the archived record byte for
   byte, then recomputes every share and names each custodian whose released
   share differs (the culprits);
4. decrypts the chain's in-window messages with
   :func:`messaging.hooks.open_chain`; one that does not open is counted,
   not raised.

No chain stops another: every chain in the window is reported
(:class:`ChainReport`) as recovered, not escrowed, not released, forged or
undecryptable, or not a participant's, with the reason. A chain whose record
also appears, recovered, under another context is reported as a forged copy.

It also measures over-collection: how many archived messages of the
conversation outside the window the recovered chain keys open (chain
granularity), without returning their plaintext, and says in the JSON what
that was computed against.

Every mode built on the threshold record shares this code; a mode supplies only its
:data:`Unlock` strategy, "the chain key from a combined secret and the archived record"
(:func:`escrow.threshold.recovery.threshold_unlock`; puzzle solving in
:mod:`escrow.crumple.recovery`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow import shares
from escrow.authorisation import ReleaseAuthorisation
from escrow.errors import RecoveryError, ShareError
from escrow.record import parse_record
from escrow.release import ShareRelease
from escrow.scope import (
    FORGED,
    NOT_RELEASED,
    OUTCOMES,
    RECOVERED,
    Archive,
    ArchivedChain,
    WindowScan,
    scan_window,
)
from escrow.threshold.hook import BuiltRecord, ThresholdEscrow
from messaging.hooks import open_chain


@dataclass(frozen=True)
class RecoveredMessage:
    received_at: float
    sender: str
    recipient: str
    chain_number: int
    message_number: int
    plaintext: bytes = field(repr=False)


@dataclass(frozen=True)
class ChainReport:
    """What became of one chain with a message in the window."""

    chain: str
    sender: str
    recipient: str
    chain_number: int
    record_sha256: str
    outcome: str
    reason: str
    messages_in_window: int
    messages_recovered: int

    def to_json(self) -> dict:
        return {"chain": self.chain, "sender": self.sender, "recipient": self.recipient,
                "chain_number": self.chain_number, "record_sha256": self.record_sha256,
                "outcome": self.outcome, "reason": self.reason,
                "messages_in_window": self.messages_in_window,
                "messages_recovered": self.messages_recovered}


def chain_report(chain: ArchivedChain, recovered: int = 0) -> ChainReport:
    c = chain.context
    return ChainReport(c.describe(), c.sender, c.recipient, c.chain_number,
                       chain.record_digest.hex(), chain.outcome or NOT_RELEASED, chain.reason,
                       len(chain.in_window), recovered)


@dataclass(frozen=True)
class WindowReport:
    """What a recovery of one conversation's window read and could have read (any mode)."""

    conversation_id: str
    start: float
    end: float
    messages: tuple[RecoveredMessage, ...] = field(repr=False)
    messages_in_scope: int
    messages_undecryptable: int
    out_of_scope_recoverable: int
    over_collection_basis: dict
    chains: tuple[ChainReport, ...]
    unreadable_entries: int

    @property
    def messages_recovered(self) -> int:
        return len(self.messages)

    @property
    def chains_recovered(self) -> int:
        return self.outcome_counts()[RECOVERED]

    def outcome_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for chain in self.chains:
            counts[chain.outcome] += 1
        return counts

    @property
    def complete(self) -> bool:
        """True when every escrowed chain of the conversation's participants was recovered."""
        counts = self.outcome_counts()
        return counts[NOT_RELEASED] == counts[FORGED] == 0

    def to_json(self) -> dict:
        return {
            "conversation_id": self.conversation_id,
            "window": [self.start, self.end],
            "messages_in_scope": self.messages_in_scope,
            "messages_recovered": self.messages_recovered,
            "messages_undecryptable": self.messages_undecryptable,
            "out_of_scope_recoverable": self.out_of_scope_recoverable,
            "out_of_scope_computed_against": self.over_collection_basis,
            "chains_recovered": self.chains_recovered,
            "chain_outcomes": self.outcome_counts(),
            "chains": [c.to_json() for c in self.chains],
            "unreadable_entries": self.unreadable_entries,
        }


@dataclass(frozen=True)
class RecoveryReport(WindowReport):
    """A threshold-record recovery: also which authorisation it executed and which
    custodians' shares it used or caught."""

    authorisation_sha256: str
    custodians_used: tuple[str, ...]
    culprits: tuple[str, ...]
    ignored_releases: int

    def to_json(self) -> dict:
        return {**super().to_json(), "authorisation_sha256": self.authorisation_sha256,
                "custodians_used": list(self.custodians_used),
                "culprits": list(self.culprits), "ignored_releases": self.ignored_releases}


@dataclass(frozen=True)
class UnlockedChain:
    """A chain key confirmed against its archived record, and that record rebuilt."""

    chain_key: bytes = field(repr=False)
    built: BuiltRecord = field(repr=False)


Unlock = Callable[[bytes, ArchivedChain], "UnlockedChain | None"]
"""A mode's recovery strategy: the chain key that a combined secret stands for, confirmed by
recomputing the archived record byte for byte; ``None`` when this secret does not confirm."""


def read_chain(chain: ArchivedChain, chain_key: bytes, identity_of: Callable[[str], Any]
               ) -> tuple[list[RecoveredMessage], int, int]:
    """(in-window messages decrypted, in-window envelopes that do not open, archived
    messages outside the window that ``chain_key`` also opens).

    The whole archived chain is opened in one pass (:func:`messaging.hooks.open_chain`),
    so an injected envelope with a huge message number costs no work.
    """
    window = [envelope for _, envelope in chain.in_window]
    opened = open_chain(chain_key, [*window, *chain.outside], identity_of)
    messages = [
        RecoveredMessage(received_at, envelope.sender, envelope.recipient,
                         envelope.header.chain_number, envelope.header.message_number,
                         plaintext)
        for (received_at, envelope), plaintext in zip(chain.in_window, opened, strict=False)
        if plaintext is not None
    ]
    over = sum(plaintext is not None for plaintext in opened[len(window):])
    return messages, len(window) - len(messages), over


_Released = dict[tuple[bytes, bytes], dict[int, bytes]]


def _good_releases(hook: ThresholdEscrow, releases: Sequence[ShareRelease],
                   recovery_key: X25519PrivateKey, authorisation: ReleaseAuthorisation
                   ) -> tuple[_Released, int]:
    """{(record digest, context digest): {custodian index: share}} of authentic releases
    of ``authorisation``; count of ignored."""
    cset = hook.custodian_set
    good: _Released = {}
    ignored = 0
    terms = (authorisation.digest, authorisation.authorisation_id, authorisation.issuer)
    for release in releases:
        index = release.custodian_index
        member = cset.members[index] if 0 <= index < cset.n else None
        key = (release.record_digest, release.context_digest)
        value = None
        if (member is not None and member.custodian_id == release.custodian_id
                and (release.authorisation_digest, release.authorisation_id,
                     release.issuer) == terms
                and release.set_fingerprint == cset.fingerprint
                and release.set_epoch == cset.epoch
                and release.verify(member)):
            value = release.open(recovery_key)
        if value is None or index in good.get(key, {}):
            ignored += 1
            continue
        good.setdefault(key, {})[index] = value
    return good, ignored


def _recover_chain(hook: ThresholdEscrow, chain: ArchivedChain, released: dict[int, bytes],
                   unlock: Unlock) -> tuple[bytes, tuple[int, ...], tuple[int, ...]] | None:
    """(chain key, indices used, indices whose share was wrong) for one chain, or ``None``
    with the chain settled and its reason."""
    t = hook.custodian_set.threshold
    if len(released) < t:
        chain.settle(NOT_RELEASED, f"{len(released)} authentic release(s) of this chain "
                                   f"under the authorisation, {t} needed")
        return None
    identifier = parse_record(chain.record).identifier  # screened: it parses
    tried: set[bytes] = set()
    for subset in itertools.combinations(sorted(released), t):
        try:
            secret = shares.combine(identifier, t, {i: released[i] for i in subset})
        except ShareError:
            continue
        if secret in tried:
            continue
        tried.add(secret)
        unlocked = unlock(secret, chain)
        if unlocked is None:
            continue
        wrong = tuple(i for i, v in released.items() if v != unlocked.built.share_values[i])
        chain.settle(RECOVERED, f"{t} of {len(released)} released shares combine to a chain "
                                "key that recomputes the archived record")
        return unlocked.chain_key, subset, wrong
    chain.settle(FORGED, f"no {t} of the {len(released)} released shares combine to a chain "
                         "key that recomputes the archived record: a record that does not "
                         f"conform, or fewer than {t} good shares")
    return None


def _check_terms(authorisation: ReleaseAuthorisation, recovery_key: X25519PrivateKey) -> None:
    if not isinstance(authorisation, ReleaseAuthorisation):
        raise RecoveryError("recovery executes one authorisation: pass the ReleaseAuthorisation "
                            "whose releases it may use")
    public = recovery_key.public_key().public_bytes_raw()
    if authorisation.recovery_key != public:
        raise RecoveryError(f"the recovery key is not the one authorisation "
                            f"{authorisation.authorisation_id} names")


def _mark_copies(chains: Sequence[ArchivedChain]) -> None:
    """A chain left unreleased whose record was recovered under another context is a copy."""
    recovered = {c.record_digest: c for c in chains if c.outcome == RECOVERED}
    for chain in chains:
        original = recovered.get(chain.record_digest)
        if chain.outcome == NOT_RELEASED and original is not None:
            chain.settle(FORGED, f"a copy of the record of {original.context.describe()} "
                                 "under another header: it does not open under this one")


def recover_chains(hook: ThresholdEscrow, archive: Archive, conversation_id: str,
                   start: float, end: float, releases: Sequence[ShareRelease],
                   recovery_key: X25519PrivateKey, unlock: Unlock,
                   authorisation: ReleaseAuthorisation) -> RecoveryReport:
    """Steps 1-4 of the module docstring for any mode, with ``unlock`` its strategy."""
    _check_terms(authorisation, recovery_key)
    scan = scan_window(archive, conversation_id, start, end, hook.check_record)
    good, ignored = _good_releases(hook, releases, recovery_key, authorisation)
    named = {(r.record_digest, r.context_digest) for r in authorisation.records}
    members = hook.custodian_set.members
    used: set[int] = set()
    wrong: set[int] = set()
    messages: list[RecoveredMessage] = []
    undecryptable = over = 0
    recovered_counts: dict[int, int] = {}
    for chain in scan.open_chains():
        if chain.key not in named:
            chain.settle(NOT_RELEASED, f"not named by authorisation "
                                       f"{authorisation.authorisation_id}")
            continue
        result = _recover_chain(hook, chain, good.get(chain.key, {}), unlock)
        if result is None:
            continue
        chain_key, subset, bad = result
        used.update(subset)
        wrong.update(bad)
        read, failed, more = read_chain(chain, chain_key, archive.identity)
        recovered_counts[id(chain)] = len(read)
        messages += read
        undecryptable += failed
        over += more
    _mark_copies(scan.chains)
    messages.sort(key=lambda m: m.received_at)
    return RecoveryReport(
        conversation_id, start, end, tuple(messages), scan.messages_in_scope, undecryptable,
        over, conversation_basis(scan),
        tuple(chain_report(c, recovered_counts.get(id(c), 0)) for c in scan.chains),
        scan.unreadable_entries, authorisation.digest.hex(),
        tuple(members[i].custodian_id for i in sorted(used)),
        tuple(members[i].custodian_id for i in sorted(wrong)), ignored)


def conversation_basis(scan: WindowScan) -> dict:
    """What over-collection was computed against: the whole archived conversation."""
    return {"scope": "whole archived conversation", "conversation_id": scan.conversation_id,
            "archived_envelopes": scan.archived_envelopes}
