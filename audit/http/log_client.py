"""A client of a log served over HTTP (:mod:`audit.http.log_server`): appends as one
registered appender and reads consistency proofs.

:class:`HttpLog` has the two methods a custodian node needs of its log
(:class:`authority_portal.custodian_node.log_check.NodeLog`): ``append_event`` signs the
request with the appender's key (:func:`audit.append_request.sign_request`), posts it, and
returns the receipt only after checking that it is a receipt of exactly the entry asked for;
``consistency_proof`` reads ``GET /proof/consistency``. Refusals come back as the same
:mod:`audit.append_request` errors the server raised, so a caller cannot tell a served log
from a local one by its errors.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import strictjson
from audit.append_request import (
    AppenderUnknownError,
    AppendReplayError,
    AppendRequestError,
    AppendStaleError,
    sign_request,
)
from audit.clock import Clock, SystemClock
from audit.entries import Entry
from audit.errors import AuditError, EntryError
from audit.note import Signer, unb64
from audit.receipt import Receipt

MAX_RESPONSE_BYTES = 1 << 20
_BY_STATUS = {400: AppendRequestError, 403: AppenderUnknownError, 409: AppendReplayError,
              413: AppendRequestError, 422: AppendStaleError}


class HttpLog:
    """Appends to the log at ``url`` as ``signer``'s name (a key the log registered)."""

    def __init__(self, url: str, signer: Signer, *, clock: Clock | None = None,
                 timeout: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise AuditError("the log URL must be http(s)")
        self.url = url.rstrip("/")
        self.actor = signer.name
        self._signer = signer
        self.clock = clock or SystemClock()
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HttpLog({self.url!r}, actor={self.actor!r})"

    def _call(self, path: str, body: bytes | None = None) -> Any:
        req = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url + path, data=body, method="POST" if body is not None else "GET",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                data = resp.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read(4096)).get("error", exc.reason)
            except (ValueError, AttributeError):
                message = exc.reason
            raise _BY_STATUS.get(exc.code, AuditError)(
                f"the log refused ({exc.code}): {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise AuditError(f"the log at {self.url} is unreachable: {exc}") from None
        return strictjson.loads(data, what="log response", error=AuditError)

    def append_event(self, type: str, actor: str, payload: Mapping[str, Any]) -> Receipt:
        """Append ``(type, actor, payload)``; the receipt of exactly that entry."""
        if actor != self.actor:
            raise AppenderUnknownError(f"this client appends as {self.actor!r}, not {actor!r}")
        body = sign_request(self._signer, type, payload, self.clock.now())
        receipt = Receipt.from_json(self._call("/append", body))
        try:
            entry = Entry.decode(receipt.entry)
        except EntryError as exc:
            raise AuditError(f"the log's receipt holds no valid entry: {exc}") from None
        if (entry.type, entry.actor, dict(entry.payload)) != (type, actor, dict(payload)):
            raise AuditError("the log's receipt is for another entry than the one appended")
        return receipt

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        query = urllib.parse.urlencode({"old": size1, "new": size2})
        obj = self._call(f"/proof/consistency?{query}")
        proof = obj.get("proof") if isinstance(obj, dict) else None
        if not isinstance(proof, list) or not all(isinstance(p, str) for p in proof):
            raise AuditError("the log's consistency proof is malformed")
        return [unb64(p, "consistency proof hash") for p in proof]
