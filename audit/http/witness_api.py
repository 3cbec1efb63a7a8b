"""A witness over HTTP: C2SP tlog-witness ``POST /add-checkpoint`` as a Flask blueprint.

Request body (https://c2sp.org/tlog-witness)::

    old <size>\\n
    <base64 consistency proof hash>\\n ...
    \\n
    <signed checkpoint note>

Responses: ``200`` with the cosignature line; ``409`` with the witness's latest size
(``text/x.tlog.size``) when ``old`` is stale; ``422`` for an inconsistent checkpoint;
``400`` for a malformed request or a rollback (``X-Witness-Error: rollback`` marks the
latter); ``403`` when the witness refuses for any other reason (unknown log, bad
signature).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from audit.errors import (
    AuditError,
    WitnessConflictError,
    WitnessInconsistencyError,
    WitnessRollbackError,
)
from audit.note import unb64
from audit.witness import MAX_PROOF_HASHES, Witness

MAX_BODY_BYTES = 1 << 17


def parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    """Split an add-checkpoint body into (old size, proof, note); raises AuditError."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise AuditError("request body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise AuditError("request needs a blank line before the checkpoint")
    lines = head.split("\n")
    if not lines[0].startswith("old "):
        raise AuditError("request must start with 'old <size>'")
    size_text = lines[0][4:]
    if not size_text.isascii() or not size_text.isdigit() or len(size_text) > 19:
        raise AuditError("old size must be a decimal integer")
    if len(lines) - 1 > MAX_PROOF_HASHES:
        raise AuditError("consistency proof is too long")
    return int(size_text), [unb64(line, "proof line") for line in lines[1:]], note


def witness_blueprint(witness: Witness, name: str = "audit_witness") -> Blueprint:
    bp = Blueprint(name, __name__)

    @bp.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        body = request.get_data(cache=False)
        if len(body) > MAX_BODY_BYTES:
            return Response("request too large\n", status=413, mimetype="text/plain")
        try:
            old, proof, note = parse_request(body)
        except AuditError as exc:
            return Response(f"{exc}\n", status=400, mimetype="text/plain")
        try:
            sig = witness.add_checkpoint(old, proof, note)
        except WitnessConflictError as exc:
            return Response(f"{exc.latest_size}\n", status=409, mimetype="text/x.tlog.size")
        except WitnessRollbackError as exc:
            return Response(f"{exc}\n", status=400, mimetype="text/plain",
                            headers={"X-Witness-Error": "rollback",
                                     "X-Witness-Latest-Size": str(exc.latest_size)})
        except WitnessInconsistencyError as exc:
            return Response(f"{exc}\n", status=422, mimetype="text/plain")
        except AuditError as exc:
            return Response(f"{exc}\n", status=403, mimetype="text/plain")
        return Response(sig.line(), mimetype="text/plain")

    return bp
