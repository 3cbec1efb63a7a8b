"""The relay's operations on its storage: the untrusted provider of docs/architecture.md, "Data
flow" 1 and 4.

Every operation runs inside one database transaction that also records the
request's nonce (:mod:`messaging.relay.api`); any :class:`RelayError` raised
here rolls that transaction back, so a refused request changes nothing.

- Devices (Sesame's per-user device lists): the first device of a user
  registers itself; every further device must be linked by a signature of an
  active device of the same user. :meth:`RelayService.provider_add_device`
  is what a compelled or compromised provider can do anyway (scenario S20).
- Prekeys (PQXDH section 3.2): a device publishes a ``PrekeyUpload``; every
  bundle fetch removes one one-time X25519 prekey and one one-time ML-KEM
  prekey with a conditional ``DELETE`` whose row count decides who got it, so
  no key is handed out twice even by concurrent relays on one database.
- Envelopes: parsed with :func:`messaging.wire.parse_envelope` (one that does
  not parse is refused), archived with the relay's receipt time and the
  header's escrow record, and queued for the recipient device. A direct
  conversation (``dm:<user>:<user>``, :func:`~messaging.addresses.direct_participants`)
  takes envelopes only between devices of its two users.

Retried writes (docs/relay.md, "Retries"): a request whose answer was lost is
resent by the client with a fresh signature, so every write is safe to repeat.
Registering the same identity again, re-uploading the same prekeys, resending
an envelope the relay already holds and removing a removed device answer as
the first time and store nothing new; acknowledgements name queue ids that are
never reused, so a repeated one deletes nothing else.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from messaging.addresses import AddressError, check_user, direct_participants, parse_address
from messaging.clock import Clock, SystemClock
from messaging.errors import HandshakeError, WireFormatError
from messaging.identity import IdentityPublic
from messaging.pqxdh import OneTimePrekey, PrekeyUpload, SignedPrekey
from messaging.relay import schema
from messaging.relay.archive import RelayArchive
from messaging.relay.errors import (
    bad_request,
    conflict,
    forbidden,
    not_found,
    queue_full,
    too_large,
    too_many,
)
from messaging.relay.limits import RelayLimits
from messaging.relay.statements import INTEGRITY_ERRORS, HotStatement
from messaging.relay_protocol import RelayError, link_signing_input
from messaging.wire import Envelope, parse_envelope

PURGE_EVERY = 512
IDENTITY_CACHE_SIZE = 10_000

# Statements on the hot path, built once (see messaging.relay.statements).
_SELECT_IDENTITY = HotStatement(select(schema.devices.c.identity).where(
    schema.devices.c.address == bindparam("address"), schema.devices.c.removed_at.is_(None)))
_SELECT_ACTIVE_ADDRESSES = HotStatement(select(schema.devices.c.address).where(
    schema.devices.c.user == bindparam("user"), schema.devices.c.removed_at.is_(None)))
_INSERT_NONCE = HotStatement(insert(schema.nonces).values(
    address=bindparam("address"), nonce=bindparam("nonce"), seen_at=bindparam("seen_at")))
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


class RelayService:
    """The relay's state and operations. Thread-safe; one instance per process and database."""

    def __init__(
        self,
        url: str = schema.DEFAULT_URL,
        *,
        clock: Clock | None = None,
        limits: RelayLimits | None = None,
        sqlite_synchronous: str = schema.DEFAULT_SYNCHRONOUS,
        engine: Engine | None = None,
        concurrency: int = 2,
        init: bool = False,
    ) -> None:
        """Open the relay database at ``url`` (see :func:`messaging.relay.schema.open_engine`:
        ``init`` creates the schema in an existing empty database; a foreign one raises
        :class:`~messaging.relay.errors.RelayDatabaseError`)."""
        self.engine = engine or schema.open_engine(url, sqlite_synchronous=sqlite_synchronous,
                                                   init=init)
        self.clock = clock or SystemClock()
        self.limits = limits or RelayLimits()
        # SQLite has one writer at a time; taking the lock here instead of
        # waiting in BEGIN IMMEDIATE keeps the waitress threads from spinning.
        is_sqlite = self.engine.dialect.name == "sqlite"
        self._lock = threading.Lock() if is_sqlite else nullcontext()
        # Under that lock one transaction runs at a time, so SQLite keeps one
        # connection for them all (no pool checkout, reset and checkin per request).
        self._connection = self.engine.connect() if is_sqlite else None
        # Admission: at most ``concurrency`` requests are processed at once (a
        # long-polling fetch leaves while it waits). Under the GIL more threads
        # add no throughput, and a thread holding the database lock would wait
        # for the interpreter behind all of them (a lock convoy).
        self.admission = threading.BoundedSemaphore(concurrency)
        self._requests = 0
        self.purge_every = PURGE_EVERY
        self._identities: dict[bytes, IdentityPublic] = {}
        # Long polling: per-device queue versions and the fetches waiting on them.
        self._local = threading.local()
        self._notify_lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._waiters: dict[str, list[_Waiter]] = {}

    @property
    def archive(self) -> RelayArchive:
        """Read access to everything this relay archived."""
        return RelayArchive(self.engine, self._lock)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit of work: committed on success, rolled back on any exception."""
        self._local.queued = {}
        with self._lock, self._connect() as conn, conn.begin():
            yield conn
            self._requests += 1
            if self._requests % self.purge_every == 0:
                self._purge(conn)
        self._notify(self._local.queued)

    def _connect(self):
        if self._connection is None:
            return self.engine.connect()
        if self._connection.closed or self._connection.invalidated:
            self._connection = self.engine.connect()
        return nullcontext(self._connection)

    def _purge(self, conn: Connection) -> None:
        """Forget nonces older than twice the clock skew and fetches outside the rate window."""
        now = self.clock.now()
        conn.execute(delete(schema.nonces).where(
            schema.nonces.c.seen_at < now - 2 * self.limits.clock_skew))
        conn.execute(delete(schema.bundle_fetches).where(
            schema.bundle_fetches.c.fetched_at < now - self.limits.bundle_fetch_window))

    # -- long polling ----------------------------------------------------------------------

    def queue_version(self, address: str) -> int:
        """A counter that moves whenever this process queues an envelope for ``address``."""
        with self._notify_lock:
            return self._versions.get(address, 0)

    def wait_for_queue(self, address: str, version: int, timeout: float) -> list[dict] | None:
        """Wait until this process commits an envelope for ``address`` or ``timeout`` passes.

        Call it after a fetch that found the queue empty, with the
        :meth:`queue_version` read before that fetch. Returns the queue entries
        committed since (the fetch's JSON form, oldest first), ``[]`` if
        something may have been queued before the wait began (fetch again), or
        ``None`` on timeout. Envelopes queued by other relay processes on the
        same database do not wake the waiter; its fetch then times out.
        """
        waiter = _Waiter()
        with self._notify_lock:
            if self._versions.get(address, 0) != version:
                return []
            self._waiters.setdefault(address, []).append(waiter)
        try:
            if not waiter.event.wait(timeout):
                return None
            return [{"id": queue_id, "envelope": envelope.hex(), "received_at": received_at}
                    for queue_id, envelope, received_at in waiter.items]
        finally:
            with self._notify_lock:
                waiting = self._waiters.get(address, [])
                if waiter in waiting:
                    waiting.remove(waiter)
                if not waiting:
                    self._waiters.pop(address, None)

    def _notify(self, queued: dict[str, list[tuple[int, bytes, float]]]) -> None:
        if not queued:
            return
        with self._notify_lock:
            for address, items in queued.items():
                self._versions[address] = self._versions.get(address, 0) + 1
                for waiter in self._waiters.pop(address, ()):
                    waiter.items.extend(items)
                    waiter.event.set()

    # -- devices ---------------------------------------------------------------------------

    def device_identity(self, conn: Connection, address: str) -> IdentityPublic | None:
        """The identity of an *active* device, or ``None``."""
        row = _SELECT_IDENTITY.run(conn, {"address": address}).fetchone()
        return self._decode_identity(row[0]) if row else None

    def _decode_identity(self, raw: bytes) -> IdentityPublic:
        """``IdentityPublic.decode`` (which verifies the binding), memoised by exact bytes."""
        raw = bytes(raw)
        identity = self._identities.get(raw)
        if identity is None:
            if len(self._identities) >= IDENTITY_CACHE_SIZE:
                self._identities.clear()
            identity = self._identities[raw] = IdentityPublic.decode(raw)
        return identity

    def remember_nonce(self, conn: Connection, address: str, nonce: str) -> None:
        """Record a request nonce; a second use raises a 401 ``RelayError`` (replay)."""
        try:
            _INSERT_NONCE.run(conn, {"address": address, "nonce": nonce,
                                     "seen_at": self.clock.now()})
        except INTEGRITY_ERRORS as exc:
            raise RelayError(401, "replayed",
                             "replayed request: this nonce was already used") from exc

    def register_device(
        self, conn: Connection, address: str, identity: IdentityPublic,
        linked_by: str | None, link_signature: bytes | None,
    ) -> dict:
        """Register ``address`` (already authenticated by ``identity``'s own signature)."""
        user, device_id = _parse(address)
        existing = conn.execute(
            select(schema.devices).where(schema.devices.c.address == address)).first()
        if existing is not None:
            if existing.removed_at is None and existing.identity == identity.encode():
                return {"address": address, "registered": False}
            raise conflict(f"device {address} is already registered (or was removed)")
        active = self._active_devices(conn, user)
        if active:
            if len(active) >= self.limits.max_devices_per_user:
                raise too_large(
                    f"user {user} already has {len(active)} devices "
                    f"(limit {self.limits.max_devices_per_user})")
            if linked_by is None or link_signature is None:
                raise forbidden(
                    f"user {user} exists: a new device must be linked by one of its devices")
            linker = dict(active).get(linked_by)
            if linker is None:
                raise forbidden(f"{linked_by} is not an active device of user {user}")
            try:
                linker.verify(link_signature, link_signing_input(address, identity))
            except HandshakeError as exc:
                raise forbidden("the device-link signature does not verify") from exc
        elif linked_by is not None:
            raise forbidden(f"user {user} has no device that could have linked {address}")
        self._insert_device(conn, address, identity, linked_by)
        return {"address": address, "registered": True}

    def provider_add_device(self, address: str, identity: IdentityPublic) -> None:
        """Add a device to a user's list with no link signature: the provider's own power.

        Clients cannot call this; it models a compelled or compromised provider
        (GCHQ's "ghost" proposal, scenarios S19 and S20).
        """
        _parse(address)
        with self.transaction() as conn:
            existing = conn.execute(
                select(schema.devices.c.address).where(schema.devices.c.address == address)
            ).first()
            if existing is not None:
                raise conflict(f"device {address} is already registered (or was removed)")
            self._insert_device(conn, address, identity, None)

    def _insert_device(
        self, conn: Connection, address: str, identity: IdentityPublic, linked_by: str | None
    ) -> None:
        user, device_id = _parse(address)
        conn.execute(insert(schema.devices).values(
            address=address, user=user, device_id=device_id, identity=identity.encode(),
            registered_at=self.clock.now(), removed_at=None, linked_by=linked_by))

    def _active_devices(self, conn: Connection, user: str) -> list[tuple[str, IdentityPublic]]:
        rows = conn.execute(
            select(schema.devices.c.address, schema.devices.c.identity)
            .where(schema.devices.c.user == user, schema.devices.c.removed_at.is_(None))
            .order_by(schema.devices.c.device_id)
        ).all()
        return [(r.address, self._decode_identity(r.identity)) for r in rows]

    def list_devices(self, conn: Connection, user: str) -> dict:
        try:
            check_user(user)
        except AddressError as exc:
            raise bad_request(str(exc)) from exc
        devices = self._active_devices(conn, user)
        if not devices:
            raise not_found(f"unknown user {user}")
        return {"user": user, "devices": [
            {"address": a, "identity": i.encode().hex()} for a, i in devices]}

    def remove_device(self, conn: Connection, caller: str, address: str) -> dict:
        """Remove ``address``; only a device of the same user may do it. Removing a removed
        device again (a retried request) answers the same and changes nothing."""
        if _parse(address)[0] != _parse(caller)[0]:
            raise forbidden("a device may only remove devices of its own user")
        if self.device_identity(conn, address) is None:
            if conn.execute(select(schema.devices.c.address)
                            .where(schema.devices.c.address == address)).first() is not None:
                return {"removed": address}
            raise not_found(f"unknown device {address}")
        conn.execute(update(schema.devices).where(schema.devices.c.address == address)
                     .values(removed_at=self.clock.now()))
        for table in (schema.one_time_prekeys, schema.kem_prekeys, schema.signed_prekeys):
            conn.execute(delete(table).where(table.c.address == address))
        conn.execute(delete(schema.queue).where(schema.queue.c.recipient == address))
        return {"removed": address}

    # -- prekeys ---------------------------------------------------------------------------

    def upload_prekeys(self, conn: Connection, caller: str, upload: PrekeyUpload) -> dict:
        """Publish (or replenish) the caller's prekeys; signed parts replace the old ones.

        An upload equal to the last one accepted from this device (a retry whose
        answer was lost) changes nothing and answers the current counts: its
        one-time prekeys are not stored again, even those handed out since.
        """
        if upload.identity.encode() != self.device_identity(conn, caller).encode():
            raise forbidden("a device may only publish prekeys for its own identity")
        digest = hashlib.sha256(
            json.dumps(upload.to_json(), sort_keys=True, separators=(",", ":")).encode()).digest()
        last = conn.execute(select(schema.signed_prekeys.c.upload_digest)
                            .where(schema.signed_prekeys.c.address == caller)).first()
        if last is not None and bytes(last.upload_digest) == digest:
            return self._prekey_counts(conn, caller)
        counts = self._prekey_counts(conn, caller)
        if (counts["one_time"] + len(upload.one_time_prekeys) > self.limits.max_one_time_prekeys
                or counts["kem_one_time"] + len(upload.kem_prekeys)
                > self.limits.max_one_time_prekeys):
            raise too_large(
                f"a device keeps at most {self.limits.max_one_time_prekeys} one-time prekeys "
                "of each kind on the relay")
        signed = PrekeyUpload(upload.identity, upload.mode, upload.signed_prekey, (), (),
                              upload.kem_last_resort)
        stored = json.dumps(signed.to_json(), sort_keys=True).encode()
        values = {"mode": upload.mode, "upload": stored, "uploaded_at": self.clock.now(),
                  "upload_digest": digest}
        if conn.execute(update(schema.signed_prekeys)
                        .where(schema.signed_prekeys.c.address == caller)
                        .values(**values)).rowcount == 0:
            conn.execute(insert(schema.signed_prekeys).values(address=caller, **values))
        try:
            if upload.one_time_prekeys:
                conn.execute(insert(schema.one_time_prekeys), [
                    {"address": caller, "key_id": k.key_id, "public_key": k.public_key}
                    for k in upload.one_time_prekeys])
            if upload.kem_prekeys:
                conn.execute(insert(schema.kem_prekeys), [
                    {"address": caller, "key_id": k.key_id, "public_key": k.public_key,
                     "signature": k.signature} for k in upload.kem_prekeys])
        except IntegrityError as exc:
            raise conflict("an uploaded one-time prekey id is already on the relay") from exc
        return self._prekey_counts(conn, caller)

    def prekey_counts(self, conn: Connection, caller: str) -> dict:
        return self._prekey_counts(conn, caller)

    def _prekey_counts(self, conn: Connection, address: str) -> dict:
        def count(table) -> int:
            return conn.execute(select(func.count()).select_from(table)
                                .where(table.c.address == address)).scalar_one()
        return {"one_time": count(schema.one_time_prekeys),
                "kem_one_time": count(schema.kem_prekeys)}

    def fetch_bundle(self, conn: Connection, caller: str, address: str) -> dict:
        """One ``PrekeyBundle`` for ``address``, taking at most one of each one-time prekey."""
        _parse(address)
        now = self.clock.now()
        window_start = now - self.limits.bundle_fetch_window
        recent = conn.execute(
            select(func.count()).select_from(schema.bundle_fetches).where(
                schema.bundle_fetches.c.requester == caller,
                schema.bundle_fetches.c.fetched_at > window_start)
        ).scalar_one()
        if recent >= self.limits.bundle_fetches_per_window:
            raise too_many(
                f"at most {self.limits.bundle_fetches_per_window} prekey bundles per "
                f"{self.limits.bundle_fetch_window:g} s; try again later")
        if self.device_identity(conn, address) is None:
            raise not_found(f"unknown device {address}")
        row = conn.execute(select(schema.signed_prekeys.c.upload)
                           .where(schema.signed_prekeys.c.address == address)).first()
        if row is None:
            raise not_found(f"device {address} has not published prekeys")
        stored = PrekeyUpload.from_json(json.loads(row.upload))
        one_time = self._take(conn, schema.one_time_prekeys, address)
        kem = self._take(conn, schema.kem_prekeys, address)
        conn.execute(insert(schema.bundle_fetches).values(requester=caller, fetched_at=now))
        bundle = stored.bundle(
            OneTimePrekey(one_time.key_id, one_time.public_key) if one_time else None,
            SignedPrekey(kem.key_id, kem.public_key, kem.signature) if kem else None,
        )
        return bundle.to_json()

    @staticmethod
    def _take(conn: Connection, table, address: str):
        """Claim the oldest one-time prekey of ``address``: the DELETE's row count decides."""
        while True:
            row = conn.execute(select(table).where(table.c.address == address)
                               .order_by(table.c.id).limit(1)).first()
            if row is None:
                return None
            if conn.execute(delete(table).where(table.c.id == row.id)).rowcount == 1:
                return row

    # -- envelopes -------------------------------------------------------------------------

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
        per_user: dict[str, set[str]] = {}
        for recipient in recipients:
            try:
                user, _ = parse_address(recipient)
            except AddressError as exc:
                raise bad_request(f"bad recipient: {exc}") from exc
            per_user.setdefault(user, set()).add(recipient)
        if require_complete:
            per_user.setdefault(_parse(caller)[0], set())
        registered = {user: {address for (address,) in _SELECT_ACTIVE_ADDRESSES.run(
            conn, {"user": user}).fetchall()} for user in per_user}
        mismatched: dict[str, list[str]] = {}
        for user, addressed in per_user.items():
            active = registered[user] - {caller}
            missing = addressed - active
            if missing:
                if not active and user != _parse(caller)[0]:
                    raise not_found(f"unknown user {user}")
                mismatched[user] = sorted(active)
            elif require_complete and addressed != active:
                mismatched[user] = sorted(active)
        if mismatched:
            raise RelayError(409, "device-list-mismatch",
                             "the device list changed; update it and resend",
                             {"devices": mismatched})
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
            self._local.queued.setdefault(envelope.recipient, []).append(
                (queue_id, bytes(data), now))
        # the same envelope twice in one request: one copy, its id twice
        return {"accepted": [ids[first[digest]] for digest in digests], "received_at": now}

    def fetch_queue(self, conn: Connection, caller: str, limit: int) -> dict:
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


class _Waiter:
    """A fetch waiting for its device's queue (long polling)."""

    __slots__ = ("event", "items")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.items: list[tuple[int, bytes, float]] = []


def _check_participants(envelope: Envelope) -> None:
    """A ``dm:`` envelope must go between devices of the conversation's two users."""
    try:
        users = direct_participants(envelope.conversation_id)
    except AddressError as exc:
        raise bad_request(f"malformed conversation id: {exc}") from exc
    if users is None:
        return
    for role, address in (("sender", envelope.sender), ("recipient", envelope.recipient)):
        user = _parse(address)[0]
        if user not in users:
            raise forbidden(f"the {role} {address} is not a participant of the direct "
                            f"conversation {envelope.conversation_id}")


def _parse(address: str) -> tuple[str, int]:
    try:
        return parse_address(address)
    except AddressError as exc:
        raise bad_request(str(exc)) from exc
