"""Share release: the one path by which a custodian's share of a record leaves it
(docs/architecture.md, "Data flow" 5).

:func:`release_share` checks, in order and before touching any key: the
authorisation (through the custodian's own :class:`AuthorisationVerifier`);
that the custodian belongs to the set it holds keys for; that the record was
made for that set and epoch; that the authorisation names this exact record
(by SHA-256) and that the context the archived envelope carries matches the
one the authorisation names. Only then does it open its share, which
succeeds only under the context the sender bound in, re-encrypt it to the
authorisation's one-time recovery key (:mod:`escrow.sealing`, fresh
ephemeral key) and sign the result with its Ed25519 key. Every refusal is a
:class:`ReleaseRefusedError` (or :class:`AuthorisationError`) naming the
reason; nothing is released.

A release binds (in its signed statement and in the sealed share's
associated data) the authorisation (its id, its issuer, and the SHA-256 of the
bytes the issuer signed, :attr:`ReleaseAuthorisation.digest`), the custodian
and its index, the set
fingerprint and epoch, the record's SHA-256 (which covers version, mode,
parameters and the shares), the SHA-256 of the record's context
(:meth:`RecordContext.digest`: protocol version, mode, conversation, sender,
recipient, chain number, time, ratchet key) and the recovery key it is sealed
to, so it cannot be replayed to another record, context, authorisation or
recovery key (docs/architecture.md, "Bind the whole context"). The authorisation must name the
record under the envelope's exact context (:attr:`RecordRef.context_digest`), so one
record copied into envelopes with other headers is released for one of them at most.

A :class:`ShareRelease` is checked when it is built, from JSON
(:mod:`strictjson`) or in Python: ids are the ids their issuers allow, numbers
exact integers in range, digests and keys of their lengths. A small-order
recovery key (:func:`escrow.sealing.is_small_order`) is refused before anything
is sealed to it.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from dataclasses import dataclass

import rfc8785
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

import strictjson
from escrow import sealing
from escrow.authorisation import (
    AuthorisationVerifier,
    RecordRef,
    ReleaseAuthorisation,
    check_id,
    check_recovery_key,
)
from escrow.context import RecordContext
from escrow.custodian import Custodian, CustodianPublic, check_custodian_id
from escrow.custodian_set import CustodianSet
from escrow.errors import (
    AuthorisationError,
    CustodianSetError,
    RecordFormatError,
    ReleaseRefusedError,
)
from escrow.record import EscrowRecord, parse_record, record_digest
from escrow.sealing import EncryptedShare
from escrow.threshold.hook import SHARE_LABEL, share_associated_data
from messaging.clock import Clock
from messaging.errors import WireFormatError
from messaging.wire import parse_envelope

RELEASE_FORMAT = "escrowlab-share-release-v3"
RELEASE_LABEL = b"escrowlab share release v3\x00"
MAX_SHARE_CIPHERTEXT = 64  # a 16..32-byte share and its 16-byte tag
_FIELD_LENGTHS = {"authorisation_sha256": 32, "set_fingerprint": 32, "record_sha256": 32,
                  "context_sha256": 32, "recovery_key": 32, "ephemeral_public": 32,
                  "signature": 64}
_INTEGERS = (("custodian_index", 255), ("set_epoch", 2**32 - 1))


@dataclass(frozen=True)
class ShareRelease:
    """One custodian's share of one record, encrypted to the recovery key and signed."""

    authorisation_id: str
    issuer: str
    authorisation_digest: bytes
    custodian_id: str
    custodian_index: int
    set_fingerprint: bytes
    set_epoch: int
    record_digest: bytes
    context_digest: bytes
    recovery_key: bytes
    sealed: EncryptedShare
    signature: bytes

    def __post_init__(self) -> None:
        check_id(self.authorisation_id, "share release authorisation_id", ReleaseRefusedError)
        check_id(self.issuer, "share release issuer", ReleaseRefusedError)
        try:
            check_custodian_id(self.custodian_id)
        except CustodianSetError as exc:
            raise ReleaseRefusedError(f"share release custodian_id: {exc}") from None
        for name, high in _INTEGERS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
                raise ReleaseRefusedError(f"share release {name} must be an integer in "
                                          f"0..{high}")
        for name, value in (("authorisation_sha256", self.authorisation_digest),
                            ("set_fingerprint", self.set_fingerprint),
                            ("record_sha256", self.record_digest),
                            ("context_sha256", self.context_digest),
                            ("recovery_key", self.recovery_key)):
            if not isinstance(value, bytes) or len(value) != _FIELD_LENGTHS[name]:
                raise ReleaseRefusedError(f"share release {name} must be "
                                          f"{_FIELD_LENGTHS[name]} bytes")
        if not isinstance(self.sealed, EncryptedShare) or not all(
                isinstance(v, bytes) for v in (self.sealed.ephemeral_public,
                                               self.sealed.ciphertext, self.signature)):
            raise ReleaseRefusedError("a share release's sealed share and signature are bytes")

    def binding(self) -> bytes:
        """The associated data of the sealed share: everything but the ciphertext."""
        return (RELEASE_LABEL + self.authorisation_id.encode() + b"\x00"
                + self.issuer.encode() + b"\x00" + self.authorisation_digest
                + self.custodian_id.encode() + b"\x00"
                + struct.pack(">BI", self.custodian_index, self.set_epoch)
                + self.set_fingerprint + self.record_digest + self.context_digest
                + self.recovery_key)

    def signed_bytes(self) -> bytes:
        return rfc8785.dumps({
            "format": RELEASE_FORMAT,
            "authorisation_id": self.authorisation_id,
            "issuer": self.issuer,
            "authorisation_sha256": self.authorisation_digest.hex(),
            "custodian_id": self.custodian_id,
            "custodian_index": self.custodian_index,
            "set_fingerprint": self.set_fingerprint.hex(),
            "set_epoch": self.set_epoch,
            "record_sha256": self.record_digest.hex(),
            "context_sha256": self.context_digest.hex(),
            "recovery_key": self.recovery_key.hex(),
            "ephemeral_public": self.sealed.ephemeral_public.hex(),
            "ciphertext": self.sealed.ciphertext.hex(),
        })

    def to_json(self) -> dict:
        return {**json.loads(self.signed_bytes()), "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, data: object) -> ShareRelease:
        """Parse a release strictly (its signature is checked by :meth:`verify`)."""
        hex_names = ("authorisation_sha256", "set_fingerprint", "record_sha256",
                     "context_sha256", "recovery_key", "ephemeral_public", "ciphertext",
                     "signature")
        strictjson.fields(data, {"format": str, "authorisation_id": str, "issuer": str,
                                 "custodian_id": str, "custodian_index": int,
                                 "set_epoch": int, **{name: str for name in hex_names}},
                          what="share release", error=ReleaseRefusedError)
        if data["format"] != RELEASE_FORMAT:
            raise ReleaseRefusedError(f"unknown share release format {data['format']!r}")
        try:
            raw = {name: bytes.fromhex(data[name]) for name in hex_names}
        except ValueError:
            raise ReleaseRefusedError("share release keys and ciphertext must be hex") from None
        for name, length in _FIELD_LENGTHS.items():
            if len(raw[name]) != length:
                raise ReleaseRefusedError(f"share release {name} must be {length} bytes")
        if len(raw["ciphertext"]) > MAX_SHARE_CIPHERTEXT:
            raise ReleaseRefusedError(f"share release ciphertext exceeds {MAX_SHARE_CIPHERTEXT} "
                                      "bytes")
        return cls(data["authorisation_id"], data["issuer"], raw["authorisation_sha256"],
                   data["custodian_id"], data["custodian_index"], raw["set_fingerprint"],
                   data["set_epoch"], raw["record_sha256"], raw["context_sha256"],
                   raw["recovery_key"], EncryptedShare(raw["ephemeral_public"],
                                                       raw["ciphertext"]),
                   raw["signature"])

    def verify(self, custodian: CustodianPublic) -> bool:
        """True when ``custodian`` signed exactly this release."""
        return custodian.verify(self.signature, self.signed_bytes())

    def open(self, recovery_private: X25519PrivateKey) -> bytes | None:
        """The share value, or ``None`` if it was not sealed to this key under this binding."""
        recovery_public = recovery_private.public_key().public_bytes_raw()
        if recovery_public != self.recovery_key:
            return None

        def exchange(peer: bytes) -> bytes:
            return recovery_private.exchange(X25519PublicKey.from_public_bytes(peer))

        return sealing.open_sealed(self.sealed, exchange, recovery_public, self.binding(),
                                   RELEASE_LABEL)


def _member(custodian: Custodian, custodian_set: CustodianSet) -> int:
    try:
        index = custodian_set.index_of(custodian.custodian_id)
    except CustodianSetError:
        raise ReleaseRefusedError(
            f"custodian {custodian.custodian_id} is not a member of set epoch "
            f"{custodian_set.epoch}"
        ) from None
    if custodian_set.members[index] != custodian.public:
        raise ReleaseRefusedError(
            f"custodian {custodian.custodian_id} holds no key of set epoch {custodian_set.epoch}"
        )
    return index


def _escrowed(envelope: bytes, custodian: Custodian, custodian_set: CustodianSet
              ) -> tuple[bytes, EscrowRecord, RecordContext]:
    """(record bytes, parsed record, context) of an archived envelope whose record was made
    for ``custodian_set`` (its fingerprint, epoch, t and n)."""
    try:
        parsed_envelope = parse_envelope(envelope)
        record_bytes = parsed_envelope.header.record
        record = parse_record(record_bytes)
    except (WireFormatError, RecordFormatError) as exc:
        raise ReleaseRefusedError(f"not an escrowed envelope: {exc}") from None
    context = RecordContext.of_envelope(parsed_envelope)
    where = context.describe()
    if record.set_fingerprint != custodian_set.fingerprint or record.set_epoch != \
            custodian_set.epoch:
        raise ReleaseRefusedError(
            f"{where}: record was made for set {record.set_fingerprint.hex()[:16]} epoch "
            f"{record.set_epoch}, custodian {custodian.custodian_id} serves "
            f"{custodian_set.describe()}"
        )
    if (record.threshold, len(record.shares)) != (custodian_set.threshold, custodian_set.n):
        raise ReleaseRefusedError(
            f"{where}: record claims set {custodian_set.fingerprint.hex()[:16]} but is "
            f"{record.threshold}-of-{len(record.shares)}, not {custodian_set.threshold}-of-"
            f"{custodian_set.n} (malformed or forged)"
        )
    return record_bytes, record, context


def _matching_ref(authorisation: ReleaseAuthorisation, digest: bytes,
                  context: RecordContext) -> RecordRef | None:
    """The reference naming this record under this exact context (``None`` if there is none)."""
    context_digest = context.digest()
    for ref in authorisation.records:
        if ref.record_digest == digest and ref.context_digest == context_digest:
            return ref
    return None


def release_share(custodian: Custodian, custodian_set: CustodianSet,
                  authorisation: ReleaseAuthorisation, verifier: AuthorisationVerifier,
                  envelope: bytes, clock: Clock) -> ShareRelease:
    """Release ``custodian``'s share of the record in archived ``envelope`` (module docstring)."""
    verifier.verify(authorisation, clock.now())
    index = _member(custodian, custodian_set)
    record_bytes, record, context = _escrowed(envelope, custodian, custodian_set)
    where = context.describe()
    digest = record_digest(record_bytes)
    ref = _matching_ref(authorisation, digest, context)
    if ref is None:
        raise ReleaseRefusedError(f"{where}: record {digest.hex()[:16]} under this context is "
                                  f"not named by authorisation {authorisation.authorisation_id}")
    if (ref.conversation_id, ref.sender, ref.recipient, ref.chain_number) != (
            context.conversation_id, context.sender, context.recipient, context.chain_number):
        raise ReleaseRefusedError(
            f"{where}: context does not match the authorisation's ({ref.conversation_id} "
            f"{ref.sender}->{ref.recipient} chain {ref.chain_number})"
        )
    value = _open_share(custodian, index, record, context)
    return seal_release(custodian, custodian_set, authorisation, digest, index, value, context)


def _open_share(custodian: Custodian, index: int, record: EscrowRecord,
                context: RecordContext) -> bytes:
    value = sealing.open_for(index, record.ephemeral_public, record.shares[index],
                             custodian.keys.exchange, custodian.public.share_key,
                             share_associated_data(record, context, index), SHARE_LABEL)
    if value is None:
        raise ReleaseRefusedError(
            f"{context.describe()}: share {index} does not open under this context (altered "
            "record, mismatched context, or a key of another set)"
        )
    return value


def open_own_share(custodian: Custodian, custodian_set: CustodianSet, envelope: bytes
                   ) -> tuple[bytes, int, bytes]:
    """(record digest, custodian index, share value) of ``envelope``'s record: what the
    custodian's private key alone can do, with no authorisation at all.

    :func:`release_share` does this only after its checks. The checks are the
    custodian's own policy, not cryptography: whoever holds the key (the
    custodian, a thief, a coalition) can do it to every archived record, which
    the attack suite measures (docs/scenarios.md S01-S03, S21).
    """
    index = _member(custodian, custodian_set)
    record_bytes, record, context = _escrowed(envelope, custodian, custodian_set)
    value = _open_share(custodian, index, record, context)
    return record_digest(record_bytes), index, value


def seal_release(custodian: Custodian, custodian_set: CustodianSet,
                 authorisation: ReleaseAuthorisation, digest: bytes, index: int,
                 value: bytes, context: RecordContext) -> ShareRelease:
    """Encrypt ``value`` to the recovery key and sign it: the custodian's final step.

    Exposed so that the attack suite can model a custodian that signs a wrong
    share (docs/scenarios.md S05); an honest custodian reaches it only through
    :func:`release_share`.
    """
    try:
        recovery_key = check_recovery_key(authorisation.recovery_key)
    except AuthorisationError as exc:
        raise ReleaseRefusedError(f"nothing released: {exc}") from None
    recovery = X25519PublicKey.from_public_bytes(recovery_key)
    unsigned = ShareRelease(authorisation.authorisation_id, authorisation.issuer,
                            authorisation.digest, custodian.custodian_id, index,
                            custodian_set.fingerprint, custodian_set.epoch, digest,
                            context.digest(), authorisation.recovery_key,
                            EncryptedShare(b"", b""), b"")
    sealed = sealing.seal(X25519PrivateKey.generate(), recovery,
                          authorisation.recovery_key, value, unsigned.binding(), RELEASE_LABEL)
    body = dataclasses.replace(unsigned, sealed=sealed)
    return dataclasses.replace(body, signature=custodian.keys.sign(body.signed_bytes()))
