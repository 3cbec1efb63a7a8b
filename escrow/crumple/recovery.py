"""Lawful recovery under ``crumple``: t releases, then a k-bit search per chain (issue 6).

The same steps as :func:`escrow.recovery.recover` (releases checked against the
pinned set, exactly t shares combined with SLIP-39, other t-subsets tried on
failure, culprits named, exactly the in-window messages decrypted, over-collection
counted), except that the combined secret is a locked chain key: each chain's
puzzle is brute-forced (:class:`escrow.crumple.solver.SolverPool`, optionally
with several worker processes), every self-consistent candidate is confirmed
by recomputing the archived record byte for byte, and the work is reported per
chain. Each chain's puzzle size k is read from its record (the record's mode
parameter), never supplied out of band. Windows are judged by the relay's
receipt time only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow import shares
from escrow.context import RecordContext
from escrow.crumple.hook import CrumpleEscrow, puzzle_bits_of
from escrow.crumple.puzzle import PuzzleError
from escrow.crumple.solver import SolverPool
from escrow.errors import InsufficientSharesError, RecordFormatError, RecoveryError, ShareError
from escrow.record import parse_record, record_digest
from escrow.recovery import ArchivedEnvelope, RecoveredMessage
from escrow.release import ShareRelease
from messaging.errors import DecryptionError, WireFormatError
from messaging.hooks import open_message
from messaging.wire import Envelope, parse_envelope


@dataclass(frozen=True)
class ChainWork:
    """The search one chain cost: its puzzle size, candidates evaluated and seconds."""

    chain: str
    puzzle_bits: int
    work: int
    seconds: float
    false_candidates: int


@dataclass(frozen=True)
class CrumpleRecoveryReport:
    """What one crumple recovery read, could have read, and what it cost."""

    conversation_id: str
    start: float
    end: float
    puzzle_bits: int
    workers: int
    messages: tuple[RecoveredMessage, ...] = field(repr=False)
    messages_in_scope: int
    out_of_scope_recoverable: int
    chain_work: tuple[ChainWork, ...]
    custodians_used: tuple[str, ...]
    culprits: tuple[str, ...]
    ignored_releases: int

    @property
    def messages_recovered(self) -> int:
        return len(self.messages)

    @property
    def total_work(self) -> int:
        return sum(c.work for c in self.chain_work)

    @property
    def total_seconds(self) -> float:
        return sum(c.seconds for c in self.chain_work)

    @property
    def expected_work_per_chain(self) -> int:
        """2^(k-1), averaged over the chains' own k (the report's k with no chain)."""
        if not self.chain_work:
            return 2 ** (self.puzzle_bits - 1)
        return sum(2 ** (c.puzzle_bits - 1) for c in self.chain_work) // len(self.chain_work)

    def to_json(self) -> dict:
        return {
            "conversation_id": self.conversation_id,
            "window": [self.start, self.end],
            "puzzle_bits": self.puzzle_bits,
            "workers": self.workers,
            "messages_in_scope": self.messages_in_scope,
            "messages_recovered": self.messages_recovered,
            "out_of_scope_recoverable": self.out_of_scope_recoverable,
            "chains_recovered": len(self.chain_work),
            "work_per_chain": [c.work for c in self.chain_work],
            "seconds_per_chain": [round(c.seconds, 6) for c in self.chain_work],
            "puzzle_bits_per_chain": [c.puzzle_bits for c in self.chain_work],
            "expected_work_per_chain": self.expected_work_per_chain,
            "total_work": self.total_work,
            "custodians_used": list(self.custodians_used),
            "culprits": list(self.culprits),
            "ignored_releases": self.ignored_releases,
        }


@dataclass
class _Chain:
    context: RecordContext
    record: bytes
    in_window: list[tuple[float, Envelope]] = field(default_factory=list)
    outside: list[Envelope] = field(default_factory=list)


def _chains(entries: Iterable[ArchivedEnvelope], conversation_id: str, start: float,
            end: float) -> tuple[dict[bytes, _Chain], int]:
    chains: dict[bytes, _Chain] = {}
    in_scope = 0
    for entry in entries:
        try:
            envelope = parse_envelope(entry.envelope)
        except WireFormatError as exc:
            raise RecoveryError(f"archive entry at {entry.received_at} does not parse: {exc}") \
                from None
        if envelope.conversation_id != conversation_id:
            continue
        chain = chains.setdefault(record_digest(envelope.header.record),
                                  _Chain(RecordContext.of_envelope(envelope),
                                         envelope.header.record))
        if start <= entry.received_at < end:
            chain.in_window.append((entry.received_at, envelope))
            in_scope += 1
        else:
            chain.outside.append(envelope)
    return {d: c for d, c in chains.items() if c.in_window}, in_scope


def _good_releases(hook: CrumpleEscrow, releases: Sequence[ShareRelease],
                   recovery_key: X25519PrivateKey) -> tuple[dict[bytes, dict[int, bytes]], int]:
    cset = hook.custodian_set
    good: dict[bytes, dict[int, bytes]] = {}
    ignored = 0
    for release in releases:
        index = release.custodian_index
        member = cset.members[index] if 0 <= index < cset.n else None
        value = None
        if (member is not None and member.custodian_id == release.custodian_id
                and release.set_fingerprint == cset.fingerprint and release.verify(member)):
            value = release.open(recovery_key)
        if value is None or index in good.get(release.record_digest, {}):
            ignored += 1
            continue
        good.setdefault(release.record_digest, {})[index] = value
    return good, ignored


def _recover_chain(hook: CrumpleEscrow, chain: _Chain, released: dict[int, bytes],
                   pool: SolverPool):
    """(chain key, work, indices used, indices whose share was wrong) for one chain."""
    t = hook.custodian_set.threshold
    where = chain.context.describe()
    if len(released) < t:
        raise InsufficientSharesError(f"{where}: {len(released)} authentic release(s), {t} needed")
    try:
        record = parse_record(chain.record)
        hook = hook.with_puzzle_bits(puzzle_bits_of(record))
    except RecordFormatError as exc:
        raise RecoveryError(f"{where}: {exc}") from None
    identifier = record.identifier
    tried_secrets: set[bytes] = set()
    for subset in itertools.combinations(sorted(released), t):
        try:
            secret = shares.combine(identifier, t, {i: released[i] for i in subset})
        except ShareError:
            continue
        if secret in tried_secrets or len(secret) != 32:
            continue
        tried_secrets.add(secret)

        def confirm(candidate: bytes) -> bool:
            return hook.build(chain.context.with_chain_key(candidate)).record == chain.record

        try:
            solution = pool.solve(hook.puzzle(secret, chain.context), confirm)
        except PuzzleError:
            continue
        built = hook.build(chain.context.with_chain_key(solution.chain_key))
        wrong = tuple(i for i, v in released.items() if v != built.share_values[i])
        work = ChainWork(where, hook.puzzle_bits, solution.work, solution.seconds,
                         solution.false_candidates)
        return solution.chain_key, work, subset, wrong
    raise InsufficientSharesError(
        f"{where}: no {t} of the {len(released)} released shares combine to a locked chain "
        f"key whose puzzle solves (fewer than {t} good shares)"
    )


def recover(hook: CrumpleEscrow, entries: Iterable[ArchivedEnvelope], conversation_id: str,
            start: float, end: float, releases: Sequence[ShareRelease],
            recovery_key: X25519PrivateKey, identity_of: Callable[[str], Any],
            pool: SolverPool | None = None) -> CrumpleRecoveryReport:
    """Recover the messages of ``conversation_id`` received in ``[start, end)``, solving one
    puzzle per chain (in ``pool``, or in this process)."""
    if not isinstance(hook, CrumpleEscrow):
        raise RecoveryError("crumple recovery needs the CrumpleEscrow hook of the pinned set")
    if not start < end:
        raise RecoveryError("the window [start, end) is empty")
    chains, in_scope = _chains(entries, conversation_id, start, end)
    good, ignored = _good_releases(hook, releases, recovery_key)
    own_pool = pool is None
    pool = pool or SolverPool(1)
    used: set[int] = set()
    wrong: set[int] = set()
    messages: list[RecoveredMessage] = []
    work: list[ChainWork] = []
    over = 0
    try:
        for digest, chain in chains.items():
            chain_key, cost, subset, bad = _recover_chain(hook, chain, good.get(digest, {}), pool)
            work.append(cost)
            used.update(subset)
            wrong.update(bad)
            for received_at, envelope in chain.in_window:
                messages.append(RecoveredMessage(
                    received_at, envelope.sender, envelope.recipient,
                    envelope.header.chain_number, envelope.header.message_number,
                    _open(chain_key, envelope, identity_of)))
            for envelope in chain.outside:
                try:
                    _open(chain_key, envelope, identity_of)
                except RecoveryError:
                    continue
                over += 1
    finally:
        if own_pool:
            pool.close()
    messages.sort(key=lambda m: m.received_at)
    members = hook.custodian_set.members
    bits = max((w.puzzle_bits for w in work), default=hook.puzzle_bits)
    return CrumpleRecoveryReport(
        conversation_id, start, end, bits, pool.workers, tuple(messages), in_scope,
        over, tuple(work), tuple(members[i].custodian_id for i in sorted(used)),
        tuple(members[i].custodian_id for i in sorted(wrong)), ignored,
    )


def _open(chain_key: bytes, envelope: Envelope, identity_of: Callable[[str], Any]) -> bytes:
    try:
        return open_message(chain_key, envelope, identity_of(envelope.sender),
                            identity_of(envelope.recipient))
    except DecryptionError as exc:
        raise RecoveryError(
            f"{RecordContext.of_envelope(envelope).describe()} message "
            f"{envelope.header.message_number}: does not decrypt with the recovered key ({exc})"
        ) from None
