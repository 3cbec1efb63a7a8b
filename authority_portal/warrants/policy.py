"""The particularity policy: how broad a warrant may be (docs/warrants.md, "Particularity").

A warrant must describe with particularity what it reaches. :class:`ParticularityPolicy`
turns that into limits a machine can check, enforced by the portal when a warrant is filed
and again, on its own, by every custodian node before it releases anything
(docs/custodian_node.md):

- ``max_targets``: how many conversations one warrant may name;
- ``max_window``: the longest window of relay receipt times, in seconds;
- ``max_validity``: the longest time from issue to expiry, in seconds;
- ``forbid_wildcards``: no target may contain a pattern character (``*``, ``?``, ``%``,
  ``[``, ``]``) or be a bare conversation prefix (``dm:``, ``dm:alice:``, ``group:``),
  so "every chat of a user" cannot be written as one target;
- ``judges_required``: how many distinct judges must sign (k of the m registered).

:meth:`ParticularityPolicy.violations` lists every limit a warrant breaks, in words;
:meth:`ParticularityPolicy.check` raises :class:`PolicyError` with all of them. The policy
is a plain value with a canonical JSON form, so a node's policy can be written to a file
and compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import strictjson
from authority_portal.warrants.errors import PolicyError
from authority_portal.warrants.model import MAX_TARGETS, Warrant

DAY = 86_400
WILDCARD_CHARACTERS = frozenset("*?%[]")
PREFIXES = ("dm:", "group:")
MAX_JUDGES_REQUIRED = 3
"""An approval's judge ids are joined into one issuer name (at most 64 characters)."""
POLICY_FORMAT = "escrowlab-particularity-policy-v1"


def is_wildcard(target: str) -> bool:
    """True for a target that stands for more than one named conversation."""
    if any(ch in WILDCARD_CHARACTERS for ch in target):
        return True
    for prefix in PREFIXES:
        if target.startswith(prefix):
            rest = target[len(prefix):]
            parts = rest.split(":")
            return not rest or (prefix == "dm:" and (len(parts) != 2 or not all(parts)))
    return False


@dataclass(frozen=True)
class ParticularityPolicy:
    """Limits on one warrant (module docstring); the defaults are the lab's."""

    max_targets: int = 5
    max_window: int = 31 * DAY
    max_validity: int = 30 * DAY
    forbid_wildcards: bool = True
    judges_required: int = 1

    def __post_init__(self) -> None:
        for name, high in (("max_targets", MAX_TARGETS), ("max_window", 2**53),
                           ("max_validity", 2**53), ("judges_required", MAX_JUDGES_REQUIRED)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise PolicyError(f"policy {name} must be an integer in 1..{high}")
        if not isinstance(self.forbid_wildcards, bool):
            raise PolicyError("policy forbid_wildcards is true or false")

    @classmethod
    def unlimited(cls, judges_required: int = 1) -> ParticularityPolicy:
        """No particularity limit at all (what S09 measures the exposure ceiling under)."""
        return cls(MAX_TARGETS, 2**53, 2**53, False, judges_required)

    def violations(self, warrant: Warrant) -> list[str]:
        found = []
        if len(warrant.targets) > self.max_targets:
            found.append(f"names {len(warrant.targets)} targets; at most {self.max_targets} "
                         "allowed")
        if warrant.window_length > self.max_window:
            found.append(f"window of {warrant.window_length / DAY:g} days; at most "
                         f"{self.max_window / DAY:g} allowed")
        if warrant.validity > self.max_validity:
            found.append(f"valid for {warrant.validity / DAY:g} days; at most "
                         f"{self.max_validity / DAY:g} allowed")
        if self.forbid_wildcards:
            wild = [t for t in warrant.targets if is_wildcard(t)]
            if wild:
                found.append(f"wildcard or prefix target(s) {', '.join(wild[:5])}: name each "
                             "conversation")
        return found

    def check(self, warrant: Warrant, what: str = "warrant") -> None:
        """:class:`PolicyError` listing every violation (``what`` names the document)."""
        found = self.violations(warrant)
        if found:
            raise PolicyError(f"{what} {warrant.warrant_id} is not particular enough: "
                              + "; ".join(found))

    def to_json(self) -> dict:
        return {"format": POLICY_FORMAT, "max_targets": self.max_targets,
                "max_window": self.max_window, "max_validity": self.max_validity,
                "forbid_wildcards": self.forbid_wildcards,
                "judges_required": self.judges_required}

    @classmethod
    def from_json(cls, data: object) -> ParticularityPolicy:
        strictjson.fields(data, {"format": str, "max_targets": int, "max_window": int,
                                 "max_validity": int, "forbid_wildcards": bool,
                                 "judges_required": int}, what="policy", error=PolicyError)
        if data["format"] != POLICY_FORMAT:
            raise PolicyError(f"unknown policy format {data['format']!r}")
        return cls(data["max_targets"], data["max_window"], data["max_validity"],
                   data["forbid_wildcards"], data["judges_required"])
