"""The audit-log appender the ``audit-api`` crash trial kills: ``python -m escrowlab.crash.child``.

Usage: ``python -m escrowlab.crash.child LOG KEY_FILE DURABILITY FIRST BATCHES``.
It opens the log with :meth:`audit.log.AuditLog.open`, then appends ``BATCHES``
batches (0: until killed) of entries whose payloads are ``{"n": FIRST}``,
``{"n": FIRST + 1}``, ... and prints one JSON line per acknowledgement, flushed:

- ``{"n": [...], "checkpoint": NOTE}`` after :meth:`AuditLog.append_events` returned
  its receipts (the entries and a checkpoint covering them are durable);
- ``{"n": [...], "checkpoint": null}`` after a raw :meth:`AuditLog.append_batch`, and
  ``{"n": [], "checkpoint": NOTE}`` after the :meth:`AuditLog.sign_checkpoint` that
  follows it (so the process also dies between an append and its checkpoint).
"""

from __future__ import annotations

import json
import sys

from audit.log import AuditLog
from audit.note import Signer

EVENT_TYPE = "crash.trial"
ACTOR = "crash:api"


def main(argv: list[str]) -> int:
    path, key_file, durability, first, batches = argv
    with open(key_file, encoding="utf-8") as fh:
        signer = Signer.from_skey(fh.read().strip())
    log = AuditLog.open(path, signer, create=False, durability=durability)
    n, batch = int(first), 0
    while int(batches) == 0 or batch < int(batches):
        numbers = list(range(n, n + 1 + batch % 3))
        if batch % 2 == 0:
            receipts = log.append_events([(EVENT_TYPE, ACTOR, {"n": k}) for k in numbers])
            print(json.dumps({"n": numbers, "checkpoint": receipts[0].checkpoint}), flush=True)
        else:
            log.append_batch([log.event(EVENT_TYPE, ACTOR, {"n": k}).encode() for k in numbers])
            print(json.dumps({"n": numbers, "checkpoint": None}), flush=True)
            note = log.sign_checkpoint()
            print(json.dumps({"n": [], "checkpoint": note.encode()}), flush=True)
        n += len(numbers)
        batch += 1
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
