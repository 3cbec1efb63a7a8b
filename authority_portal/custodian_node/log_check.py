"""A node's own view of the audit log (docs/custodian_node.md, "Log, then act").

The node trusts no one's word that a warrant was approved. It is given the log's receipt of
the ``warrant.approved`` entry and checks, itself:

- the receipt's checkpoint carries the log's signature and a quorum of known witnesses'
  cosignatures (:func:`audit.receipt.verify_receipt`, C2SP tlog-cosignature);
- the entry is included under that checkpoint (RFC 9162 inclusion proof);
- the entry is the approval of *this* warrant (type, hash, the judges who signed);
- that checkpoint and the last one the node saw are consistent (RFC 9162 consistency proof
  asked of the log, checked by :func:`audit.proof.verify_consistency`), so a log that shows
  the node a fork or a rolled-back tree is caught.

It appends its own decision through the same log and accepts the append only with a receipt
that passes the same checks. :class:`NodeLog` is what it needs of the log;
:class:`LocalLog` adapts an in-process :class:`audit.log.AuditLog`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from audit.checkpoint import Checkpoint
from audit.errors import AuditError
from audit.log import AuditLog
from audit.note import Verifier
from audit.proof import verify_consistency
from audit.receipt import Receipt, verify_receipt
from authority_portal.custodian_node.errors import NodeError

APPROVED_TYPE = "warrant.approved"


class NodeLog(Protocol):
    def append_event(self, type: str, actor: str, payload: Mapping[str, Any]) -> Receipt: ...

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]: ...


class LocalLog:
    """A :class:`NodeLog` over an in-process :class:`AuditLog`."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def append_event(self, type: str, actor: str, payload: Mapping[str, Any]) -> Receipt:
        return self.log.append_event(type, actor, payload)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        self.log.store.refresh()
        return self.log.store.consistency_proof(size1, size2)


@dataclass(frozen=True)
class LogTrust:
    """The log key, the witness keys and the quorum a node accepts checkpoints under."""

    log_key: Verifier
    witness_keys: tuple[Verifier, ...]
    quorum: int

    def __post_init__(self) -> None:
        if isinstance(self.quorum, bool) or not isinstance(self.quorum, int) or \
                not 1 <= self.quorum <= len(self.witness_keys):
            raise NodeError("a node needs a witness quorum of 1..(number of witness keys): "
                            "without one, no entry it sees is witnessed")


def check_receipt(receipt: Receipt, trust: LogTrust) -> Checkpoint:
    """The checkpoint of a receipt whose entry is included under a quorum-cosigned
    checkpoint; :class:`NodeError` otherwise."""
    try:
        return verify_receipt(receipt, trust.log_key, trust.witness_keys, trust.quorum)
    except AuditError as exc:
        raise NodeError(f"not proven in the witnessed log: {exc}") from None


def check_approval_entry(receipt: Receipt, warrant_sha256: bytes, judges: Sequence[str]) -> None:
    try:
        entry = receipt.event()
    except AuditError as exc:
        raise NodeError(f"the approval receipt's entry does not parse: {exc}") from None
    if entry.type != APPROVED_TYPE:
        raise NodeError(f"the receipt is of a {entry.type!r} entry, not the warrant's "
                        "approval")
    if entry.payload.get("warrant_sha256") != warrant_sha256.hex():
        raise NodeError("the logged approval is of another warrant (hash differs)")
    if entry.payload.get("judges") != list(judges):
        raise NodeError("the logged approval names other judges than the warrant's "
                        "signatures")


def check_consistent(log: NodeLog, seen: Checkpoint | None, new: Checkpoint) -> Checkpoint:
    """The newer of ``seen`` and ``new`` after proving one extends the other."""
    if seen is None:
        return new
    old, young = (seen, new) if seen.size <= new.size else (new, seen)
    try:
        proof = [] if old.size == young.size else log.consistency_proof(old.size, young.size)
        verify_consistency(old.size, young.size, proof, old.root, young.root)
    except AuditError as exc:
        raise NodeError(f"the log's checkpoint of size {new.size} is not consistent with the "
                        f"one of size {seen.size} this node saw before: {exc}") from None
    return young
