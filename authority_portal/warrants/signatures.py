"""Judges' approvals: Ed25519 signatures over a warrant's hash, k of m (docs/warrants.md,
"Approval").

A judge approves a warrant by signing the *approval statement*, the note text::

    escrowlab warrant approval v1
    <warrant id>
    <hex SHA-256 of the warrant's canonical encoding>

with its Ed25519 note key (:meth:`audit.note.Signer.sign`: a plain Ed25519 signature over
the text's UTF-8 bytes, RFC 8032, so a browser's WebCrypto Ed25519 makes the same one). A
:class:`JudgeSignature` names the key by its 4-byte C2SP key id.

:func:`verify_approval` checks a set of signatures against one registry, with the
``cryptography`` package: every signature must name a registered key, verify over this
warrant's statement, come from a judge of the warrant's jurisdiction, and no judge counts
twice; at least ``required`` distinct judges must approve. Any signature that fails is a
refusal (a forged signature is evidence, not noise), with a :class:`SignatureError` that
says which check failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import strictjson
from audit.errors import AuditError
from audit.note import Signer
from authority_portal.warrants.errors import SignatureError
from authority_portal.warrants.judges import JUDGE_ID_PATTERN, JudgeRegistry

STATEMENT_HEADER = "escrowlab warrant approval v1"
KEY_ID_LENGTH = 4
SIGNATURE_LENGTH = 64
MAX_SIGNATURES = 16


class Signable(Protocol):
    """What judges sign: a :class:`~authority_portal.warrants.model.Warrant` or a
    :class:`~authority_portal.warrants.detection.OrderTerms`."""

    @property
    def warrant_id(self) -> str: ...

    @property
    def jurisdiction(self) -> str: ...

    @property
    def sha256(self) -> bytes: ...


def approval_statement(warrant_id: str, warrant_sha256: bytes,
                       header: str = STATEMENT_HEADER) -> str:
    """The note text a judge signs for the warrant of this id and hash (``header`` names
    the kind of document: a detection order has its own, docs/detection_orders.md)."""
    return f"{header}\n{warrant_id}\n{warrant_sha256.hex()}\n"


@dataclass(frozen=True)
class JudgeSignature:
    """One judge's signature: the judge's id, its key id and the 64 signature bytes."""

    judge_id: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.judge_id, str) or not JUDGE_ID_PATTERN.fullmatch(self.judge_id):
            raise SignatureError("a judge signature names a judge id (1..20 letters, digits, "
                                 "'.', '_' or '-')")
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_LENGTH:
            raise SignatureError(f"a judge signature's key id is {KEY_ID_LENGTH} bytes")
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_LENGTH:
            raise SignatureError(f"a judge signature is {SIGNATURE_LENGTH} bytes")

    def to_json(self) -> dict:
        return {"judge": self.judge_id, "key_id": self.key_id.hex(),
                "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, data: object) -> JudgeSignature:
        strictjson.fields(data, {"judge": str, "key_id": str, "signature": str},
                          what="judge signature", error=SignatureError)
        try:
            key_id, signature = bytes.fromhex(data["key_id"]), bytes.fromhex(data["signature"])
        except ValueError:
            raise SignatureError("a judge signature's key id and signature are hex") from None
        return cls(data["judge"], key_id, signature)


def sign_warrant(signer: Signer, warrant: Signable,
                 header: str = STATEMENT_HEADER) -> JudgeSignature:
    """``signer``'s (a judge's note key) approval of ``warrant``."""
    try:
        signed = signer.sign(approval_statement(warrant.warrant_id, warrant.sha256, header))
    except AuditError as exc:
        raise SignatureError(f"cannot sign: {exc}") from None
    return JudgeSignature(signer.name, signed.key_id, signed.data)


def signatures_from_json(data: object) -> tuple[JudgeSignature, ...]:
    if not isinstance(data, list) or len(data) > MAX_SIGNATURES:
        raise SignatureError(f"judge signatures are a list of at most {MAX_SIGNATURES}")
    return tuple(JudgeSignature.from_json(s) for s in data)


def verify_approval(warrant: Signable, signatures: Sequence[JudgeSignature],
                    registry: JudgeRegistry, required: int = 1,
                    header: str = STATEMENT_HEADER, what: str = "warrant"
                    ) -> tuple[str, ...]:
    """The ids (sorted) of the judges whose signatures approve ``warrant`` under
    ``registry``, at least ``required`` of them; :class:`SignatureError` otherwise
    (``header`` as in :func:`approval_statement`; ``what`` names the document in errors)."""
    if isinstance(required, bool) or not isinstance(required, int) or required < 1:
        raise SignatureError("an approval needs at least one judge")
    signatures = tuple(signatures)
    if not signatures:
        raise SignatureError(f"{what} {warrant.warrant_id} carries no judge signature")
    if len(signatures) > MAX_SIGNATURES:
        raise SignatureError(f"at most {MAX_SIGNATURES} judge signatures")
    statement = approval_statement(warrant.warrant_id, warrant.sha256, header).encode()
    approved: set[str] = set()
    for signature in signatures:
        if not isinstance(signature, JudgeSignature):
            raise SignatureError("judge signatures are JudgeSignature values")
        judge = registry.by_key_id(signature.key_id)
        if judge is None:
            raise SignatureError(f"{what} {warrant.warrant_id}: key id "
                                 f"{signature.key_id.hex()} is not a judge this registry "
                                 "knows")
        if judge.judge_id != signature.judge_id:
            raise SignatureError(f"{what} {warrant.warrant_id}: key {signature.key_id.hex()} "
                                 f"is judge {judge.judge_id}'s, not {signature.judge_id}'s")
        try:
            Ed25519PublicKey.from_public_bytes(judge.verifier.public_key).verify(
                signature.signature, statement)
        except InvalidSignature:
            raise SignatureError(f"{what} {warrant.warrant_id}: judge {judge.judge_id}'s "
                                 f"signature does not verify over this {what}'s hash") from None
        if judge.jurisdiction != warrant.jurisdiction:
            raise SignatureError(f"{what} {warrant.warrant_id} is for jurisdiction "
                                 f"{warrant.jurisdiction!r}; judge {judge.judge_id} sits in "
                                 f"{judge.jurisdiction!r}")
        if judge.judge_id in approved:
            raise SignatureError(f"{what} {warrant.warrant_id}: judge {judge.judge_id} "
                                 "signed twice")
        approved.add(judge.judge_id)
    if len(approved) < required:
        raise SignatureError(f"{what} {warrant.warrant_id} is approved by {len(approved)} "
                             f"judge(s); {required} are required")
    return tuple(sorted(approved))

