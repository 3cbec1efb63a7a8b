"""Receipts: proof that an entry is in the log under a witnessed checkpoint.

A receipt carries the entry's bytes, its index, the RFC 9162 inclusion proof (section
2.1.3) and the signed, cosigned checkpoint it was proven against. Anyone holding the
log's verifier key and the witnesses' keys checks it offline with
:func:`verify_receipt`; nothing in it is secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import strictjson
from audit.checkpoint import Checkpoint
from audit.entries import Entry
from audit.errors import EntryError, NoteError, ProofError
from audit.note import Verifier, b64, unb64
from audit.proof import verify_inclusion
from audit.quorum import verify_checkpoint
from audit.rfc9162 import hash_leaf


@dataclass(frozen=True)
class Receipt:
    index: int
    entry: bytes
    proof: tuple[bytes, ...]
    checkpoint: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "entry": b64(self.entry),
                "proof": [b64(p) for p in self.proof], "checkpoint": self.checkpoint}

    @classmethod
    def from_json(cls, obj: Any) -> Receipt:
        """A receipt from its JSON object; every field's type is checked exactly."""
        strictjson.fields(obj, {"index": int, "entry": str, "proof": list, "checkpoint": str},
                          what="receipt", error=EntryError)
        index, proof, note = obj["index"], obj["proof"], obj["checkpoint"]
        if index < 0:
            raise EntryError("receipt index must be a non-negative integer")
        if len(proof) > 64 or not all(isinstance(p, str) for p in proof):
            raise EntryError("receipt proof is a list of at most 64 base64 strings")
        try:
            return cls(index, unb64(obj["entry"], "receipt entry"),
                       tuple(unb64(p, "proof item") for p in proof), note)
        except NoteError as exc:
            raise EntryError(f"receipt: {exc}") from None

    @classmethod
    def loads(cls, data: str | bytes) -> Receipt:
        """A receipt from JSON text (a file, an HTTP body), parsed strictly."""
        return cls.from_json(strictjson.loads(data, what="receipt", error=EntryError,
                                              allow_floats=False, max_bytes=1 << 20))

    def event(self) -> Entry:
        return Entry.decode(self.entry)


def verify_receipt(
    receipt: Receipt,
    log_key: Verifier,
    witness_keys: Sequence[Verifier] = (),
    threshold: int = 0,
) -> Checkpoint:
    """Check a receipt: a quorum-cosigned checkpoint, and the entry included under it.

    Raises :class:`NoteError`/:class:`QuorumError` for the checkpoint and
    :class:`ProofError` for the inclusion proof; returns the checkpoint on success.
    """
    checkpoint = verify_checkpoint(receipt.checkpoint, log_key, witness_keys, threshold)
    if receipt.index >= checkpoint.size:
        raise ProofError(f"entry {receipt.index} is beyond checkpoint size {checkpoint.size}")
    verify_inclusion(receipt.index, checkpoint.size, hash_leaf(receipt.entry),
                     receipt.proof, checkpoint.root)
    return checkpoint
