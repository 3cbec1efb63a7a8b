"""What one scenario run measured: one :class:`Outcome` per (scenario, mode, variant).

The metric names are those of docs/scenarios.md ("Measured quantities"); a
record with any other metric name is refused, so that the report, its JSON and
the tests speak one vocabulary. Scenario-specific figures that are not metrics
(query counts per trial, parameters, a curve's points) go in ``details``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

METRIC_NAMES = frozenset({
    "exposed_total",
    "exposed_out_of_scope",
    "min_coalition",
    "detectable",
    "detection_latency",
    "work_log2",
    "recovery_success",
    "forged_accepted",
    "state_unchanged",
    "culprit_identified",
    "metadata_fields",
})

DETECTORS = frozenset({"none", "recipient", "log", "witness", "kt-monitor", "user-ui"})


class OutcomeError(ValueError):
    """An outcome record that does not follow docs/scenarios.md."""


def _json_value(value: Any, where: str) -> Any:
    """``value`` if it is plain JSON (no NaN or infinity), else :class:`OutcomeError`."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise OutcomeError(f"{where}: {value!r} is not a finite number")
        return value
    if isinstance(value, list | tuple):
        return [_json_value(item, where) for item in value]
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise OutcomeError(f"{where}: keys must be strings")
        return {key: _json_value(item, f"{where}.{key}") for key, item in value.items()}
    raise OutcomeError(f"{where}: {type(value).__name__} is not a JSON value")


@dataclass(frozen=True)
class Outcome:
    """One measured row of the scenario x mode matrix.

    ``expected`` states in words what docs/scenarios.md pins for this row and
    ``holds`` whether the measurement met it; a test asserts ``holds`` and, where
    it matters, the metrics themselves.
    """

    scenario: str
    mode: str
    variant: str
    expected: str
    holds: bool
    metrics: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.metrics) - METRIC_NAMES
        if unknown:
            raise OutcomeError(
                f"{self.scenario}: unknown metric(s) {sorted(unknown)}; "
                f"docs/scenarios.md names {sorted(METRIC_NAMES)}")
        detectable = self.metrics.get("detectable")
        if detectable is not None:
            named = [detectable] if isinstance(detectable, str) else list(detectable)
            wrong = set(named) - DETECTORS
            if wrong or not named:
                raise OutcomeError(f"{self.scenario}: detectable must be among "
                                   f"{sorted(DETECTORS)}, not {detectable!r}")
        if not isinstance(self.holds, bool):
            raise OutcomeError(f"{self.scenario}: holds must be a bool")
        object.__setattr__(self, "metrics", _json_value(dict(self.metrics), "metrics"))
        object.__setattr__(self, "details", _json_value(dict(self.details), "details"))

    def to_json(self) -> dict[str, Any]:
        """The record as results.json holds it."""
        return {
            "scenario": self.scenario,
            "mode": self.mode,
            "variant": self.variant,
            "expected": self.expected,
            "holds": self.holds,
            "metrics": dict(self.metrics),
            "details": dict(self.details),
        }
