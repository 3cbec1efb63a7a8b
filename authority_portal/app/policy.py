"""Particularity limits the portal enforces when a warrant is filed (docs/portal.md,
"Filing"): one named conversation (no wildcard), a bounded window, a bounded validity,
a bounded number of records. Every custodian still applies its own checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from authority_portal.app.errors import PortalError
from messaging.errors import WireFormatError
from messaging.wire import validate_id

DAY = 86_400.0
WILDCARDS = re.compile(r"[*?%\[\]]")


@dataclass(frozen=True)
class Policy:
    max_window: float = 31 * DAY
    max_validity: float = 30 * DAY
    max_records: int = 1_000

    def check(self, conversation_id: object, start: object, end: object,
              validity: object) -> None:
        if not isinstance(conversation_id, str) or WILDCARDS.search(conversation_id):
            raise PortalError("a warrant names one conversation id, without wildcards")
        try:
            validate_id(conversation_id)
        except WireFormatError as exc:
            raise PortalError(f"conversation id: {exc}") from None
        for label, value in (("window start", start), ("window end", end),
                             ("validity", validity)):
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or value != value or value in (float("inf"), float("-inf")):
                raise PortalError(f"{label} must be a finite number of seconds")
        if not 0 <= start < end:
            raise PortalError("the window must end after it starts")
        if end - start > self.max_window:
            raise PortalError(f"the window may span at most {self.max_window / DAY:g} days")
        if not 0 < validity <= self.max_validity:
            raise PortalError(f"a warrant is valid for more than 0 and at most "
                              f"{self.max_validity / DAY:g} days")
