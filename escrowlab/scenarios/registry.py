"""The registry of scenarios: every module of this package registers its own.

A family module decorates a function ``run(params, mode) -> list[Outcome]`` with
:func:`scenario`; :func:`load_all` imports every module of the package, so a new
family is one new file. Ids and slugs are those of docs/scenarios.md.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from escrowlab.scenarios.record import Outcome

ID_PATTERN = re.compile(r"S\d\d")
SLUG_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
INFRASTRUCTURE = frozenset({"record", "registry"})


class ScenarioError(LookupError):
    """An unknown scenario id, a duplicate registration, or a mode it does not apply to."""


@dataclass(frozen=True)
class Params:
    """What every scenario run is given: the seed, quick (tests) or ``full`` sizes, and the
    hashers a user brings beside the registered ones (``hashers``: Apple's NeuralHash from
    their own files, which S28 and S29 then run too; docs/css_hashing.md, "NeuralHash")."""

    seed: int = 0
    full: bool = False
    hashers: tuple = ()


Runner = Callable[[Params, str], Sequence[Outcome]]


@dataclass(frozen=True)
class Scenario:
    """One catalogue entry: id, slug, one-line title, the modes it applies to, its runner."""

    id: str
    slug: str
    title: str
    modes: tuple[str, ...]
    runner: Runner

    def run(self, mode: str, params: Params | None = None) -> list[Outcome]:
        """Run under ``mode``; every record returned names this scenario and mode."""
        if mode not in self.modes:
            raise ScenarioError(f"{self.id} {self.slug} does not apply to mode {mode!r} "
                                f"(it applies to {', '.join(self.modes)})")
        outcomes = list(self.runner(params or Params(), mode))
        for outcome in outcomes:
            if outcome.scenario != self.id or outcome.mode != mode:
                raise ScenarioError(f"{self.id}: runner returned a record for "
                                    f"{outcome.scenario}/{outcome.mode}")
        return outcomes


_REGISTRY: dict[str, Scenario] = {}


def scenario(id: str, slug: str, title: str, modes: Sequence[str]) -> Callable[[Runner], Runner]:
    """Register the decorated runner as scenario ``id`` (docs/scenarios.md, "Catalogue")."""
    if not ID_PATTERN.fullmatch(id) or not SLUG_PATTERN.fullmatch(slug):
        raise ScenarioError(f"bad scenario id or slug: {id!r} {slug!r}")
    if not modes:
        raise ScenarioError(f"{id}: no modes")

    def register(runner: Runner) -> Runner:
        if id in _REGISTRY and _REGISTRY[id].runner is not runner:
            raise ScenarioError(f"scenario {id} registered twice")
        _REGISTRY[id] = Scenario(id, slug, title, tuple(modes), runner)
        return runner

    return register


def load_all() -> None:
    """Import every family module of this package (each registers its scenarios)."""
    package = importlib.import_module("escrowlab.scenarios")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in INFRASTRUCTURE and not info.name.startswith("_"):
            importlib.import_module(f"escrowlab.scenarios.{info.name}")


def get(id: str) -> Scenario:
    """The scenario with this id, after loading every family."""
    load_all()
    try:
        return _REGISTRY[id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ScenarioError(f"unknown scenario {id!r} (registered: {known})") from None


def all_scenarios() -> list[Scenario]:
    """Every registered scenario, by id."""
    load_all()
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]
