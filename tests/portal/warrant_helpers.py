"""Builders for the warrant tests: judges with key files' keys, a registry, a reference
warrant (target C1, a two-day window, ten days' validity) and a failing log."""

from __future__ import annotations

from audit.note import Signer
from authority_portal.warrants.judges import Judge, JudgeRegistry
from authority_portal.warrants.model import Warrant

DAY = 86_400
T0 = 1_700_000_000


def judge(name: str = "J1") -> Signer:
    return Signer.generate(name)


def registry(*signers: Signer, jurisdiction: str = "JA",
             jurisdictions: dict | None = None) -> JudgeRegistry:
    jurisdictions = jurisdictions or {}
    return JudgeRegistry(Judge(s.name, jurisdictions.get(s.name, jurisdiction), s.verifier)
                         for s in signers)


def warrant(**changes) -> Warrant:
    terms = dict(warrant_id="W-1", agency="Agency A", jurisdiction="JA", officer="O1",
                 targets=("C1",), window_start=T0 + 3 * DAY, window_end=T0 + 5 * DAY,
                 legal_basis="Section 8 order: reasonable grounds shown in affidavit 12.",
                 issued_at=T0, expires_at=T0 + 10 * DAY, replaces=None)
    terms.update(changes)
    return Warrant(**terms)


class FailingLog:
    """A log whose appends fail (a full disk, a lost quorum): nothing is acknowledged."""

    def append_event(self, type, actor, payload):
        raise OSError("the log refused the append")
