"""Run crash trials of several kinds and add up what they found (``escrowlab crash``).

Trials are interleaved (one of each kind, then the next round), so a run cut
short still covers every kind and the time estimate holds early on. Trial ``i``
of kind ``k`` draws its random choices from ``random.Random(f"{seed}:{k}:{i}")``
(kill instants still depend on timing), and works in its own temporary
directory, removed afterwards.
"""

from __future__ import annotations

import importlib
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from escrowlab.crash.outcome import Outcome

KINDS: dict[str, tuple[str, str, str]] = {
    "audit-cli": ("escrowlab.crash.audit_trials", "audit_cli_trial",
                  "escrowlab audit append processes, one SIGKILLed at a random instant"),
    "audit-api": ("escrowlab.crash.audit_trials", "audit_api_trial",
                  "an AuditLog appender SIGKILLed after a random number of receipts"),
    "witness": ("escrowlab.crash.audit_trials", "witness_trial",
                "an HTTP witness SIGKILLed mid-stream, restarted, then offered a fork"),
    "relay": ("escrowlab.crash.relay_trials", "relay_trial",
              "relay traffic over HTTP, the relay SIGKILLed and restarted on its database"),
    "lost-answer": ("escrowlab.crash.lost_answer", "lost_answer_trial",
                    "one relay write endpoint per trial: commit, drop the answer, retry"),
    "custodian": ("escrowlab.crash.custodian_trials", "custodian_trial",
                  "a custodian node SIGKILLed mid-release, restarted, asked again"),
}
"""kind -> (module, trial function, what one trial does)."""


@dataclass
class KindResult:
    trials: int = 0
    seconds: float = 0.0
    outcome: Outcome = field(default_factory=Outcome)

    def to_json(self) -> dict:
        return {"trials": self.trials, **self.outcome.to_json(),
                "seconds": round(self.seconds, 2),
                "seconds_per_trial": round(self.seconds / self.trials, 3) if self.trials else 0}


def trial_function(kind: str) -> Callable[..., Outcome]:
    module, name, _ = KINDS[kind]
    return getattr(importlib.import_module(module), name)


def run_trial(kind: str, seed: int | str, index: int) -> Outcome:
    """Trial ``index`` of ``kind``; an exception out of the trial is counted as an error."""
    rng = random.Random(f"{seed}:{kind}:{index}")
    with tempfile.TemporaryDirectory(prefix=f"escrowlab-crash-{kind}-") as work:
        try:
            return trial_function(kind)(rng, Path(work), index=index)
        except Exception as exc:  # a harness or set-up failure: reported, never hidden
            outcome = Outcome()
            outcome.problem("errors", f"the trial raised {type(exc).__name__}: {exc}")
            return outcome


def run(kinds: list[str], trials: int, seed: int | str,
        progress: Callable[[str], None] | None = None) -> dict[str, KindResult]:
    """``trials`` trials of each of ``kinds``; ``progress`` gets a line after each trial."""
    results = {kind: KindResult() for kind in kinds}
    total = trials * len(kinds)
    start = time.monotonic()
    for index in range(trials):
        for kind in kinds:
            began = time.monotonic()
            outcome = run_trial(kind, seed, index)
            result = results[kind]
            result.seconds += time.monotonic() - began
            result.trials += 1
            result.outcome.add(outcome, label=f"trial {index}: ")
            if progress is not None:
                done = index * len(kinds) + kinds.index(kind) + 1
                elapsed = time.monotonic() - start
                left = elapsed / done * (total - done)
                flag = "" if outcome.ok else "  PROBLEM: " + "; ".join(outcome.problems[:2])
                progress(f"crash: {done}/{total} trials ({kind} {index + 1}/{trials}), "
                         f"{_duration(elapsed)} elapsed, about {_duration(left)} left{flag}")
    return results


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
