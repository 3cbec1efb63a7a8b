"""Lawful recovery of a chain key from a LEAF (FIPS 185 and the EES key-escrow procedures).

The EES path, step by step: the family-key holder decrypts the LEAF and reads
the unit id; both escrow agents release their unit-key components for that
unit id; their XOR is the unit key; it unwraps the escrowed chain key (RFC 3394
key unwrap, whose integrity check exposes a LEAF that carries no real key);
the chain key then opens the chain's archived messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from escrow.leaf16.errors import EscrowAgentError, Leaf16Error, LeafRecoveryError
from escrow.leaf16.leaf import FamilyKey, open_body, parse_leaf
from escrow.leaf16.unit import EscrowAgent, combine_components


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
