"""EES units, unit keys and the two escrow agents (FIPS 185, "Escrowed Encryption Standard", 1994).

In EES every chip is a *unit* with a 32-bit unit identifier (UID) and an
80-bit unit key KU programmed in at manufacture. The unit key is split into two
components whose exclusive-or is KU; each component is deposited with one of
two escrow agents (NIST and the Treasury's Automated Systems Division). Lawful
recovery obtains both components for the UID found in a LEAF.

Here the unit key is an AES-256 key (it wraps our 256-bit chain keys with
RFC 3394 key wrap), so each component is 256 bits. One component is uniformly
random and the other is the unit key XOR that component, so either component
alone is independent of the unit key.

The agents release a unit key only for a LEAF that unwraps under it
(:func:`release_unit_key`): both components meet only inside that joint step
(what EES's tamper-resistant decrypt processor was for), which checks the RFC
3394 key-unwrap integrity value of the LEAF's escrowed field under their XOR
and hands out the key, and logs the release with both agents, only when it
holds. A LEAF redirected to another unit's id, or forged, releases nothing.

An agent takes part in a lawful recovery by a :class:`UnitKeyRelease`
(:meth:`EscrowAgent.release_for`): after checking the authorisation itself, it lets the
joint step use its components for the LEAFs of that authorisation's recovery. The release
carries no key material; the components meet only in :func:`release_unit_key`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from escrow.authorisation import AuthorisationVerifier, ReleaseAuthorisation
from escrow.leaf16.errors import EscrowAgentError, Leaf16Error

UNIT_ID_BITS = 32
UNIT_KEY_LENGTH = 32
MAX_CASE_LENGTH = 200


def new_unit_id() -> int:
    """A random 32-bit unit id (EES assigned them at the programming facility)."""
    return secrets.randbits(UNIT_ID_BITS)


def check_unit_id(unit_id: int) -> int:
    """Return ``unit_id`` if it is an integer in [0, 2^32); raise :class:`Leaf16Error` otherwise."""
    if not isinstance(unit_id, int) or isinstance(unit_id, bool):
        raise Leaf16Error("a unit id is an integer")
    if not 0 <= unit_id < 1 << UNIT_ID_BITS:
        raise Leaf16Error(f"a unit id is a {UNIT_ID_BITS}-bit unsigned integer")
    return unit_id


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def split_unit_key(unit_key: bytes) -> tuple[bytes, bytes]:
    """Split ``unit_key`` into two components whose XOR is the key (FIPS 185 key escrow)."""
    if not isinstance(unit_key, bytes) or len(unit_key) != UNIT_KEY_LENGTH:
        raise Leaf16Error(f"a unit key is {UNIT_KEY_LENGTH} bytes")
    first = os.urandom(UNIT_KEY_LENGTH)
    return first, _xor(unit_key, first)


def combine_components(first: bytes, second: bytes) -> bytes:
    """The unit key from its two components."""
    for component in (first, second):
        if not isinstance(component, bytes) or len(component) != UNIT_KEY_LENGTH:
            raise Leaf16Error(f"a unit-key component is {UNIT_KEY_LENGTH} bytes")
    return _xor(first, second)


@dataclass(frozen=True)
class Unit:
    """One device's EES identity: its unit id and its unit key (secret, no ``repr``)."""

    unit_id: int
    unit_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_unit_id(self.unit_id)
        if not isinstance(self.unit_key, bytes) or len(self.unit_key) != UNIT_KEY_LENGTH:
            raise Leaf16Error(f"a unit key is {UNIT_KEY_LENGTH} bytes")


@dataclass(frozen=True)
class Release:
    """One component an agent handed out: which unit, for which case (no key material)."""

    unit_id: int
    case: str


@dataclass(frozen=True)
class UnitKeyRelease:
    """An agent's consent, under one authorisation (its id, issuer and digest), to the joint
    unit-key release of the LEAFs that authorisation's recovery reads (no key material)."""

    agent: EscrowAgent = field(repr=False)
    authorisation_id: str
    issuer: str
    authorisation_digest: bytes

    @property
    def agent_name(self) -> str:
        return self.agent.name


class EscrowAgent:
    """One of the two EES escrow agents: holds one key component per unit id.

    Components are released one unit at a time for a named case, and every
    release is recorded in :attr:`releases` (EES agents logged every request).
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise Leaf16Error("an escrow agent needs a name")
        self.name = name
        self._components: dict[int, bytes] = {}
        self.releases: list[Release] = []

    def __repr__(self) -> str:
        return f"EscrowAgent(name={self.name!r}, units={len(self._components)})"

    def deposit(self, unit_id: int, component: bytes) -> None:
        """Store the component of ``unit_id``; a unit id is deposited once."""
        check_unit_id(unit_id)
        if not isinstance(component, bytes) or len(component) != UNIT_KEY_LENGTH:
            raise EscrowAgentError(f"a unit-key component is {UNIT_KEY_LENGTH} bytes")
        if unit_id in self._components:
            raise EscrowAgentError(f"agent {self.name} already holds unit {unit_id:#010x}")
        self._components[unit_id] = component

    def holds(self, unit_id: int) -> bool:
        return unit_id in self._components

    def release_for(self, authorisation: ReleaseAuthorisation, verifier: AuthorisationVerifier,
                    now: float) -> UnitKeyRelease:
        """This agent's :class:`UnitKeyRelease` for ``authorisation``, once ``verifier`` (the
        agent's own) finds it genuine and unexpired at ``now``; :class:`AuthorisationError`
        otherwise, with nothing released."""
        verifier.verify(authorisation, now)
        return UnitKeyRelease(self, authorisation.authorisation_id, authorisation.issuer,
                              authorisation.digest)

    def _component(self, unit_id: int, case: str) -> bytes:
        """The component of ``unit_id``, for :func:`release_unit_key` only."""
        check_unit_id(unit_id)
        if not isinstance(case, str) or not case.strip() or len(case) > MAX_CASE_LENGTH:
            raise EscrowAgentError(f"a release names its case (1..{MAX_CASE_LENGTH} characters)")
        component = self._components.get(unit_id)
        if component is None:
            raise EscrowAgentError(f"agent {self.name} holds no component for unit {unit_id:#010x}")
        return component


def release_unit_key(agents: tuple[EscrowAgent, EscrowAgent], unit_id: int,
                     wrapped_chain_key: bytes, case: str) -> bytes:
    """Both agents' release of ``unit_id``'s key for ``case``, for a LEAF whose escrowed field
    is ``wrapped_chain_key``: the key, only if that field unwraps under it (RFC 3394,
    section 2.2.3); :class:`EscrowAgentError`, with nothing released or logged, otherwise."""
    if len(agents) != 2 or agents[0] is agents[1]:
        raise Leaf16Error("a unit key is released by both of its two escrow agents")
    unit_key = combine_components(*(agent._component(unit_id, case) for agent in agents))
    try:
        aes_key_unwrap(unit_key, wrapped_chain_key)
    except (InvalidUnwrap, ValueError):
        raise EscrowAgentError(
            f"the LEAF's escrowed key does not unwrap under unit {unit_id:#010x}'s key (a LEAF "
            "redirected to this unit, or forged): the agents release nothing"
        ) from None
    for agent in agents:
        agent.releases.append(Release(unit_id, case))
    return unit_key


def program_unit(agents: tuple[EscrowAgent, EscrowAgent], unit_id: int | None = None) -> Unit:
    """The programming facility: make a unit key, deposit its two components, return the unit."""
    if len(agents) != 2 or agents[0] is agents[1]:
        raise Leaf16Error("EES splits each unit key between exactly two distinct escrow agents")
    unit_id = new_unit_id() if unit_id is None else check_unit_id(unit_id)
    if any(agent.holds(unit_id) for agent in agents):
        raise EscrowAgentError(f"unit {unit_id:#010x} is already programmed")
    unit_key = os.urandom(UNIT_KEY_LENGTH)
    first, second = split_unit_key(unit_key)
    agents[0].deposit(unit_id, first)
    agents[1].deposit(unit_id, second)
    return Unit(unit_id, unit_key)
