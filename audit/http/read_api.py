"""The log's HTTP read API (a Flask blueprint), in the spirit of RFC 9162 section 5.

``GET /checkpoint``                       latest signed checkpoint (C2SP note, text/plain)
``GET /entries?start=S&end=E``            entries [S, E) as base64 (at most 1000)
``GET /proof/inclusion?index=I&size=N``   RFC 9162 inclusion proof
``GET /proof/consistency?old=M&new=N``    RFC 9162 consistency proof

Bad parameters get ``400`` with ``{"error": message}``; nothing here writes.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from audit.errors import AuditError
from audit.note import b64
from audit.storage import LogStore

MAX_ENTRIES_PER_REQUEST = 1000


def _int_arg(name: str, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            raise AuditError(f"missing parameter {name!r}")
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise AuditError(f"parameter {name!r} must be a non-negative integer")
    return int(raw)


def read_api_blueprint(store: LogStore, name: str = "audit_read") -> Blueprint:
    bp = Blueprint(name, __name__)

    @bp.before_request
    def refresh() -> None:
        store.refresh()

    @bp.errorhandler(AuditError)
    def bad_request(exc: AuditError):  # type: ignore[no-untyped-def]
        return jsonify(error=str(exc)), 400

    @bp.get("/checkpoint")
    def checkpoint() -> Response:
        latest = store.latest_checkpoint()
        if latest is None:
            return Response("no checkpoint yet\n", status=404, mimetype="text/plain")
        return Response(latest.note, mimetype="text/plain")

    @bp.get("/entries")
    def entries():  # type: ignore[no-untyped-def]
        start = _int_arg("start")
        end = _int_arg("end", min(store.size, start + MAX_ENTRIES_PER_REQUEST))
        if end - start > MAX_ENTRIES_PER_REQUEST:
            raise AuditError(f"at most {MAX_ENTRIES_PER_REQUEST} entries per request")
        return jsonify(start=start, entries=[b64(e) for e in store.leaves(start, end)])

    @bp.get("/proof/inclusion")
    def inclusion():  # type: ignore[no-untyped-def]
        index, size = _int_arg("index"), _int_arg("size", store.size)
        return jsonify(index=index, size=size,
                       proof=[b64(p) for p in store.inclusion_proof(index, size)])

    @bp.get("/proof/consistency")
    def consistency():  # type: ignore[no-untyped-def]
        old, new = _int_arg("old"), _int_arg("new", store.size)
        return jsonify(old=old, new=new,
                       proof=[b64(p) for p in store.consistency_proof(old, new)])

    return bp
