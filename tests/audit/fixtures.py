"""Shared audit fixtures (registered in the root conftest, used by tests/audit): a manual clock,
a log key, three witnesses with their own state, a 2-of-3 quorum and a log."""

from __future__ import annotations

import pytest

from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.witness import Witness

ORIGIN = "audit.escrowlab.test/log"


class ManualClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def log_signer() -> Signer:
    return Signer.generate(ORIGIN)


@pytest.fixture
def witnesses(tmp_path, log_signer, clock) -> list[Witness]:
    ws = [Witness.generate(f"witness-{i}.test", [log_signer.verifier],
                           tmp_path / f"witness-{i}.db", clock) for i in range(3)]
    yield ws
    for w in ws:
        w.close()


@pytest.fixture
def quorum(witnesses) -> WitnessQuorum:
    return WitnessQuorum(witnesses, 2)


@pytest.fixture
def log(tmp_path, log_signer, clock, quorum) -> AuditLog:
    audit_log = AuditLog.open(tmp_path / "audit.db", log_signer, clock=clock, quorum=quorum)
    yield audit_log
    audit_log.close()
