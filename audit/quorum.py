"""Witness quorums: collecting cosignatures, and accepting a checkpoint only with t of n.

A checkpoint is trusted when the log's own signature verifies and at least ``threshold``
distinct, known witnesses cosigned it (C2SP tlog-cosignature). Collection talks to any
object with ``add_checkpoint(old_size, proof, note) -> Signature`` and a ``verifier``:
an in-process :class:`audit.witness.Witness` or an HTTP client
(:class:`audit.http.witness_client.HttpWitness`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from audit.checkpoint import Checkpoint
from audit.errors import (
    AuditError,
    NoteError,
    QuorumError,
    WitnessConflictError,
    WitnessRollbackError,
)
from audit.note import SIG_TYPE_COSIGNATURE_V1, Signature, SignedNote, Verifier, parse_note

DEFAULT_THRESHOLD = 2


class WitnessClient(Protocol):
    @property
    def verifier(self) -> Verifier: ...

    def add_checkpoint(self, old_size: int, proof: Sequence[bytes], note: str) -> Signature: ...


def verify_checkpoint(
    note: str | SignedNote,
    log_key: Verifier,
    witness_keys: Sequence[Verifier] = (),
    threshold: int = 0,
    origin: str | None = None,
) -> Checkpoint:
    """Parse a signed checkpoint and require the log's signature plus ``threshold`` cosigners.

    The checkpoint's origin must be ``origin``, by default the log key's name (C2SP
    tlog-checkpoint: the key name "SHOULD match the origin line"; Go's sumdb signs
    ``go.sum database tree`` with the key ``sum.golang.org``, so pass its origin).

    Raises :class:`NoteError` for malformed notes or invalid known signatures and
    :class:`QuorumError` when the log's signature or enough cosignatures are missing.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise QuorumError(f"quorum must be a non-negative integer, not {threshold!r}")
    signed = parse_note(note) if isinstance(note, str) else note
    checkpoint = Checkpoint.parse(signed.text)
    expected = log_key.name if origin is None else origin
    if checkpoint.origin != expected:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not the log's {expected!r}")
    distinct = _distinct_cosigners(witness_keys, log_key)
    if threshold > distinct:
        raise QuorumError(f"quorum {threshold} exceeds the {distinct} distinct known witnesses")
    verified = signed.verify([log_key, *witness_keys])
    if log_key.vkey not in verified:
        raise QuorumError(f"checkpoint is not signed by the log {log_key.name!r}")
    cosigners = {w.public_key for w in witness_keys if w.vkey in verified}
    if len(cosigners) < threshold:
        raise QuorumError(
            f"checkpoint of size {checkpoint.size} has {len(cosigners)} valid witness "
            f"cosignature(s), quorum is {threshold}"
        )
    return checkpoint


def _distinct_cosigners(witness_keys: Sequence[Verifier], log_key: Verifier | None) -> int:
    """How many distinct cosigners the keys name, counted by public key.

    A cosignature/v1 signature does not cover the cosigner's name (C2SP tlog-cosignature,
    "Ed25519 signed message"), so one key listed under two names is one witness, and its
    signature relabelled under the second name must not count twice. The log's own key
    is never a witness.
    """
    for key in witness_keys:
        if key.sig_type != SIG_TYPE_COSIGNATURE_V1:
            raise QuorumError(f"witness key {key.name!r} is not a cosignature/v1 key")
        if log_key is not None and key.public_key == log_key.public_key:
            raise QuorumError(f"witness key {key.name!r} is the log's own key")
    return len({key.public_key for key in witness_keys})


class WitnessQuorum:
    """Collects cosignatures from witnesses until ``threshold`` of them have signed."""

    def __init__(self, witnesses: Sequence[WitnessClient], threshold: int = DEFAULT_THRESHOLD):
        if not 0 < threshold <= len(witnesses):
            raise QuorumError(f"quorum {threshold} is not in 1..{len(witnesses)}")
        if _distinct_cosigners([w.verifier for w in witnesses], None) < len(witnesses):
            raise QuorumError("witnesses must have distinct cosigning keys")
        self.witnesses = list(witnesses)
        self.threshold = threshold
        self._known_sizes: dict[str, int] = {}

    @property
    def verifiers(self) -> list[Verifier]:
        return [w.verifier for w in self.witnesses]

    def cosign(self, note: str, prove: Callable[[int, int], list[bytes]]) -> SignedNote:
        """Ask every witness to cosign ``note``; return it with the cosignatures.

        ``prove(old_size, new_size)`` returns the log's consistency proof. A witness
        whose state differs from what we assumed (409) is retried once with its real
        size. Raises :class:`QuorumError`, listing each refusal, below the threshold.
        """
        signed = parse_note(note)
        size = Checkpoint.parse(signed.text).size
        cosignatures: list[Signature] = []
        refusals: dict[str, str] = {}
        for witness in self.witnesses:
            key = witness.verifier.vkey
            try:
                sig = self._ask(witness, signed, size, prove)
                witness.verifier.verify(signed.text, sig)
            except AuditError as exc:
                refusals[witness.verifier.name] = f"{type(exc).__name__}: {exc}"
                continue
            self._known_sizes[key] = size
            cosignatures.append(sig)
        if len(cosignatures) < self.threshold:
            detail = "; ".join(f"{name}: {why}" for name, why in refusals.items())
            raise QuorumError(
                f"only {len(cosignatures)} of {len(self.witnesses)} witnesses cosigned size "
                f"{size}, quorum is {self.threshold} ({detail})",
                refusals,
            )
        return signed.with_signatures(cosignatures)

    def _ask(self, witness: WitnessClient, signed: SignedNote, size: int,
             prove: Callable[[int, int], list[bytes]]) -> Signature:
        old = self._known_sizes.get(witness.verifier.vkey, 0)
        try:
            return witness.add_checkpoint(old, prove(old, size) if 0 < old < size else [],
                                          signed.encode())
        except WitnessConflictError as exc:
            if exc.latest_size > size:  # the witness cosigned a larger tree: we went back
                raise WitnessRollbackError(exc.latest_size, size) from None
            old = exc.latest_size
        return witness.add_checkpoint(old, prove(old, size) if 0 < old < size else [],
                                      signed.encode())
