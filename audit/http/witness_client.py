"""A client for a witness served over HTTP (:mod:`audit.http.witness_api`).

It speaks C2SP tlog-witness ``add-checkpoint`` with the standard library's ``urllib`` and
maps the status codes back to the same errors an in-process :class:`Witness` raises, so a
:class:`audit.quorum.WitnessQuorum` mixes both freely: 400 :class:`WitnessRequestError`
(:class:`WitnessRollbackError` when marked so), 403 :class:`WitnessSignatureError`, 404
:class:`WitnessUnknownLogError`, 409 with ``text/x.tlog.size`` :class:`WitnessConflictError`,
any other 409 :class:`WitnessForkError`, 422 :class:`WitnessInconsistencyError`.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Sequence

from audit.errors import (
    NoteError,
    WitnessConflictError,
    WitnessError,
    WitnessForkError,
    WitnessInconsistencyError,
    WitnessRequestError,
    WitnessRollbackError,
    WitnessSignatureError,
    WitnessUnknownLogError,
)
from audit.http.witness_api import SIZE_CONTENT_TYPE, parse_size
from audit.note import SIGNATURE_PREFIX, Signature, Verifier, b64, parse_note

MAX_RESPONSE_BYTES = 1 << 14
_BY_STATUS = {400: WitnessRequestError, 403: WitnessSignatureError,
              404: WitnessUnknownLogError, 422: WitnessInconsistencyError}


class HttpWitness:
    """Calls ``<url>/add-checkpoint``; ``verifier`` is the witness's cosignature key."""

    def __init__(self, url: str, verifier: Verifier, timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise WitnessError("witness URL must be http(s)")
        self.url = url.rstrip("/")
        self.verifier = verifier
        self.timeout = timeout

    def add_checkpoint(self, old_size: int, proof: Sequence[bytes], note: str) -> Signature:
        body = f"old {old_size}\n" + "".join(b64(p) + "\n" for p in proof) + "\n" + note
        req = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url + "/add-checkpoint", data=body.encode("utf-8"), method="POST",
            headers={"Content-Type": "text/plain; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                text = resp.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise self._refusal(exc, old_size, note) from None
        except (urllib.error.URLError, OSError) as exc:
            raise WitnessError(f"witness {self.verifier.name} unreachable: {exc}") from None
        for line in text.splitlines():
            if line.startswith(SIGNATURE_PREFIX + self.verifier.name + " "):
                try:
                    sig = parse_note("x\n\n" + line + "\n").signatures[0]
                except NoteError:
                    continue
                if self.verifier.matches(sig):
                    return sig
        raise WitnessError(f"witness {self.verifier.name} returned no cosignature of its key")

    def _refusal(self, exc: urllib.error.HTTPError, old_size: int, note: str) -> WitnessError:
        detail = exc.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
        content_type = (exc.headers.get("Content-Type") or "").split(";")[0].strip()
        name = self.verifier.name
        if exc.code == 409 and content_type == SIZE_CONTENT_TYPE:
            try:
                if not detail.endswith("\n"):
                    raise WitnessRequestError("no newline")
                return WitnessConflictError(parse_size(detail[:-1], "latest size"), old_size)
            except WitnessRequestError:
                return WitnessError(f"witness {name} answered 409 with a malformed size")
        if exc.code == 409:
            return WitnessForkError(f"witness {name}: {detail.strip()}")
        if exc.code == 400 and exc.headers.get("X-Witness-Error") == "rollback":
            latest = exc.headers.get("X-Witness-Latest-Size", "")
            known = latest.isascii() and latest.isdigit() and len(latest) <= 20
            return WitnessRollbackError(int(latest) if known else -1, _size_of(note))
        kind = _BY_STATUS.get(exc.code, WitnessError)
        return kind(f"witness {name} answered {exc.code}: {detail.strip()}")


def _size_of(note: str) -> int:
    try:
        return int(parse_note(note).text.split("\n")[1])
    except (NoteError, ValueError, IndexError):
        return -1
