"""Lawful recovery: archived envelopes + at least t releases -> exactly the requested
messages (issue 5, "Release and recovery"; DESIGN.md, "Data flow" 5).

:func:`recover` takes the relay's archive entries of one conversation (each
the envelope bytes and the relay's receipt time), a window ``[start, end)``
judged by receipt time only (never by the time a sender claims), and the
custodians' :class:`~escrow.release.ShareRelease` objects. For every chain
with a message in the window it:

1. keeps the releases that the named custodian of the pinned set signed, for
   this set's epoch, the archived record *and* its archived context, under the
   authorisation being executed (when named), and that open under the one-time
   recovery key (which the release also names);
2. combines exactly t of them with SLIP-39's recovery (:mod:`escrow.shares`),
   trying other t-subsets when the digest or the record check fails, so it
   never needs more than t good shares;
3. accepts a chain key only if it recomputes the archived record byte for
   byte, then recomputes every share and names each custodian whose released
   share differs (the culprits);
4. decrypts the in-window messages with :func:`messaging.hooks.open_message`.

It also measures over-collection: how many archived messages outside the
window the recovered chain keys open (chain granularity), without returning
their plaintext. Fewer than t good shares for any chain in scope raises
:class:`~escrow.errors.InsufficientSharesError` naming the chain.

Every mode built on the threshold record shares this code
(:func:`recover_chains`); a mode supplies only its :data:`Unlock` strategy,
"the chain key from a combined secret and the archived record" (here
:func:`threshold_unlock`; puzzle solving in :mod:`escrow.crumple.recovery`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow import shares
from escrow.context import RecordContext
from escrow.errors import InsufficientSharesError, RecordFormatError, RecoveryError, ShareError
from escrow.record import parse_record, record_digest
from escrow.release import ShareRelease
from escrow.threshold import BuiltRecord, ThresholdEscrow
from messaging.errors import DecryptionError, WireFormatError
from messaging.hooks import open_message
from messaging.wire import Envelope, parse_envelope


class ArchivedEnvelope(Protocol):
    """What recovery reads of one relay archive entry."""

    envelope: bytes
    received_at: float


@dataclass(frozen=True)
class RecoveredMessage:
    received_at: float
    sender: str
    recipient: str
    chain_number: int
    message_number: int
    plaintext: bytes = field(repr=False)


@dataclass(frozen=True)
class WindowReport:
    """What a recovery of one conversation's window read and could have read (any mode)."""

    conversation_id: str
    start: float
    end: float
    messages: tuple[RecoveredMessage, ...] = field(repr=False)
    messages_in_scope: int
    out_of_scope_recoverable: int
    chains_recovered: int

    @property
    def messages_recovered(self) -> int:
        return len(self.messages)

    def to_json(self) -> dict:
        return {
            "conversation_id": self.conversation_id,
            "window": [self.start, self.end],
            "messages_in_scope": self.messages_in_scope,
            "messages_recovered": self.messages_recovered,
            "out_of_scope_recoverable": self.out_of_scope_recoverable,
            "chains_recovered": self.chains_recovered,
        }


@dataclass(frozen=True)
class RecoveryReport(WindowReport):
    """A threshold-record recovery: also which custodians' shares it used or caught."""

    custodians_used: tuple[str, ...]
    culprits: tuple[str, ...]
    ignored_releases: int

    def to_json(self) -> dict:
        return {**super().to_json(), "custodians_used": list(self.custodians_used),
                "culprits": list(self.culprits), "ignored_releases": self.ignored_releases}


@dataclass
class ArchivedChain:
    """One chain of the conversation: its archived record, context and envelopes."""

    context: RecordContext
    record: bytes
    in_window: list[tuple[float, Envelope]] = field(default_factory=list)
    outside: list[Envelope] = field(default_factory=list)


@dataclass(frozen=True)
class UnlockedChain:
    """A chain key confirmed against its archived record, and that record rebuilt."""

    chain_key: bytes = field(repr=False)
    built: BuiltRecord = field(repr=False)


Unlock = Callable[[bytes, ArchivedChain], "UnlockedChain | None"]
"""A mode's recovery strategy: the chain key that a combined secret stands for, confirmed by
recomputing the archived record byte for byte; ``None`` when this secret does not confirm."""


def threshold_unlock(hook: ThresholdEscrow) -> Unlock:
    """The strategy of ``threshold`` and its subclasses: the hook's
    :meth:`~escrow.threshold.ThresholdEscrow.chain_key_from_secret`, then the record check."""

    def unlock(secret: bytes, chain: ArchivedChain) -> UnlockedChain | None:
        chain_key = hook.chain_key_from_secret(secret, chain.context)
        built = hook.build(chain.context.with_chain_key(chain_key))
        return UnlockedChain(chain_key, built) if built.record == chain.record else None

    return unlock


def archived_chains(entries: Iterable[ArchivedEnvelope], conversation_id: str, start: float,
                    end: float) -> tuple[dict[bytes, ArchivedChain], int]:
    """The conversation's chains with a message received in ``[start, end)``, by record
    digest (one record per chain), and the number of in-window messages."""
    if not start < end:
        raise RecoveryError("the window [start, end) is empty")
    chains: dict[bytes, ArchivedChain] = {}
    in_scope = 0
    for entry in entries:
        try:
            envelope = parse_envelope(entry.envelope)
        except WireFormatError as exc:
            raise RecoveryError(f"archive entry at {entry.received_at} does not parse: {exc}") \
                from None
        if envelope.conversation_id != conversation_id:
            continue
        digest = record_digest(envelope.header.record)
        chain = chains.setdefault(digest, ArchivedChain(RecordContext.of_envelope(envelope),
                                                        envelope.header.record))
        if start <= entry.received_at < end:
            chain.in_window.append((entry.received_at, envelope))
            in_scope += 1
        else:
            chain.outside.append(envelope)
    return {d: c for d, c in chains.items() if c.in_window}, in_scope


def read_chain(chain: ArchivedChain, chain_key: bytes, identity_of: Callable[[str], Any]
               ) -> tuple[list[RecoveredMessage], int]:
    """Decrypt the chain's in-window messages (:class:`RecoveryError` if one does not open),
    and count the archived messages outside the window that ``chain_key`` also opens."""
    messages = [RecoveredMessage(received_at, envelope.sender, envelope.recipient,
                                 envelope.header.chain_number, envelope.header.message_number,
                                 _open(chain_key, envelope, identity_of))
                for received_at, envelope in chain.in_window]
    over = 0
    for envelope in chain.outside:
        try:
            _open(chain_key, envelope, identity_of)
        except RecoveryError:
            continue
        over += 1
    return messages, over


_Released = dict[tuple[bytes, bytes], dict[int, bytes]]


def _good_releases(hook: ThresholdEscrow, releases: Sequence[ShareRelease],
                   recovery_key: X25519PrivateKey, authorisation_id: str | None
                   ) -> tuple[_Released, int]:
    """{(record digest, context digest): {custodian index: share}} of authentic releases
    (for ``authorisation_id`` when it is given); count of ignored."""
    cset = hook.custodian_set
    good: _Released = {}
    ignored = 0
    for release in releases:
        index = release.custodian_index
        member = cset.members[index] if 0 <= index < cset.n else None
        key = (release.record_digest, release.context_digest)
        value = None
        if (member is not None and member.custodian_id == release.custodian_id
                and release.set_fingerprint == cset.fingerprint
                and release.set_epoch == cset.epoch
                and authorisation_id in (None, release.authorisation_id)
                and release.verify(member)):
            value = release.open(recovery_key)
        if value is None or index in good.get(key, {}):
            ignored += 1
            continue
        good.setdefault(key, {})[index] = value
    return good, ignored


def _recover_chain(hook: ThresholdEscrow, chain: ArchivedChain, released: dict[int, bytes],
                   unlock: Unlock) -> tuple[bytes, tuple[int, ...], tuple[int, ...]]:
    """(chain key, indices used, indices whose share was wrong) for one chain."""
    t = hook.custodian_set.threshold
    where = chain.context.describe()
    if len(released) < t:
        raise InsufficientSharesError(
            f"{where}: {len(released)} authentic release(s), {t} needed"
        )
    try:
        identifier = parse_record(chain.record).identifier
    except RecordFormatError as exc:
        raise RecoveryError(f"{where}: {exc}") from None
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
        return unlocked.chain_key, subset, wrong
    raise InsufficientSharesError(
        f"{where}: no {t} of the {len(released)} released shares combine to the chain key "
        f"(fewer than {t} good shares)"
    )


def recover_chains(hook: ThresholdEscrow, entries: Iterable[ArchivedEnvelope],
                   conversation_id: str, start: float, end: float,
                   releases: Sequence[ShareRelease], recovery_key: X25519PrivateKey,
                   identity_of: Callable[[str], Any], unlock: Unlock,
                   authorisation_id: str | None = None) -> RecoveryReport:
    """Steps 1-4 of the module docstring for any mode, with ``unlock`` its strategy."""
    chains, in_scope = archived_chains(entries, conversation_id, start, end)
    good, ignored = _good_releases(hook, releases, recovery_key, authorisation_id)
    members = hook.custodian_set.members
    used: set[int] = set()
    wrong: set[int] = set()
    messages: list[RecoveredMessage] = []
    over = 0
    for digest, chain in chains.items():
        released = good.get((digest, chain.context.digest()), {})
        chain_key, subset, bad = _recover_chain(hook, chain, released, unlock)
        used.update(subset)
        wrong.update(bad)
        read, more = read_chain(chain, chain_key, identity_of)
        messages += read
        over += more
    messages.sort(key=lambda m: m.received_at)
    return RecoveryReport(conversation_id, start, end, tuple(messages), in_scope, over,
                          len(chains), tuple(members[i].custodian_id for i in sorted(used)),
                          tuple(members[i].custodian_id for i in sorted(wrong)), ignored)


def recover(hook: ThresholdEscrow, entries: Iterable[ArchivedEnvelope], conversation_id: str,
            start: float, end: float, releases: Sequence[ShareRelease],
            recovery_key: X25519PrivateKey, identity_of: Callable[[str], Any], *,
            authorisation_id: str | None = None) -> RecoveryReport:
    """Recover the messages of ``conversation_id`` received in ``[start, end)``.

    ``identity_of(address)`` returns the ``IdentityPublic`` the relay holds for a
    device (the message AEAD binds both identities). With ``authorisation_id``,
    only releases made under that authorisation count.
    """
    return recover_chains(hook, entries, conversation_id, start, end, releases, recovery_key,
                          identity_of, threshold_unlock(hook), authorisation_id)


def _open(chain_key: bytes, envelope: Envelope, identity_of: Callable[[str], Any]) -> bytes:
    try:
        return open_message(chain_key, envelope, identity_of(envelope.sender),
                            identity_of(envelope.recipient))
    except DecryptionError as exc:
        raise RecoveryError(
            f"{RecordContext.of_envelope(envelope).describe()} message "
            f"{envelope.header.message_number}: does not decrypt with the recovered key ({exc})"
        ) from None
