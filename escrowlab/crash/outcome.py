"""What one crash trial found, and the sum over the trials of a kind.

A trial is a function ``trial(rng, work, index) -> Outcome``: ``rng`` draws its
random choices, ``work`` is an empty directory it may fill, ``index`` is the
trial's number within its kind (``lost-answer`` picks its case by it; the other
kinds draw everything from ``rng``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PROBLEMS = 20
COUNTS = ("acknowledged", "lost", "duplicated", "corrupt", "failed_restarts", "errors")


@dataclass
class Outcome:
    """Counts of one trial (or, summed, of a kind).

    ``acknowledged``: items the process under test acknowledged (receipts, cosigned
    checkpoints, accepted sends times recipient devices, prekey bundles handed out,
    completed registrations). ``lost``: acknowledged items missing after the
    restart. ``duplicated``: items present or delivered more than once (a one-time
    prekey handed out twice counts here). ``corrupt``: stores that failed a check
    after a restart. ``failed_restarts``: restarts that did not come up or did not
    work. ``errors``: any other broken guarantee (a fork cosigned, a client refused
    for good after a lost answer, an unexpected exception), each described in
    ``problems``.
    """

    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    corrupt: int = 0
    failed_restarts: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, count: str, what: str, n: int = 1) -> None:
        """Count ``n`` under ``count`` (one of :data:`COUNTS` but ``acknowledged``)."""
        if n <= 0:
            return
        setattr(self, count, getattr(self, count) + n)
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{count}: {what}")

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.corrupt or self.failed_restarts
                    or self.errors)

    def add(self, other: Outcome, label: str = "") -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for problem in other.problems:
            if len(self.problems) < MAX_PROBLEMS:
                self.problems.append(f"{label}{problem}")

    def to_json(self) -> dict:
        return {**{name: getattr(self, name) for name in COUNTS}, "problems": self.problems}
