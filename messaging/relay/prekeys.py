"""The relay's prekeys (docs/relay.md, "Endpoints": ``/v1/keys``; PQXDH section 3.2).

A device publishes a ``PrekeyUpload``; every bundle fetch removes one one-time
X25519 prekey and one one-time ML-KEM prekey with a conditional ``DELETE``
whose row count decides who got it, so no key is handed out twice even by
concurrent relays on one database. An upload equal to the last one accepted
from the device is a retry and stores nothing (docs/relay.md, "Retries").

Every method taking a ``conn`` runs inside the request's transaction
(:meth:`messaging.relay.service.RelayService.transaction`); a refusal rolls it back.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from messaging.clock import Clock
from messaging.prekey_records import OneTimePrekey, PrekeyUpload, SignedPrekey
from messaging.relay import schema
from messaging.relay.devices import Devices, parse_device
from messaging.relay.errors import conflict, forbidden, not_found, too_large, too_many
from messaging.relay.limits import RelayLimits


class Prekeys:
    """Prekey uploads, counts and bundle fetches (with the fetch-rate limit)."""

    def __init__(self, clock: Clock, limits: RelayLimits, devices: Devices) -> None:
        self.clock = clock
        self.limits = limits
        self.devices = devices

    def upload(self, conn: Connection, caller: str, upload: PrekeyUpload) -> dict:
        """Publish (or replenish) the caller's prekeys; signed parts replace the old ones.

        An upload equal to the last one accepted from this device (a retry whose
        answer was lost) changes nothing and answers the current counts: its
        one-time prekeys are not stored again, even those handed out since.
        """
        if upload.identity.encode() != self.devices.identity(conn, caller).encode():
            raise forbidden("a device may only publish prekeys for its own identity")
        digest = hashlib.sha256(
            json.dumps(upload.to_json(), sort_keys=True, separators=(",", ":")).encode()).digest()
        last = conn.execute(select(schema.signed_prekeys.c.upload_digest)
                            .where(schema.signed_prekeys.c.address == caller)).first()
        if last is not None and bytes(last.upload_digest) == digest:
            return self.counts(conn, caller)
        counts = self.counts(conn, caller)
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
        return self.counts(conn, caller)

    def counts(self, conn: Connection, address: str) -> dict:
        """How many one-time prekeys of each kind the relay holds for ``address``."""
        def count(table) -> int:
            return conn.execute(select(func.count()).select_from(table)
                                .where(table.c.address == address)).scalar_one()
        return {"one_time": count(schema.one_time_prekeys),
                "kem_one_time": count(schema.kem_prekeys)}

    def fetch_bundle(self, conn: Connection, caller: str, address: str) -> dict:
        """One ``PrekeyBundle`` for ``address``, taking at most one of each one-time prekey."""
        parse_device(address)
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
        if self.devices.identity(conn, address) is None:
            raise not_found(f"unknown device {address}")
        row = conn.execute(select(schema.signed_prekeys.c.upload)
                           .where(schema.signed_prekeys.c.address == address)).first()
        if row is None:
            raise not_found(f"device {address} has not published prekeys")
        stored = PrekeyUpload.from_json(json.loads(row.upload))
        one_time = _take(conn, schema.one_time_prekeys, address)
        kem = _take(conn, schema.kem_prekeys, address)
        conn.execute(insert(schema.bundle_fetches).values(requester=caller, fetched_at=now))
        bundle = stored.bundle(
            OneTimePrekey(one_time.key_id, one_time.public_key) if one_time else None,
            SignedPrekey(kem.key_id, kem.public_key, kem.signature) if kem else None,
        )
        return bundle.to_json()

    def purge(self, conn: Connection, now: float) -> None:
        """Forget bundle fetches outside the rate window."""
        conn.execute(delete(schema.bundle_fetches).where(
            schema.bundle_fetches.c.fetched_at < now - self.limits.bundle_fetch_window))


def _take(conn: Connection, table, address: str):
    """Claim the oldest one-time prekey of ``address``: the DELETE's row count decides."""
    while True:
        row = conn.execute(select(table).where(table.c.address == address)
                           .order_by(table.c.id).limit(1)).first()
        if row is None:
            return None
        if conn.execute(delete(table).where(table.c.id == row.id)).rowcount == 1:
            return row
