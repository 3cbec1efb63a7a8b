"""An in-memory EES deployment of the ``leaf16`` mode: what the mode registry builds
(:mod:`escrow.modes`) and the lawful-access workflow reads (:mod:`escrow.workflow`).

:class:`EesDeployment` is one EES family: the family key every chip holds, the two escrow
agents, and the checksum width. :meth:`EesDeployment.hook_for` is the programming facility:
each device gets its own unit (unit id, unit key split between the agents) and a module
around it. A recovery needs both agents' :class:`~escrow.leaf16.unit.UnitKeyRelease`.
"""

from __future__ import annotations

from collections.abc import Sequence

from escrow.authorisation import AuthorisationVerifier, ReleaseAuthorisation
from escrow.errors import WorkflowError
from escrow.leaf16.hook import MODE, Leaf16Escrow
from escrow.leaf16.leaf import FamilyKey, check_width, parse_leaf
from escrow.leaf16.module import LeafModule
from escrow.leaf16.unit import EscrowAgent, UnitKeyRelease, program_unit
from escrow.scope import ScopedRecord
from messaging.clock import Clock

AGENTS = ("agent-1 (NIST)", "agent-2 (Treasury)")


class EesDeployment:
    """One EES family: its family key, its two agents, its checksum width, and the unit
    programmed for each device address."""

    mode = MODE
    threshold = 2

    def __init__(self, family_key: FamilyKey, agents: tuple[EscrowAgent, EscrowAgent],
                 width: int) -> None:
        if len(agents) != 2 or agents[0] is agents[1]:
            raise WorkflowError("an EES family has exactly two distinct escrow agents")
        self.family_key = family_key
        self.agents = agents
        self.width = check_width(width)
        self.units: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"EesDeployment(width={self.width}, units={len(self.units)})"

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(agent.name for agent in self.agents)

    def hook_for(self, address: str) -> Leaf16Escrow:
        """Program a new unit for ``address`` and return the hook around its module."""
        unit = program_unit(self.agents)
        self.units[address] = unit.unit_id
        return Leaf16Escrow(LeafModule(self.family_key, unit, self.width))

    def screen(self, record: bytes) -> object:
        return parse_leaf(record)

    def admit(self, release: object) -> tuple[str, tuple]:
        """(agent name, ()) of a unit-key release by one of this family's agents."""
        if not isinstance(release, UnitKeyRelease):
            raise WorkflowError(f"mode {self.mode} takes the escrow agents' unit-key releases, "
                                f"not {type(release).__name__}")
        if not any(release.agent is agent for agent in self.agents):
            raise WorkflowError(f"{release.agent_name} is not an escrow agent of this family")
        return release.agent_name, ()

    def release(self, party: int, authorisation: ReleaseAuthorisation,
                verifier: AuthorisationVerifier, scoped: Sequence[ScopedRecord],
                clock: Clock) -> list[UnitKeyRelease]:
        """Agent ``party``'s release for ``authorisation`` (its own check first)."""
        if not 0 <= party < len(self.agents):
            raise WorkflowError(f"this family has no escrow agent {party}")
        return [self.agents[party].release_for(authorisation, verifier, clock.now())]


def deploy(leaf_width: int) -> EesDeployment:
    """The registry's ``deploy`` of ``leaf16``: a new family key and two agents."""
    return EesDeployment(FamilyKey.generate(), (EscrowAgent(AGENTS[0]), EscrowAgent(AGENTS[1])),
                         leaf_width)
