"""The attack tests read the records the scenarios measured (escrowlab/scenarios/): one
implementation of each attack, run here at CI sizes (``Params(seed, full=False)``) and by
``escrowlab attacks`` for the report. Each (scenario, mode) runs once per test process."""

from __future__ import annotations

import functools

from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, get

SEED = 0


@functools.cache
def run(scenario_id: str, mode: str) -> tuple[Outcome, ...]:
    return tuple(get(scenario_id).run(mode, Params(seed=SEED)))


def outcome(scenario_id: str, mode: str, variant: str) -> Outcome:
    """The one record of ``variant``."""
    matches = [o for o in run(scenario_id, mode) if o.variant == variant]
    assert len(matches) == 1, [o.variant for o in run(scenario_id, mode)]
    return matches[0]


def modes(scenario_id: str) -> tuple[str, ...]:
    return get(scenario_id).modes
