"""The judge registry: who may sign warrants, with which key, for which jurisdiction
(docs/warrants.md, "Judges").

Each custodian node holds its own registry (docs/custodian_node.md): a warrant is approved
for a node only by keys that node lists. A judge's key is an Ed25519 note key
(:class:`audit.note.Signer`, kept in a key file by :mod:`audit.keyfile`); the registry holds
its public half as a C2SP verifier key (``<name>+<key id>+<key>``), whose name is the judge's
id, and the jurisdiction the judge sits in. The key id (C2SP signed-note, "Signatures") is
how a signature names its key.

The file is JSON, read strictly: ``{"format": "escrowlab-judge-registry-v1", "judges":
[{"id": ..., "jurisdiction": ..., "vkey": ...}, ...]}``; ids and key ids are unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import rfc8785

import strictjson
from audit.errors import AuditError
from audit.note import SIG_TYPE_ED25519, Verifier
from authority_portal.warrants.errors import WarrantError

REGISTRY_FORMAT = "escrowlab-judge-registry-v1"
JUDGE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")
"""Judge ids: short, and without ':' (which joins the judges of one approval)."""
MAX_JUDGES = 256
MAX_REGISTRY_BYTES = 256 * 1024


def check_judge_id(value: object) -> str:
    if not isinstance(value, str) or not JUDGE_ID_PATTERN.fullmatch(value):
        raise WarrantError("a judge id is 1..20 letters, digits, '.', '_' or '-'")
    return value


@dataclass(frozen=True)
class Judge:
    """One registered judge: id, jurisdiction, and the Ed25519 verifier key."""

    judge_id: str
    jurisdiction: str
    verifier: Verifier

    def __post_init__(self) -> None:
        check_judge_id(self.judge_id)
        strictjson.text(self.jurisdiction, what="judge jurisdiction", error=WarrantError,
                        max_length=128)
        if not self.jurisdiction or not self.jurisdiction.isprintable():
            raise WarrantError(f"judge {self.judge_id}: jurisdiction must be printable text")
        if not isinstance(self.verifier, Verifier) or self.verifier.sig_type != \
                SIG_TYPE_ED25519:
            raise WarrantError(f"judge {self.judge_id}: the key is an Ed25519 note key")
        if self.verifier.name != self.judge_id:
            raise WarrantError(f"judge {self.judge_id}: the key is named "
                               f"{self.verifier.name!r}, not the judge's id")

    @property
    def key_id(self) -> bytes:
        return self.verifier.key_id

    def to_json(self) -> dict:
        return {"id": self.judge_id, "jurisdiction": self.jurisdiction,
                "vkey": self.verifier.vkey}

    @classmethod
    def from_json(cls, data: object) -> Judge:
        strictjson.fields(data, {"id": str, "jurisdiction": str, "vkey": str},
                          what="judge", error=WarrantError)
        try:
            verifier = Verifier.from_vkey(data["vkey"])
        except AuditError as exc:
            raise WarrantError(f"judge {data['id']!r}: {exc}") from None
        return cls(data["id"], data["jurisdiction"], verifier)


class JudgeRegistry:
    """The judges one party (a custodian node, the portal) accepts signatures from."""

    def __init__(self, judges: Iterable[Judge]) -> None:
        judges = tuple(judges)
        if not all(isinstance(j, Judge) for j in judges):
            raise WarrantError("a judge registry holds Judge entries")
        if len(judges) > MAX_JUDGES:
            raise WarrantError(f"a judge registry lists at most {MAX_JUDGES} judges")
        self._by_id = {j.judge_id: j for j in judges}
        self._by_key = {j.key_id: j for j in judges}
        if len(self._by_id) != len(judges) or len(self._by_key) != len(judges):
            raise WarrantError("a judge registry lists each judge id and each key once")

    def __repr__(self) -> str:
        return f"JudgeRegistry({', '.join(self._by_id)})"

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def judges(self) -> tuple[Judge, ...]:
        return tuple(self._by_id.values())

    def by_key_id(self, key_id: bytes) -> Judge | None:
        return self._by_key.get(key_id)

    def get(self, judge_id: str) -> Judge | None:
        return self._by_id.get(judge_id)

    def to_json(self) -> dict:
        return {"format": REGISTRY_FORMAT, "judges": [j.to_json() for j in self.judges]}

    def encode(self) -> bytes:
        return rfc8785.dumps(self.to_json())

    @classmethod
    def loads(cls, data: bytes | str) -> JudgeRegistry:
        obj = strictjson.loads(data, what="judge registry", error=WarrantError,
                               allow_floats=False, max_bytes=MAX_REGISTRY_BYTES)
        strictjson.fields(obj, {"format": str, "judges": list}, what="judge registry",
                          error=WarrantError)
        if obj["format"] != REGISTRY_FORMAT:
            raise WarrantError(f"unknown judge registry format {obj['format']!r}")
        return cls(Judge.from_json(j) for j in obj["judges"])
