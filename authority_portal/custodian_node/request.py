"""A release request: what a custodian's operator asks the node to release
(docs/custodian_node.md, "The request").

The request carries the warrant as its canonical text (so that a non-canonical encoding is
refused, not silently re-encoded), the judges' signatures, the target conversation, the
records asked for, the recovery key, the nonce of the workflow attempt it serves, and the
log's receipt of the warrant's approval entry. The operator signs the RFC 8785 encoding of
all of it (:func:`unsigned_request`, the exact bytes the portal shows the operator) with
the Ed25519 key registered at the node, outside the portal (in the operator's browser or
with ``escrowlab custodian sign-request``); the portal only attaches the signature
(:func:`attach_signature`). So a portal that is not the operator cannot make a node
release anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import strictjson
from audit.errors import AuditError
from audit.receipt import Receipt
from authority_portal.custodian_node.errors import RequestError
from authority_portal.warrants.authorisation import WarrantAuthorisation
from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.model import Warrant
from authority_portal.warrants.signatures import signatures_from_json
from escrow.authorisation import MAX_RECORDS, RecordRef
from escrow.errors import AuthorisationError

REQUEST_FORMAT = "escrowlab-custodian-release-request-v1"
MAX_REQUEST_BYTES = 8 << 20
NONCE_PATTERN = re.compile(r"[0-9a-f]{32}")
_FIELDS = {"format": str, "node": str, "warrant": str, "signatures": list,
           "conversation_id": str, "records": list, "recovery_key": str, "nonce": str,
           "approval": dict, "operator_signature": str}


@dataclass(frozen=True)
class ReleaseRequest:
    """A parsed, operator-signed release request (module docstring)."""

    node: str
    warrant_text: str
    authorisation: WarrantAuthorisation
    nonce: str
    approval: Receipt
    body: bytes
    operator_signature: bytes

    @property
    def warrant(self) -> Warrant:
        return self.authorisation.warrant

    def check_operator(self, operator_key: bytes) -> None:
        try:
            Ed25519PublicKey.from_public_bytes(operator_key).verify(self.operator_signature,
                                                                    self.body)
        except (InvalidSignature, ValueError):
            raise RequestError("the request is not signed by this node's operator") from None


def request_body(node: str, warrant_text: str, authorisation: WarrantAuthorisation,
                 nonce: str, approval: Receipt) -> dict:
    return {"format": REQUEST_FORMAT, "node": node, "warrant": warrant_text,
            "signatures": [s.to_json() for s in authorisation.signatures],
            "conversation_id": authorisation.conversation_id,
            "records": [r.to_json() for r in authorisation.records],
            "recovery_key": authorisation.recovery_key.hex(), "nonce": nonce,
            "approval": approval.to_json()}


def unsigned_request(node: str, authorisation: WarrantAuthorisation, nonce: str,
                     approval: Receipt, warrant_text: str | None = None) -> bytes:
    """The RFC 8785 bytes the operator of ``node`` signs; ``warrant_text`` (default: the
    canonical encoding) is what the request carries as the warrant."""
    if warrant_text is None:
        warrant_text = authorisation.warrant.encode().decode()
    return rfc8785.dumps(request_body(node, warrant_text, authorisation, nonce, approval))


def attach_signature(body: bytes, signature: bytes) -> bytes:
    """The request bytes a node takes: ``body`` (from :func:`unsigned_request`) with the
    operator's 64-byte ``signature`` over exactly those bytes."""
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise RequestError("an operator signature is 64 bytes of Ed25519")
    obj = strictjson.loads(body, what="release request body", error=RequestError,
                           allow_floats=False, max_bytes=MAX_REQUEST_BYTES)
    if not isinstance(obj, dict) or "operator_signature" in obj:
        raise RequestError("a release request body is an object without a signature")
    return rfc8785.dumps({**obj, "operator_signature": signature.hex()})


def sign_request(operator: Ed25519PrivateKey, node: str, authorisation: WarrantAuthorisation,
                 nonce: str, approval: Receipt, warrant_text: str | None = None) -> bytes:
    """The JSON bytes of a request to ``node``, signed by its ``operator`` (the operator's
    side: :func:`unsigned_request` signed and :func:`attach_signature`)."""
    body = unsigned_request(node, authorisation, nonce, approval, warrant_text)
    return attach_signature(body, operator.sign(body))


def parse_body(body: bytes) -> ReleaseRequest:
    """Parse what an operator is asked to sign, strictly: an unsigned request in its RFC 8785
    encoding (anything else is refused, so the bytes signed are the bytes shown). The
    result's ``operator_signature`` is empty."""
    obj = strictjson.loads(body, what="release request body", error=RequestError,
                           allow_floats=False, max_bytes=MAX_REQUEST_BYTES)
    if not isinstance(obj, dict) or "operator_signature" in obj:
        raise RequestError("a release request body is an object without a signature")
    parsed = _parse({**obj, "operator_signature": ""})
    if parsed.body != body:
        raise RequestError("the release request body is not in its RFC 8785 encoding")
    return parsed


def parse_request(data: bytes) -> ReleaseRequest:
    """Parse a request strictly (:class:`RequestError`); its operator signature is checked by
    :meth:`ReleaseRequest.check_operator`."""
    return _parse(strictjson.loads(data, what="release request", error=RequestError,
                                   allow_floats=False, max_bytes=MAX_REQUEST_BYTES))


def _parse(obj: object) -> ReleaseRequest:
    strictjson.fields(obj, _FIELDS, what="release request", error=RequestError)
    if obj["format"] != REQUEST_FORMAT:
        raise RequestError(f"unknown release request format {obj['format']!r}")
    if not NONCE_PATTERN.fullmatch(obj["nonce"]):
        raise RequestError("the attempt nonce is 32 lowercase hex digits")
    if len(obj["records"]) > MAX_RECORDS:
        raise RequestError(f"a request names at most {MAX_RECORDS} records")
    try:
        signature = bytes.fromhex(obj["operator_signature"])
        key = bytes.fromhex(obj["recovery_key"])
    except ValueError:
        raise RequestError("the operator signature and recovery key are hex") from None
    try:
        warrant = Warrant.decode(obj["warrant"])
        authorisation = WarrantAuthorisation(
            warrant, signatures_from_json(obj["signatures"]), obj["conversation_id"],
            tuple(RecordRef.from_json(r) for r in obj["records"]), key)
        approval = Receipt.from_json(obj["approval"])
    except (WarrantError, AuthorisationError, AuditError) as exc:
        raise RequestError(str(exc)) from None
    body = {name: value for name, value in obj.items() if name != "operator_signature"}
    return ReleaseRequest(obj["node"], obj["warrant"], authorisation, obj["nonce"], approval,
                          rfc8785.dumps(body), signature)
