"""The relay's envelopes: archive, queue, fetch, acknowledge (docs/relay.md, "Endpoints":
``/v1/messages``; docs/architecture.md, "Data flow" 5).

Envelopes are parsed with :func:`messaging.wire.parse_envelope` (one that does
not parse is refused), archived with the relay's receipt time and the header's
escrow record, and queued for the recipient device. A direct conversation
(``dm:<user>:<user>``, :func:`~messaging.addresses.direct_participants`) takes
envelopes only between devices of its two users. Resending an envelope the
relay already holds stores nothing new, and acknowledgements name queue ids
that are never reused, so a repeated one deletes nothing else (docs/relay.md,
"Retries").

Every method taking a ``conn`` runs inside the request's transaction
(:meth:`messaging.relay.service.RelayService.transaction`); a refusal rolls it back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.engine import Connection

from messaging.addresses import AddressError, direct_participants, parse_address
from messaging.clock import Clock
from messaging.errors import WireFormatError
from messaging.relay import schema
from messaging.relay.devices import Devices, parse_device
from messaging.relay.errors import (
    bad_request,
    conflict,
    forbidden,
    not_found,
    queue_full,
    too_large,
)
from messaging.relay.limits import RelayLimits
from messaging.relay.polling import QueuedItem
from messaging.relay.statements import INTEGRITY_ERRORS, HotStatement
from messaging.relay_protocol import RelayError
from messaging.wire import Envelope, parse_envelope

_COUNT_QUEUE = HotStatement(select(func.count()).select_from(schema.queue).where(
    schema.queue.c.recipient == bindparam("recipient")))
_INSERT_ARCHIVE = HotStatement(insert(schema.archive).values(
    {c.name: bindparam(c.name) for c in schema.archive.c if c.name != "id"}))
_SELECT_ARCHIVED = HotStatement(select(schema.archive.c.id).where(
    schema.archive.c.digest == bindparam("digest")))
_INSERT_QUEUE = HotStatement(insert(schema.queue).values(
    recipient=bindparam("recipient"), archive_id=bindparam("archive_id")))
_DELETE_ACKNOWLEDGED = HotStatement(delete(schema.queue).where(
    schema.queue.c.recipient == bindparam("recipient"), schema.queue.c.id == bindparam("id")))
_SELECT_QUEUE = HotStatement(
    select(schema.queue.c.id, schema.archive.c.envelope, schema.archive.c.received_at)
    .join(schema.archive, schema.archive.c.id == schema.queue.c.archive_id)
    .where(schema.queue.c.recipient == bindparam("recipient"))
    .order_by(schema.queue.c.id).limit(bindparam("limit"))
)


class Queue:
    """Send (archive and queue), fetch and acknowledge envelopes.

    ``on_queued(recipient, item)`` is told of every envelope queued, inside the
    transaction (long polling publishes them once it committed).
    """

    def __init__(self, clock: Clock, limits: RelayLimits, devices: Devices,
                 on_queued: Callable[[str, QueuedItem], None]) -> None:
        self.clock = clock
        self.limits = limits
        self.devices = devices
        self.on_queued = on_queued

    def send(
        self, conn: Connection, caller: str, envelopes: list[bytes], require_complete: bool
    ) -> dict:
        """Archive and queue ``envelopes`` sent by ``caller``; all or nothing.

        With ``require_complete`` every user addressed must receive a copy on
        each of their active devices (the sender's own user: each *other*
        device), as in Sesame; otherwise the relay answers 409 with the
        current device lists so the client can update and retry.
        """
        if not envelopes:
            raise bad_request("no envelopes to send")
        if len(envelopes) > self.limits.max_envelopes_per_request:
            raise too_large(
                f"at most {self.limits.max_envelopes_per_request} envelopes per request")
        parsed: list[Envelope] = []
        for data in envelopes:
            try:
                envelope = parse_envelope(data)
            except WireFormatError as exc:
                raise bad_request(f"malformed envelope: {exc}") from exc
            if envelope.sender != caller:
                raise forbidden(f"envelope sender {envelope.sender!r} is not the requesting "
                                "device")
            _check_participants(envelope)
            parsed.append(envelope)
        recipients = [e.recipient for e in parsed]
        self._check_device_lists(conn, caller, recipients, require_complete)
        # An envelope the archive already holds was sent before (a retry whose answer was
        # lost): it keeps its first id and is neither archived nor queued again.
        digests = [hashlib.sha256(data).digest() for data in envelopes]
        first = {digest: i for i, digest in reversed(list(enumerate(digests)))}
        ids: list[int | None] = [None] * len(envelopes)
        for digest, i in first.items():
            row = _SELECT_ARCHIVED.run(conn, {"digest": digest}).fetchone()
            ids[i] = row[0] if row else None
        new = sorted(i for i in first.values() if ids[i] is None)
        fresh = [recipients[i] for i in new]
        for recipient in set(fresh):
            queued = _COUNT_QUEUE.run(conn, {"recipient": recipient}).fetchone()[0]
            if queued + fresh.count(recipient) > self.limits.max_queue_per_device:
                raise queue_full(
                    f"the queue of {recipient} is full "
                    f"({self.limits.max_queue_per_device} envelopes)")
        now = self.clock.now()
        for i in new:
            data, envelope = envelopes[i], parsed[i]
            try:
                archive_id = _INSERT_ARCHIVE.insert(conn, {
                    "received_at": now, "sender": envelope.sender,
                    "recipient": envelope.recipient, "conversation_id": envelope.conversation_id,
                    "envelope": bytes(data), "record": envelope.header.record,
                    "digest": digests[i]})
            except INTEGRITY_ERRORS as exc:  # another relay process stored it meanwhile
                raise conflict("a concurrent request is storing the same envelope; "
                               "send again") from exc
            queue_id = _INSERT_QUEUE.insert(conn, {
                "recipient": envelope.recipient, "archive_id": archive_id})
            ids[i] = archive_id
            self.on_queued(envelope.recipient, (queue_id, bytes(data), now))
        # the same envelope twice in one request: one copy, its id twice
        return {"accepted": [ids[first[digest]] for digest in digests], "received_at": now}

    def _check_device_lists(self, conn: Connection, caller: str, recipients: list[str],
                            require_complete: bool) -> None:
        """Every recipient an active device (with ``require_complete``: every active device
        of each user addressed); otherwise a 409 ``device-list-mismatch``."""
        per_user: dict[str, set[str]] = {}
        for recipient in recipients:
            try:
                user, _ = parse_address(recipient)
            except AddressError as exc:
                raise bad_request(f"bad recipient: {exc}") from exc
            per_user.setdefault(user, set()).add(recipient)
        caller_user = parse_device(caller)[0]
        if require_complete:
            per_user.setdefault(caller_user, set())
        registered = {user: self.devices.active_addresses(conn, user) for user in per_user}
        mismatched: dict[str, list[str]] = {}
        for user, addressed in per_user.items():
            active = registered[user] - {caller}
            missing = addressed - active
            if missing:
                if not active and user != caller_user:
                    raise not_found(f"unknown user {user}")
                mismatched[user] = sorted(active)
            elif require_complete and addressed != active:
                mismatched[user] = sorted(active)
        if mismatched:
            raise RelayError(409, "device-list-mismatch",
                             "the device list changed; update it and resend",
                             {"devices": mismatched})

    def fetch(self, conn: Connection, caller: str, limit: int) -> dict:
        """Up to ``limit`` queued envelopes of the caller's own queue, oldest first."""
        limit = max(1, min(limit, self.limits.max_fetch_batch))
        rows = _SELECT_QUEUE.run(conn, {"recipient": caller, "limit": limit + 1}).fetchall()
        messages = []
        size = 0
        for queue_id, envelope, received_at in rows[:limit]:
            size += len(envelope)
            if messages and size > self.limits.max_fetch_bytes:
                break
            messages.append({"id": queue_id, "envelope": envelope.hex(),
                             "received_at": received_at})
        return {"messages": messages, "more": len(rows) > len(messages)}

    def acknowledge(self, conn: Connection, caller: str, ids: list[int]) -> dict:
        """Delete acknowledged entries of the caller's own queue (ids of others are ignored)."""
        if len(ids) > self.limits.max_fetch_batch:
            raise too_large(f"at most {self.limits.max_fetch_batch} ids per acknowledgement")
        deleted = sum(_DELETE_ACKNOWLEDGED.run(conn, {"recipient": caller, "id": i}).rowcount
                      for i in set(ids))
        return {"acknowledged": deleted}


def _check_participants(envelope: Envelope) -> None:
    """A ``dm:`` envelope must go between devices of the conversation's two users."""
    try:
        users = direct_participants(envelope.conversation_id)
    except AddressError as exc:
        raise bad_request(f"malformed conversation id: {exc}") from exc
    if users is None:
        return
    for role, address in (("sender", envelope.sender), ("recipient", envelope.recipient)):
        user = parse_device(address)[0]
        if user not in users:
            raise forbidden(f"the {role} {address} is not a participant of the direct "
                            f"conversation {envelope.conversation_id}")
