"""Detection orders as the scanning client holds them (docs/detection_orders.md).

Under the EU's proposed regulation a provider scans only under a *detection order*: a
judicial decision naming whom it reaches, for how long, and (here) which version of the
hash database may be used. :class:`DetectionOrder` is that order reduced to what a client
needs to decide, message by message, whether it may scan: the order's id, the users it
names (each named exactly, kept sorted and distinct), the window ``[not_before,
not_after)`` of sending times it covers (half-open, like a warrant's window: the end is
excluded), the database version, and its *scope*: what it authorises the client to scan,
images (:data:`IMAGES`), text (:data:`TEXT`, the proposal's "solicitation" detection) or
both. An order that says nothing of its scope authorises images only, as every order did
before text detection ran on the device.

:class:`OrderVerifier` is the client's check of an order's bytes: who signed it, whether it
is valid now, whether it is within policy. The verifier the portal issues orders for is
:class:`authority_portal.warrants.detection.DetectionOrderVerifier`; :mod:`escrow` only
defines the protocol, so the client depends on nothing above it (docs/architecture.md,
"Layering"). Every refusal is an :class:`OrderError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from escrow.authorisation import check_id
from escrow.css.errors import CssError
from messaging.errors import WireFormatError
from messaging.wire import validate_id

MAX_ORDER_USERS = 10_000
"""A bound on what an order can hold at all; the issuing policy's limit is far lower."""
MAX_DATABASE_VERSION = 2**53 - 1
IMAGES = "images"
TEXT = "text"
SCOPES = (IMAGES, TEXT)
"""What an order can authorise, in their one (sorted) order."""


class OrderError(CssError):
    """A detection order that is malformed, unsigned, expired, too broad or replayed."""


def _time(value: object, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value) or value < 0:
        raise OrderError(f"detection order {label} must be a finite, non-negative time")
    return float(value)


def _user(value: object) -> str:
    try:
        return validate_id(value) if isinstance(value, str) else validate_id("")
    except WireFormatError as exc:
        raise OrderError(f"detection order user {value!r}: {exc}") from None


@dataclass(frozen=True)
class DetectionOrder:
    """One detection order (module docstring); every field is checked when it is built."""

    order_id: str
    users: tuple[str, ...]
    not_before: float
    not_after: float
    database_version: int
    scope: tuple[str, ...] = (IMAGES,)

    def __post_init__(self) -> None:
        check_id(self.order_id, "detection order id", OrderError)
        if not isinstance(self.users, tuple | list):
            raise OrderError("a detection order's users are a list of user ids")
        users = tuple(_user(u) for u in self.users)
        if not 1 <= len(users) <= MAX_ORDER_USERS:
            raise OrderError(f"a detection order names 1..{MAX_ORDER_USERS} users")
        if len(set(users)) != len(users):
            raise OrderError("a detection order names each user once")
        object.__setattr__(self, "users", tuple(sorted(users)))
        start = _time(self.not_before, "not_before")
        end = _time(self.not_after, "not_after")
        if not start < end:
            raise OrderError("a detection order's window [not_before, not_after) is empty")
        object.__setattr__(self, "not_before", start)
        object.__setattr__(self, "not_after", end)
        version = self.database_version
        if isinstance(version, bool) or not isinstance(version, int) or \
                not 0 <= version <= MAX_DATABASE_VERSION:
            raise OrderError(f"a detection order's database version is an integer in "
                             f"0..{MAX_DATABASE_VERSION}")
        object.__setattr__(self, "scope", check_scope(self.scope))

    def covers(self, user: str, time: float, database_version: int,
               content: str = IMAGES) -> bool:
        """True only if ``user`` is named, ``not_before <= time < not_after``, the database
        is this order's version and ``content`` (:data:`IMAGES` or :data:`TEXT`) is in its
        scope."""
        return (user in self.users and self.not_before <= time < self.not_after
                and database_version == self.database_version and content in self.scope)


def check_scope(scope: object) -> tuple[str, ...]:
    """``scope`` as a sorted tuple if it is a non-empty set of distinct :data:`SCOPES`
    (:class:`OrderError` otherwise)."""
    if not isinstance(scope, tuple | list) or not scope or \
            any(not isinstance(s, str) or s not in SCOPES for s in scope) or \
            len(set(scope)) != len(scope):
        raise OrderError(f"a detection order's scope is one or both of {', '.join(SCOPES)}, "
                         "each once")
    return tuple(sorted(scope))


class OrderVerifier(Protocol):
    """The client's check of an encoded detection order at its own clock ``now``."""

    def verify(self, encoded: bytes, now: float) -> DetectionOrder:
        """The order ``encoded`` carries, if it is to be obeyed now; :class:`OrderError`
        naming the failed check otherwise, with nothing changed."""
        ...
