"""The log's HTTP append endpoint (a Flask blueprint): ``POST /append``.

The body is a signed append request (:mod:`audit.append_request`). The log checks its
shape, that its actor is a registered appender and the signature that actor's, its time and
nonce (:class:`~audit.append_request.ReplayGuard`), then appends it durably and answers only
after the entry is in a checkpoint the witness quorum cosigned: the answer is the entry's
receipt (:class:`~audit.receipt.Receipt` as JSON), which the appender can check offline
before it acts ("log, then act", docs/audit_log.md "Appending over HTTP").

=====  ==========================================================  =================
200    the receipt                                                 application/json
400    malformed request                                           ``{"error"}``
403    unknown appender, or a signature not the appender's key's   ``{"error"}``
409    the request's nonce was already used (a replay)             ``{"error"}``
413    body larger than :data:`~audit.append_request.MAX_REQUEST_BYTES`
422    the request's time is outside the log's window              ``{"error"}``
503    the entry is durable but the witnesses gave no quorum:      ``{"error", "index"}``
       ``GET /receipt?index=I`` fetches its receipt later
=====  ==========================================================  =================

Every refusal but 503 appends nothing. Concurrent requests share the log's fsyncs
(:mod:`audit.group_commit`) and its checkpoints: one signed, cosigned checkpoint at a time,
and a request whose entry an already signed checkpoint covers takes its receipt under it.
"""

from __future__ import annotations

import threading

from flask import Blueprint, jsonify, request

from audit.append_request import (
    MAX_REQUEST_BYTES,
    AppenderRegistry,
    AppenderUnknownError,
    AppendReplayError,
    AppendRequestError,
    AppendStaleError,
    ReplayGuard,
    parse_request,
)
from audit.errors import AuditError
from audit.log import AuditLog

_STATUS = ((AppenderUnknownError, 403), (AppendReplayError, 409), (AppendStaleError, 422),
           (AppendRequestError, 400))


def append_api_blueprint(log: AuditLog, appenders: AppenderRegistry,
                         guard: ReplayGuard | None = None,
                         name: str = "audit_append") -> Blueprint:
    """``POST /append`` and ``GET /receipt`` for ``log``, accepting ``appenders`` only."""
    bp = Blueprint(name, __name__)
    guard = guard or ReplayGuard(log.clock)
    signing = threading.Lock()

    @bp.errorhandler(AppendRequestError)
    def refused(exc: AppendRequestError):  # type: ignore[no-untyped-def]
        status = next(code for kind, code in _STATUS if isinstance(exc, kind))
        return jsonify(error=str(exc)), status

    @bp.post("/append")
    def append():  # type: ignore[no-untyped-def]
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return jsonify(error=f"the body is larger than {MAX_REQUEST_BYTES} bytes"), 413
        body = request.get_data(cache=False)
        if len(body) > MAX_REQUEST_BYTES:
            return jsonify(error=f"the body is larger than {MAX_REQUEST_BYTES} bytes"), 413
        parsed = parse_request(body)
        appenders.check(parsed)
        guard.admit(parsed)
        try:
            entry = log.event(parsed.type, parsed.actor, parsed.payload).encode()
            log.check_appendable()
            index = log.append(entry)
        except AuditError as exc:
            guard.forget(parsed)
            return jsonify(error=f"the log cannot append: {exc}"), 503
        try:
            with signing:
                receipt = log.receipt(index)
        except AuditError as exc:
            return jsonify(error=f"entry {index} is durable but has no receipt yet: {exc}",
                           index=index), 503
        return jsonify(receipt.to_json())

    @bp.get("/receipt")
    def receipt():  # type: ignore[no-untyped-def]
        raw = request.args.get("index", "")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
            return jsonify(error="index must be a non-negative integer"), 400
        log.store.refresh()
        if int(raw) >= log.size:
            return jsonify(error=f"no entry {raw}: the log holds {log.size}"), 404
        try:
            with signing:
                return jsonify(log.receipt(int(raw)).to_json())
        except AuditError as exc:
            return jsonify(error=str(exc), index=int(raw)), 503

    return bp
