"""Lawful recovery of a chain key from a LEAF (FIPS 185 and the EES key-escrow procedures).

The EES path, step by step: the family-key holder decrypts the LEAF and reads
the unit id; both escrow agents release their unit-key components for that
unit id; their XOR is the unit key; it unwraps the escrowed chain key (RFC 3394
key unwrap, whose integrity check exposes a LEAF that carries no real key);
the chain key then opens the chain's archived messages.

:func:`recover` does this for every chain of one conversation with a message
received in a window ``[start, end)`` (judged by the relay's receipt time, never
by the sender's claim), decrypts exactly the in-window messages with
:func:`messaging.hooks.open_message`, and counts how many archived messages
outside the window the recovered keys also open (chain granularity).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from escrow.errors import RecoveryError
from escrow.leaf16.errors import EscrowAgentError, Leaf16Error, LeafRecoveryError
from escrow.leaf16.leaf import FamilyKey, open_body, parse_leaf
from escrow.leaf16.unit import EscrowAgent, combine_components
from escrow.recovery import (
    ArchivedEnvelope,
    RecoveredMessage,
    WindowReport,
    archived_chains,
    read_chain,
)


@dataclass(frozen=True)
class LeafContents:
    """What the family key alone reveals about a LEAF: the unit id (and the still-wrapped key)."""

    width: int
    unit_id: int
    wrapped_chain_key: bytes = field(repr=False)


@dataclass(frozen=True)
class RecoveredChain:
    """A chain key recovered through both agents, with the unit id it was escrowed under."""

    unit_id: int
    chain_key: bytes = field(repr=False)


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


def recover_chain_key(
    decryptor: LeafDecryptor,
    record: bytes,
    agents: tuple[EscrowAgent, EscrowAgent],
    case: str,
) -> RecoveredChain:
    """Family key -> unit id -> both agents' components -> unit key -> chain key.

    Raises :class:`LeafRecoveryError` when an agent holds no component for the
    LEAF's unit id or the escrowed field does not unwrap under the unit key
    (both happen for a forged LEAF).
    """
    if len(agents) != 2:
        raise Leaf16Error("recovery needs both escrow agents")
    contents = decryptor.read(record)
    unit = f"{contents.unit_id:#010x}"
    try:
        first = agents[0].release(contents.unit_id, case)
        second = agents[1].release(contents.unit_id, case)
    except EscrowAgentError as exc:
        raise LeafRecoveryError(
            f"the LEAF names unit {unit}, for which the escrow agents cannot release a key: {exc}"
        ) from None
    unit_key = combine_components(first, second)
    try:
        chain_key = aes_key_unwrap(unit_key, contents.wrapped_chain_key)
    except InvalidUnwrap:
        raise LeafRecoveryError(
            f"the LEAF's escrowed key does not unwrap under unit {unit}'s key: "
            "the LEAF passed a checksum but carries no escrowed chain key (forged)"
        ) from None
    return RecoveredChain(contents.unit_id, chain_key)


@dataclass(frozen=True)
class Leaf16RecoveryReport(WindowReport):
    """What one leaf16 recovery read, which units it named, and what else it could read."""

    unit_ids: tuple[int, ...]

    def to_json(self) -> dict:
        return {**super().to_json(), "unit_ids": [f"{u:#010x}" for u in self.unit_ids]}


def recover(
    decryptor: LeafDecryptor,
    agents: tuple[EscrowAgent, EscrowAgent],
    entries: Iterable[ArchivedEnvelope],
    conversation_id: str,
    start: float,
    end: float,
    case: str,
    identity_of: Callable[[str], Any],
) -> Leaf16RecoveryReport:
    """Recover the messages of ``conversation_id`` received in ``[start, end)``.

    Raises :class:`LeafRecoveryError` naming the chain whose LEAF yields no key.
    ``identity_of(address)`` returns the device's ``IdentityPublic``.
    """
    try:
        chains, in_scope = archived_chains(entries, conversation_id, start, end)
    except RecoveryError as exc:
        raise LeafRecoveryError(str(exc)) from None
    messages: list[RecoveredMessage] = []
    units: list[int] = []
    over = 0
    for chain in chains.values():
        try:
            recovered = recover_chain_key(decryptor, chain.record, agents, case)
        except LeafRecoveryError as exc:
            raise LeafRecoveryError(f"{chain.context.describe()}: {exc}") from None
        try:
            read, more = read_chain(chain, recovered.chain_key, identity_of)
        except RecoveryError as exc:
            raise LeafRecoveryError(str(exc)) from None
        if recovered.unit_id not in units:
            units.append(recovered.unit_id)
        messages += read
        over += more
    messages.sort(key=lambda m: m.received_at)
    return Leaf16RecoveryReport(conversation_id, start, end, tuple(messages), in_scope, over,
                                len(chains), tuple(units))
