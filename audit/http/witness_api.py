"""A witness over HTTP: C2SP tlog-witness ``POST /add-checkpoint`` as a Flask blueprint.

Request body (https://c2sp.org/tlog-witness, "add-checkpoint")::

    old <size>\\n                      decimal, no leading zeros
    <base64 consistency proof hash>\\n ...
    \\n
    <signed checkpoint note>

Responses, as the spec assigns them (each refusal is one :class:`WitnessError` subclass):

=====  ====================================================  ========================
200    the cosignature line(s)                               ``text/plain``
400    malformed request; old size larger than the           ``text/plain``
       checkpoint's (``X-Witness-Error: rollback`` and
       ``X-Witness-Latest-Size`` when that old size is the
       witness's own latest: the log went backwards)
403    no signature verifies under the log's known key       ``text/plain``
404    unknown log (origin)                                  ``text/plain``
409    old size is not the witness's latest: the body is     ``text/x.tlog.size``
       that latest size and a newline
409    same size as the witness's checkpoint, other root     ``text/plain``
413    body larger than :data:`MAX_BODY_BYTES`               ``text/plain``
422    the consistency proof does not verify                 ``text/plain``
500    the witness's own state cannot be read or written     ``text/plain``
=====  ====================================================  ========================
"""

from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, Response, request

from audit.errors import (
    AuditError,
    WitnessConflictError,
    WitnessForkError,
    WitnessInconsistencyError,
    WitnessRequestError,
    WitnessRollbackError,
    WitnessSignatureError,
    WitnessUnknownLogError,
)
from audit.note import unb64
from audit.witness import MAX_PROOF_HASHES, Witness

MAX_BODY_BYTES = 1 << 17
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TEXT = "text/plain; charset=utf-8"


def parse_size(text: str, what: str) -> int:
    """An ASCII decimal with no leading zeros (``0`` itself allowed), below 2^63."""
    if not text.isascii() or not text.isdigit() or len(text) > 19 or (
            len(text) > 1 and text[0] == "0"):
        raise WitnessRequestError(f"{what} must be a decimal integer without leading zeros")
    value = int(text)
    if value >= 1 << 63:
        raise WitnessRequestError(f"{what} is out of range")
    return value


class AddCheckpointRequest(NamedTuple):
    """An add-checkpoint request body, parsed: the witness's latest size as the caller
    knows it, the consistency proof from that size, and the signed checkpoint note."""

    old_size: int
    proof: list[bytes]
    note: str


def parse_request(body: bytes) -> AddCheckpointRequest:
    """Split an add-checkpoint body into its three parts; raises
    :class:`WitnessRequestError`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRequestError("request body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise WitnessRequestError("request needs an empty line before the checkpoint")
    lines = head.split("\n")
    if not lines[0].startswith("old "):
        raise WitnessRequestError("request must start with 'old <size>'")
    old = parse_size(lines[0][4:], "old size")
    if len(lines) - 1 > MAX_PROOF_HASHES:
        raise WitnessRequestError("consistency proof is too long")
    try:
        proof = [unb64(line, "proof line") for line in lines[1:]]
    except AuditError as exc:
        raise WitnessRequestError(str(exc)) from None
    return AddCheckpointRequest(old, proof, note)


def _text(message: object, status: int, **headers: str) -> Response:
    return Response(f"{message}\n", status=status, content_type=TEXT, headers=headers)


def witness_blueprint(witness: Witness, name: str = "audit_witness") -> Blueprint:
    bp = Blueprint(name, __name__)

    @bp.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        body = request.get_data(cache=False)
        if len(body) > MAX_BODY_BYTES:
            return _text("request too large", 413)
        try:
            old, proof, note = parse_request(body)
            sig = witness.add_checkpoint(old, proof, note)
        except WitnessConflictError as exc:
            return Response(f"{exc.latest_size}\n", status=409, content_type=SIZE_CONTENT_TYPE)
        except WitnessRollbackError as exc:
            return _text(exc, 400, **{"X-Witness-Error": "rollback",
                                      "X-Witness-Latest-Size": str(exc.latest_size)})
        except WitnessRequestError as exc:
            return _text(exc, 400)
        except WitnessSignatureError as exc:
            return _text(exc, 403)
        except WitnessUnknownLogError as exc:
            return _text(exc, 404)
        except WitnessForkError as exc:
            return _text(exc, 409)
        except WitnessInconsistencyError as exc:
            return _text(exc, 422)
        except AuditError as exc:
            return _text(f"witness error: {exc}", 500)
        return Response(sig.line(), status=200, content_type=TEXT)

    return bp
