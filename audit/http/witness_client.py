"""A client for a witness served over HTTP (:mod:`audit.http.witness_api`).

It speaks C2SP tlog-witness ``add-checkpoint`` with the standard library's ``urllib`` and
maps the status codes back to the same errors an in-process :class:`Witness` raises, so a
:class:`audit.quorum.WitnessQuorum` mixes both freely.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Sequence

from audit.errors import (
    NoteError,
    WitnessConflictError,
    WitnessError,
    WitnessInconsistencyError,
    WitnessRollbackError,
)
from audit.note import SIGNATURE_PREFIX, Signature, Verifier, b64, parse_note

MAX_RESPONSE_BYTES = 1 << 14


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
            headers={"Content-Type": "text/plain"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                text = resp.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            detail = exc.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace").strip()
            if exc.code == 409 and detail.isdigit():
                raise WitnessConflictError(int(detail), old_size) from None
            if exc.code == 400 and exc.headers.get("X-Witness-Error") == "rollback":
                latest = exc.headers.get("X-Witness-Latest-Size", "")
                offered = _size_of(note)
                raise WitnessRollbackError(int(latest) if latest.isdigit() else -1,
                                           offered) from None
            if exc.code == 422:
                raise WitnessInconsistencyError(detail) from None
            raise WitnessError(f"witness {self.verifier.name} answered {exc.code}: {detail}")\
                from None
        except (urllib.error.URLError, OSError) as exc:
            raise WitnessError(f"witness {self.verifier.name} unreachable: {exc}") from None
        for line in text.splitlines():
            if line.startswith(SIGNATURE_PREFIX + self.verifier.name + " "):
                sig = parse_note("x\n\n" + line + "\n").signatures[0]
                if self.verifier.matches(sig):
                    return sig
        raise WitnessError(f"witness {self.verifier.name} returned no cosignature of its key")


def _size_of(note: str) -> int:
    try:
        return int(parse_note(note).text.split("\n")[1])
    except (NoteError, ValueError, IndexError):
        return -1
