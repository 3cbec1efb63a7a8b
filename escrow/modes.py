"""The registry of escrow modes: every chain-hook mode, listed once (docs/architecture.md,
"The mode registry and the lawful-access workflow").

A :class:`Mode` names the mode, says in one line what it models, lists its parameters
(:class:`Parameter`: default, range, help) and gives two functions:

- ``deploy(**parameters)``: an in-memory :class:`Deployment` of the mode, whose
  :meth:`~Deployment.hook_for` is the hook factory (the hook a device runs, by address);
- ``recover``: its recovery entry point, with the one signature :data:`Recover` every mode
  shares, so that the lawful-access workflow (:mod:`escrow.workflow`) drives any mode alike.

The command line (``--escrow`` and each mode's options), the demo, the benchmarks and the
tests iterate :data:`MODES`. A new chain-hook mode is one hook class and one entry here.
``ghost`` is listed too, although it is a provider capability (docs/ghost.md), and so is
``css``, a content hook (docs/css.md): their hooks escrow nothing and their recoveries read
nothing, so that the command line and the demo offer them like any other mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow import ghost, none
from escrow.authorisation import AuthorisationVerifier, ReleaseAuthorisation
from escrow.crumple import deployment as crumple_deployment
from escrow.crumple import recovery as crumple_recovery
from escrow.crumple.puzzle import MIN_PUZZLE_BITS
from escrow.crumple.solver import MAX_WORKERS
from escrow.css import mode as css_mode
from escrow.custodian_set import MAX_CUSTODIANS, MIN_THRESHOLD
from escrow.errors import ModeError
from escrow.leaf16 import deployment as leaf16_deployment
from escrow.leaf16 import recovery as leaf16_recovery
from escrow.leaf16.leaf import CHECKSUM_WIDTHS, DEFAULT_CHECKSUM_WIDTH
from escrow.recovery import WindowReport
from escrow.scope import Archive, ScopedRecord, Window
from escrow.threshold import recovery as threshold_recovery
from escrow.threshold.deployment import custodian_deploy
from messaging.clock import Clock
from messaging.hooks import EscrowHook


class Deployment(Protocol):
    """One deployment of a mode, as the workflow and the lab (demo, benchmarks, tests) use it."""

    @property
    def mode(self) -> str: ...

    @property
    def threshold(self) -> int:
        """How many distinct parties' releases a recovery needs (0: nothing to release)."""
        ...

    @property
    def parties(self) -> tuple[str, ...]:
        """Who may release (custodian ids, escrow agents' names), in the deployment's order."""
        ...

    def hook_for(self, address: str) -> EscrowHook:
        """The hook the device ``address`` runs (the mode's hook factory)."""
        ...

    def screen(self, record: bytes) -> object:
        """Raise an :class:`~escrow.errors.EscrowError` if this deployment's recipients would
        refuse ``record`` whatever the chain key (:data:`escrow.scope.Screen`)."""
        ...

    def admit(self, release: object) -> tuple[str, tuple]:
        """(party, what it releases) of one of this mode's releases by one of its parties;
        :class:`~escrow.errors.WorkflowError` otherwise."""
        ...

    def release(self, party: int, authorisation: ReleaseAuthorisation,
                verifier: AuthorisationVerifier, scoped: Sequence[ScopedRecord],
                clock: Clock) -> list:
        """Act as party number ``party`` of an in-memory deployment: its own checks, then
        its releases of ``scoped`` under ``authorisation``."""
        ...


Recover = Callable[[Deployment, Archive, Window, ReleaseAuthorisation, Sequence[object],
                    X25519PrivateKey], WindowReport]
"""``recover(deployment, archive, window, authorisation, releases, recovery_key)``: the
report of every chain of ``window`` (:class:`escrow.recovery.WindowReport` or a subclass),
using only the ``releases`` made under ``authorisation``. Never raises for a chain."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a mode: a whole number with a default and a range (or choices)."""

    name: str
    default: int
    low: int
    high: int
    help: str
    choices: tuple[int, ...] = ()

    @property
    def option(self) -> str:
        """The command-line option that sets it."""
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        return f"{self.low}..{self.high}"

    def check(self, value: object) -> int:
        """``value`` if it is a whole number this parameter allows; :class:`ModeError`."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModeError(f"{self.name} is a whole number, {self.allowed()}")
        if (self.choices and value not in self.choices) or not self.low <= value <= self.high:
            raise ModeError(f"{self.name} must be {self.allowed()}, not {value}")
        return value


@dataclass(frozen=True)
class Mode:
    """One registered escrow mode (module docstring)."""

    name: str
    description: str
    deploy: Callable[..., Deployment]
    recover: Recover
    parameters: tuple[Parameter, ...] = ()

    def parameter(self, name: str) -> Parameter:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise ModeError(f"mode {self.name} has no parameter {name!r}")

    def values(self, given: Mapping[str, object] | None = None) -> dict[str, int]:
        """Every parameter's value: ``given`` ones checked, the others their defaults."""
        given = dict(given or {})
        unknown = sorted(set(given) - {p.name for p in self.parameters})
        if unknown:
            raise ModeError(f"mode {self.name} has no parameter {', '.join(unknown)}")
        return {p.name: p.check(given.get(p.name, p.default)) for p in self.parameters}

    def deployment(self, **given: object) -> Deployment:
        """An in-memory deployment built with ``given`` parameters (defaults elsewhere)."""
        return self.deploy(**self.values(given))


_CUSTODIAN_PARAMETERS = (
    Parameter("custodians", 5, MIN_THRESHOLD, MAX_CUSTODIANS, "custodians n"),
    Parameter("threshold", 3, 1, MAX_CUSTODIANS,
              f"custodians needed to recover, t (the custodian set refuses t < {MIN_THRESHOLD} "
              "and t > n)"),
)
MAX_REGISTRY_PUZZLE_BITS = 28  # the proposal's top; k=28 is minutes of search a chain

MODES: Mapping[str, Mode] = MappingProxyType({mode.name: mode for mode in (
    Mode("none", "no escrow: the archive holds ciphertext and metadata only",
         none.deploy, none.recover_window),
    Mode("threshold",
         "t-of-n custodians hold shares of every chain key; a warrant reads a window",
         custodian_deploy(), threshold_recovery.recover_window, _CUSTODIAN_PARAMETERS),
    Mode("leaf16",
         "Clipper/EES LEAF: unit keys with two agents, a family-key chip, Blaze's forgery",
         leaf16_deployment.deploy, leaf16_recovery.recover_window,
         (Parameter("leaf_width", DEFAULT_CHECKSUM_WIDTH, min(CHECKSUM_WIDTHS),
                    max(CHECKSUM_WIDTHS), "LEAF checksum width in bits (16 as in EES)",
                    CHECKSUM_WIDTHS),)),
    Mode("crumple",
         "crypto crumple zones: threshold escrow of chain keys locked by a k-bit puzzle",
         crumple_deployment.deploy, crumple_recovery.recover_window,
         (*_CUSTODIAN_PARAMETERS,
          Parameter("puzzle_bits", 16, MIN_PUZZLE_BITS, MAX_REGISTRY_PUZZLE_BITS,
                    "puzzle size k in bits (the proposal's range is 16..28; each bit doubles "
                    "the work)"),
          Parameter("puzzle_workers", 1, 1, MAX_WORKERS,
                    "worker processes for the puzzle search at recovery"))),
    Mode("ghost",
         "GCHQ ghost: the compelled provider adds a device to a user's list; nothing escrowed",
         ghost.deploy, ghost.recover_window),
    Mode("css",
         "client-side scanning: devices attach safety vouchers; the provider matches at t",
         css_mode.deploy, css_mode.recover_window,
         (Parameter("voucher_threshold", css_mode.DEFAULT_VOUCHER_THRESHOLD,
                    css_mode.MIN_VOUCHER_THRESHOLD, css_mode.MAX_VOUCHER_THRESHOLD,
                    "matching vouchers an account needs before the provider learns anything, "
                    "t (Apple: 30)"),
          Parameter("synthetic_percent", css_mode.DEFAULT_SYNTHETIC_PERCENT, 0,
                    css_mode.MAX_SYNTHETIC_PERCENT,
                    "percent of a device's vouchers that are synthetic (hide the count "
                    "below t)"))),
)})


def get_mode(name: object) -> Mode:
    """The registered mode ``name``; :class:`ModeError` naming the registered ones."""
    mode = MODES.get(name) if isinstance(name, str) else None
    if mode is None:
        raise ModeError(f"unknown escrow mode {name!r} (registered: {', '.join(MODES)})")
    return mode


def parameters() -> dict[str, tuple[Parameter, tuple[str, ...]]]:
    """Every parameter name, its definition and the modes that take it; a name two modes
    define differently is refused (:class:`ModeError`): one option, one meaning."""
    out: dict[str, tuple[Parameter, tuple[str, ...]]] = {}
    for mode in MODES.values():
        for parameter in mode.parameters:
            known, modes = out.get(parameter.name, (parameter, ()))
            if known != parameter:
                raise ModeError(f"parameter {parameter.name} means two things in "
                                f"{', '.join(modes)} and {mode.name}")
            out[parameter.name] = (parameter, (*modes, mode.name))
    return out
