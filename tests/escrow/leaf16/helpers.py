"""Builders of the leaf16 tests: an EES world (the session builders are tests/builders.py)."""

from __future__ import annotations

from dataclasses import dataclass

from escrow.leaf16.hook import Leaf16Escrow
from escrow.leaf16.leaf import FamilyKey
from escrow.leaf16.module import LeafModule
from escrow.leaf16.recovery import LeafDecryptor
from escrow.leaf16.unit import EscrowAgent, program_unit


@dataclass
class EesWorld:
    """One EES family: the family key, the two agents and a module per named device."""

    family_key: FamilyKey
    agents: tuple[EscrowAgent, EscrowAgent]
    width: int

    def module(self, unit_id: int | None = None) -> LeafModule:
        return LeafModule(self.family_key, program_unit(self.agents, unit_id), self.width)

    def hook(self, unit_id: int | None = None) -> Leaf16Escrow:
        return Leaf16Escrow(self.module(unit_id))

    def decryptor(self) -> LeafDecryptor:
        return LeafDecryptor(self.family_key)


def ees_world(width: int = 16) -> EesWorld:
    return EesWorld(FamilyKey.generate(), (EscrowAgent("NIST"), EscrowAgent("Treasury")), width)
