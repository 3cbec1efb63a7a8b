"""The relay's device lists (docs/relay.md, "Endpoints": ``/v1/devices``, ``/v1/users``).

Sesame's per-user device lists: the first device of a user registers itself;
every further device must be linked by a signature of an active device of the
same user. :meth:`Devices.provider_add` is what a compelled or compromised
provider can do anyway (scenario S20). Registering the same identity again and
removing a removed device answer as the first time and store nothing new
(docs/relay.md, "Retries").

Every method taking a ``conn`` runs inside the request's transaction
(:meth:`messaging.relay.service.RelayService.transaction`); a refusal rolls it back.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from messaging.addresses import AddressError, check_user, parse_address
from messaging.clock import Clock
from messaging.errors import HandshakeError
from messaging.identity import IdentityPublic
from messaging.relay import schema
from messaging.relay.directory import DevicePublisher, NoDirectory
from messaging.relay.errors import bad_request, conflict, forbidden, not_found, too_large
from messaging.relay.limits import RelayLimits
from messaging.relay.statements import HotStatement
from messaging.relay_protocol import link_signing_input

IDENTITY_CACHE_SIZE = 10_000

_SELECT_IDENTITY = HotStatement(select(schema.devices.c.identity).where(
    schema.devices.c.address == bindparam("address"), schema.devices.c.removed_at.is_(None)))
_SELECT_ACTIVE_ADDRESSES = HotStatement(select(schema.devices.c.address).where(
    schema.devices.c.user == bindparam("user"), schema.devices.c.removed_at.is_(None)))


def parse_device(address: str) -> tuple[str, int]:
    """``(user, device id)`` of ``address``; a malformed one is a 400 ``RelayError``."""
    try:
        return parse_address(address)
    except AddressError as exc:
        raise bad_request(str(exc)) from exc


class Devices:
    """Registration, linking, listing and removal of devices, and their identities."""

    def __init__(self, clock: Clock, limits: RelayLimits,
                 publisher: DevicePublisher | None = None) -> None:
        self.clock = clock
        self.limits = limits
        self.publisher: DevicePublisher = publisher or NoDirectory()
        """Told every new device list, in the transaction that changes it
        (:mod:`messaging.relay.directory`)."""
        self._identities: dict[bytes, IdentityPublic] = {}

    def identity(self, conn: Connection, address: str) -> IdentityPublic | None:
        """The identity of an *active* device, or ``None``."""
        row = _SELECT_IDENTITY.run(conn, {"address": address}).fetchone()
        return self._decode_identity(row[0]) if row else None

    def active_addresses(self, conn: Connection, user: str) -> set[str]:
        """The addresses of ``user``'s active devices."""
        return {address for (address,) in _SELECT_ACTIVE_ADDRESSES.run(
            conn, {"user": user}).fetchall()}

    def _decode_identity(self, raw: bytes) -> IdentityPublic:
        """``IdentityPublic.decode`` (which verifies the binding), memoised by exact bytes."""
        raw = bytes(raw)
        identity = self._identities.get(raw)
        if identity is None:
            if len(self._identities) >= IDENTITY_CACHE_SIZE:
                self._identities.clear()
            identity = self._identities[raw] = IdentityPublic.decode(raw)
        return identity

    def register(
        self, conn: Connection, address: str, identity: IdentityPublic,
        linked_by: str | None, link_signature: bytes | None,
    ) -> dict:
        """Register ``address`` (already authenticated by ``identity``'s own signature)."""
        user, _ = parse_device(address)
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
        self._insert(conn, address, identity, linked_by)
        self._publish(conn, user)
        return {"address": address, "registered": True}

    def provider_add(self, conn: Connection, address: str, identity: IdentityPublic) -> None:
        """Add a device to a user's list with no link signature: the provider's own power
        (GCHQ's "ghost" proposal, scenarios S19 and S20)."""
        parse_device(address)
        existing = conn.execute(
            select(schema.devices.c.address).where(schema.devices.c.address == address)
        ).first()
        if existing is not None:
            raise conflict(f"device {address} is already registered (or was removed)")
        self._insert(conn, address, identity, None)
        self._publish(conn, parse_device(address)[0])

    def _insert(
        self, conn: Connection, address: str, identity: IdentityPublic, linked_by: str | None
    ) -> None:
        user, device_id = parse_device(address)
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

    def listing(self, conn: Connection, user: str) -> dict:
        """The active devices of ``user`` and their identities
        (``GET /v1/users/<user>/devices``)."""
        try:
            check_user(user)
        except AddressError as exc:
            raise bad_request(str(exc)) from exc
        devices = self._active_devices(conn, user)
        if not devices:
            raise not_found(f"unknown user {user}")
        return {"user": user, "devices": [
            {"address": a, "identity": i.encode().hex()} for a, i in devices]}

    def remove(self, conn: Connection, caller: str, address: str) -> dict:
        """Remove ``address`` with its prekeys and queue; only a device of the same user may
        do it. Removing a removed device again (a retried request) answers the same and
        changes nothing."""
        if parse_device(address)[0] != parse_device(caller)[0]:
            raise forbidden("a device may only remove devices of its own user")
        if self.identity(conn, address) is None:
            if conn.execute(select(schema.devices.c.address)
                            .where(schema.devices.c.address == address)).first() is not None:
                return {"removed": address}
            raise not_found(f"unknown device {address}")
        conn.execute(update(schema.devices).where(schema.devices.c.address == address)
                     .values(removed_at=self.clock.now()))
        for table in (schema.one_time_prekeys, schema.kem_prekeys, schema.signed_prekeys):
            conn.execute(delete(table).where(table.c.address == address))
        conn.execute(delete(schema.queue).where(schema.queue.c.recipient == address))
        self._publish(conn, parse_device(address)[0])
        return {"removed": address}

    def _publish(self, conn: Connection, user: str) -> None:
        """Hand ``user``'s new list to the publisher; if it raises, the change rolls back."""
        self.publisher.publish_devices(user, dict(self._active_devices(conn, user)),
                                       self.clock.now())
