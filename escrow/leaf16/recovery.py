"""Lawful recovery of a chain key from a LEAF (FIPS 185 and the EES key-escrow procedures).

The EES path, step by step: the family-key holder decrypts the LEAF and reads
the unit id; both escrow agents release the unit key for that unit id, and only
if the LEAF's escrowed field unwraps under it (:func:`escrow.leaf16.unit.release_unit_key`,
RFC 3394's integrity check); the unit key unwraps the escrowed chain key; the
chain key then opens the chain's archived messages.

:func:`recover` does this for every chain of one conversation with a message
received in a window ``[start, end)`` (judged by the relay's receipt time, never
by the sender's claim), through the same window scan as the threshold modes
(:func:`escrow.scope.scan_window`: chains of non-participants, without a LEAF or
with a malformed one are reported, not worked on), reports every chain
(recovered, or forged when the agents release nothing for its LEAF) without
stopping at a bad one, and decrypts exactly the in-window messages with
:func:`messaging.hooks.open_message`.

Over-collection is what the released unit keys open: a unit key opens every
chain its device ever escrowed, in every conversation, so
``out_of_scope_recoverable`` counts every archived message, in the whole archive,
whose LEAF names a released unit and unwraps under its key, less the in-window
messages returned; the JSON says so.

:func:`recover_window` is :func:`recover` with the mode registry's uniform signature
(:data:`escrow.modes.Recover`): the case is the authorisation's id, and the agents are those
whose :class:`~escrow.leaf16.unit.UnitKeyRelease` of that authorisation was submitted; with
fewer than both, every open chain is reported not released.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from escrow.authorisation import ReleaseAuthorisation
from escrow.leaf16.deployment import EesDeployment
from escrow.leaf16.errors import EscrowAgentError, Leaf16Error, LeafRecoveryError
from escrow.leaf16.leaf import (
    FamilyKey,
    checksum_matches,
    expected_slot,
    open_body,
    parse_leaf,
)
from escrow.leaf16.unit import EscrowAgent, UnitKeyRelease, release_unit_key
from escrow.record import record_digest
from escrow.recovery import (
    RecoveredMessage,
    WindowReport,
    chain_report,
    read_chain,
)
from escrow.scope import (
    FORGED,
    NOT_RELEASED,
    RECOVERED,
    Archive,
    Window,
    WindowScan,
    scan_window,
    walk_archive,
)
from messaging.hooks import ChainContext, open_chain
from messaging.wire import Envelope


@dataclass(frozen=True)
class LeafContents:
    """What the family key alone reveals about a LEAF: the unit id (and the still-wrapped key)."""

    width: int
    unit_id: int
    wrapped_chain_key: bytes = field(repr=False)


@dataclass(frozen=True)
class RecoveredChain:
    """A chain key recovered through both agents, with the unit id and key it was escrowed
    under (secrets: no ``repr``)."""

    unit_id: int
    chain_key: bytes = field(repr=False)
    unit_key: bytes = field(repr=False)


class LeafDecryptor:
    """The family-key holder's LEAF decrypt device (the EES law-enforcement decrypt processor)."""

    def __init__(self, family_key: FamilyKey) -> None:
        if not isinstance(family_key, FamilyKey):
            raise Leaf16Error("a LEAF decryptor holds a FamilyKey")
        self._family_key = family_key

    def __repr__(self) -> str:
        return "LeafDecryptor(<family key>)"

    def read(self, record: bytes) -> LeafContents:
        """Decrypt a LEAF with the family key; raise :class:`LeafFormatError` if malformed."""
        leaf = parse_leaf(record)
        fields = open_body(self._family_key, leaf)
        return LeafContents(leaf.width, fields.unit_id, fields.wrapped_chain_key)

    def made_for(self, record: bytes, context: ChainContext) -> bool:
        """Whether the LEAF's checksum matches ``context`` (with its chain key): false for a
        LEAF copied into another chain's envelopes."""
        leaf = parse_leaf(record)
        fields = open_body(self._family_key, leaf)
        expected = expected_slot(self._family_key, context, leaf.width, leaf.iv,
                                 fields.unit_id, fields.wrapped_chain_key)
        return checksum_matches(leaf.width, expected, fields.checksum_slot)


def recover_chain_key(
    decryptor: LeafDecryptor,
    record: bytes,
    agents: tuple[EscrowAgent, EscrowAgent],
    case: str,
) -> RecoveredChain:
    """Family key -> unit id -> both agents' release -> unit key -> chain key.

    Raises :class:`LeafRecoveryError` when the agents hold no key for the LEAF's unit id
    or its escrowed field does not unwrap under that unit's key (a forged or redirected
    LEAF): in both cases the agents release nothing.
    """
    if len(agents) != 2:
        raise Leaf16Error("recovery needs both escrow agents")
    contents = decryptor.read(record)
    try:
        unit_key = release_unit_key(agents, contents.unit_id, contents.wrapped_chain_key, case)
    except EscrowAgentError as exc:
        raise LeafRecoveryError(
            f"the LEAF names unit {contents.unit_id:#010x}; the escrow agents release "
            f"nothing: {exc}"
        ) from None
    chain_key = aes_key_unwrap(unit_key, contents.wrapped_chain_key)  # checked by the agents
    return RecoveredChain(contents.unit_id, chain_key, unit_key)


@dataclass(frozen=True)
class Leaf16RecoveryReport(WindowReport):
    """What one leaf16 recovery read, which units it named, and what else it could read."""

    unit_ids: tuple[int, ...]

    def to_json(self) -> dict:
        return {**super().to_json(), "unit_ids": [f"{u:#010x}" for u in self.unit_ids]}


def recover(
    decryptor: LeafDecryptor,
    agents: tuple[EscrowAgent, EscrowAgent],
    archive: Archive,
    conversation_id: str,
    start: float,
    end: float,
    case: str,
) -> Leaf16RecoveryReport:
    """Recover the messages of ``conversation_id`` received in ``[start, end)`` from the
    relay's ``archive`` (module docstring); every chain is reported, none raises."""
    scan = scan_window(archive, conversation_id, start, end, parse_leaf)
    messages: list[RecoveredMessage] = []
    unit_keys: dict[int, bytes] = {}
    undecryptable = 0
    recovered: dict[int, int] = {}
    for chain in scan.open_chains():
        try:
            found = recover_chain_key(decryptor, chain.record, agents, case)
        except Leaf16Error as exc:
            chain.settle(FORGED, str(exc))
            continue
        if not decryptor.made_for(chain.record, chain.context.with_chain_key(found.chain_key)):
            chain.settle(FORGED, f"the LEAF (unit {found.unit_id:#010x}) was made for another "
                                 "chain: its checksum does not match this envelope's header")
            continue
        chain.settle(RECOVERED, f"unit {found.unit_id:#010x}'s key, released by both agents, "
                                "unwraps the chain key")
        unit_keys.setdefault(found.unit_id, found.unit_key)
        read, failed, _ = read_chain(chain, found.chain_key, archive.identity)
        recovered[id(chain)] = len(read)
        messages += read
        undecryptable += failed
    opened, archived = _opened_by_units(decryptor, archive, unit_keys)
    return _report(scan, messages, undecryptable, opened, archived, recovered, unit_keys)


def _report(scan: WindowScan, messages: list[RecoveredMessage], undecryptable: int,
            opened: int, archived: int, recovered: dict[int, int],
            unit_keys: dict[int, bytes]) -> Leaf16RecoveryReport:
    messages.sort(key=lambda m: m.received_at)
    basis = {"scope": "whole archive, every conversation, under the released unit keys",
             "archived_envelopes": archived,
             "units": [f"{u:#010x}" for u in unit_keys]}
    return Leaf16RecoveryReport(
        scan.conversation_id, scan.start, scan.end, tuple(messages), scan.messages_in_scope,
        undecryptable, opened - len(messages), basis,
        tuple(chain_report(c, recovered.get(id(c), 0)) for c in scan.chains),
        scan.unreadable_entries, tuple(unit_keys))


def recover_window(deployment: EesDeployment, archive: Archive, window: Window,
                   authorisation: ReleaseAuthorisation, releases: Sequence[UnitKeyRelease],
                   recovery_key: X25519PrivateKey) -> Leaf16RecoveryReport:
    """:func:`recover` with the registry's uniform signature (module docstring); the
    recovery key is unused (a unit key opens the chain keys directly)."""
    terms = (authorisation.digest, authorisation.authorisation_id, authorisation.issuer)
    released = [agent for agent in deployment.agents
                if any(isinstance(r, UnitKeyRelease) and r.agent is agent
                       and (r.authorisation_digest, r.authorisation_id, r.issuer) == terms
                       for r in releases)]
    if len(released) == len(deployment.agents):
        return recover(LeafDecryptor(deployment.family_key), deployment.agents, archive,
                       window.conversation_id, window.start, window.end,
                       authorisation.authorisation_id)
    scan = scan_window(archive, window.conversation_id, window.start, window.end, parse_leaf)
    for chain in scan.open_chains():
        chain.settle(NOT_RELEASED, f"{len(released)} of the {len(deployment.agents)} escrow "
                                   "agents released under the authorisation, both needed")
    _, archived = _opened_by_units(LeafDecryptor(deployment.family_key), archive, {})
    return _report(scan, [], 0, 0, archived, {}, {})


def _opened_by_units(decryptor: LeafDecryptor, archive: Archive, unit_keys: dict[int, bytes]
                     ) -> tuple[int, int]:
    """(archived messages, in any conversation, that the released unit keys open; archived
    envelopes read). Each chain is opened in one pass (:func:`messaging.hooks.open_chain`)."""
    chains: dict[bytes, list[Envelope]] = {}
    envelopes, archived = walk_archive(archive)
    for envelope in envelopes:
        chains.setdefault(record_digest(envelope.header.record), []).append(envelope)
    opened = 0
    for chain in chains.values():
        chain_key = _unwrap(decryptor, chain[0].header.record, unit_keys)
        if chain_key is not None:
            opened += sum(p is not None for p in open_chain(chain_key, chain, archive.identity))
    return opened, archived


def _unwrap(decryptor: LeafDecryptor, record: bytes, unit_keys: dict[int, bytes]
            ) -> bytes | None:
    """The chain key a LEAF escrows, if it names one of ``unit_keys`` and unwraps under it."""
    try:
        contents = decryptor.read(record)
    except Leaf16Error:
        return None
    unit_key = unit_keys.get(contents.unit_id)
    if unit_key is None:
        return None
    try:
        return aes_key_unwrap(unit_key, contents.wrapped_chain_key)
    except InvalidUnwrap:
        return None
