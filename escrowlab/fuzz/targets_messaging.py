"""Fuzz targets of :mod:`messaging`: wire envelopes, live sessions, PQXDH bundles, uploads
and prekey state, session state, trust records, the encrypted store's rows and key
derivation parameters, and message content received by a live device.

Refusals are :class:`messaging.errors.MessagingError` (and its subclasses) everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
import struct
from pathlib import Path

import strictjson
from escrowlab.fuzz.core import REFUSED, HarnessFailure, Target
from escrowlab.fuzz.mutate import Mutator, json_sweep
from escrowlab.fuzz.seeds import ModeWorld, World
from messaging.clock import ManualClock
from messaging.errors import HandshakeError, MessagingError, StateError
from messaging.prekey_records import PrekeyBundle, PrekeyUpload
from messaging.prekey_state import DevicePrekeys
from messaging.session import Session
from messaging.trust import TrustRecord
from messaging.wire import parse_envelope

REFUSE = (MessagingError,)
STORE_PASSPHRASE = "fuzz store passphrase"  # noqa: S105 (a throwaway test store)
MAX_KDF_TIME, MAX_KDF_MEMORY_KIB, MAX_KDF_PARALLELISM = 2, 64 * 1024, 4


def load_object(data: bytes, what: str, error: type[Exception]):
    """The object a ``from_json`` receives: whatever Python's own ``json`` makes of the input
    (lone surrogates, NaN, duplicate names, floats for integers...), since ``from_json``
    must validate what any caller hands it; an input ``json`` cannot read goes through
    :func:`strictjson.loads`, the project's loader, which must refuse it with ``error``."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return strictjson.loads(data, what=what, error=error)


def json_seeds(values: list) -> list[bytes]:
    return [json.dumps(v, sort_keys=True).encode() for v in values]


def json_mutator(seeds: list[bytes], must_refuse: dict[bytes, str] | None = None):
    """Half the inputs from the deterministic sweep of every node of every seed
    (:func:`json_sweep`, which notes in ``must_refuse`` the inputs no strict parser may
    accept) until it is done; the others structure-aware mutation of a decoded seed
    (mostly) or byte havoc on its text."""
    objects = [json.loads(s) for s in seeds]
    must_refuse = {} if must_refuse is None else must_refuse
    sweep = json_sweep(objects, must_refuse)

    def mutate(m: Mutator) -> bytes:
        if m.rng.random() < 0.5:
            item = next(sweep, None)
            if item is not None:
                return item
        i = m.rng.randrange(len(seeds))
        if m.rng.random() < 0.8:
            return m.json_bytes(objects[i], seeds)
        return m.havoc(seeds[i], seeds)

    mutate.must_refuse = must_refuse  # the Target picks it up
    return mutate


def bytes_mutator(seeds: list[bytes], structured=None):
    def mutate(m: Mutator) -> bytes:
        seed = m.rng.choice(seeds)
        if structured is not None and m.rng.random() < 0.5:
            data = structured(m, seed)
            if data is not None:
                return data
        return m.havoc(seed, seeds)

    return mutate


def mutate_envelope_fields(m: Mutator, seed: bytes, records: list[bytes] = ()) -> bytes | None:
    """Re-encode the seed envelope with one field changed (ids, header numbers, mode,
    record, ratchet key, ciphertext, prekey block, safety voucher), so the mutant gets past
    the framing."""
    try:
        env = parse_envelope(seed)
    except MessagingError:
        return None
    rng = m.rng
    header = env.header
    op = rng.randrange(12)
    big = rng.choice((0, 1, 2**31, 2**32 - 1, header.chain_number + 1, header.message_number + 1,
                      header.message_number + 1000, 5000))
    try:
        if op == 0:
            env = dataclasses.replace(env, conversation_id=rng.choice(
                ("dm:alice:mallory", "dm:bob:alice", env.conversation_id + "x", "group:00", "é")))
        elif op == 1:
            env = dataclasses.replace(env, sender=rng.choice(("mallory:1", "alice:2", "bob:9")))
        elif op == 2:
            env = dataclasses.replace(env, recipient=rng.choice(("alice:9", "bob:1", "x")))
        elif op == 3:
            env = dataclasses.replace(env, header=dataclasses.replace(header, chain_number=big))
        elif op == 4:
            env = dataclasses.replace(env, header=dataclasses.replace(header, message_number=big))
        elif op == 5:
            env = dataclasses.replace(env, header=dataclasses.replace(
                header, previous_chain_length=big))
        elif op == 6:
            env = dataclasses.replace(env, header=dataclasses.replace(header, mode=rng.choice(
                ("none", "threshold", "leaf16", "crumple", "ghost", "x" * 32))))
        elif op == 7:
            record = rng.choice([*records, b"", header.record]) if records else b""
            record = m.havoc(record, list(records)) if rng.random() < 0.5 else record
            env = dataclasses.replace(env, header=dataclasses.replace(
                header, record=record[:16384]))
        elif op == 8:
            env = dataclasses.replace(env, header=dataclasses.replace(
                header, ratchet_key=rng.randbytes(32), chain_time=rng.choice((0, 2**64 - 1))))
        elif op == 9 and env.prekey is not None:
            block = env.prekey
            choice = rng.randrange(3)
            if choice == 0:
                env = dataclasses.replace(env, prekey=None)  # stripped
            elif choice == 1:
                env = dataclasses.replace(env, prekey=dataclasses.replace(
                    block, one_time_prekey_id=None if block.one_time_prekey_id else 1))
            else:
                env = dataclasses.replace(env, prekey=dataclasses.replace(
                    block, ephemeral_key=rng.randbytes(32)))
        elif op == 10:
            if env.voucher is not None and rng.random() < 0.5:  # stripped
                env = dataclasses.replace(env, version=1, voucher=None)
            else:  # swapped, or added to an envelope without one
                voucher = m.havoc(env.voucher or b"voucher")[:16384] or b"v"
                env = dataclasses.replace(env, version=2, voucher=voucher)
        else:
            ct = bytearray(env.ciphertext)
            ct[rng.randrange(len(ct))] ^= 1 << rng.randrange(8)
            env = dataclasses.replace(env, ciphertext=bytes(ct))
        return env.encode()
    except (MessagingError, ValueError, struct.error, UnicodeError):
        return None


def envelope_target(world: World) -> Target:
    seeds = [e.envelope for mw in world.modes.values() for e in mw.entries]
    seeds += [p for mw in world.modes.values() for p in mw.pair.pending]
    records = [e.record for mw in world.modes.values() for e in mw.entries if e.record]
    return Target(
        "messaging.envelope", "messaging.wire.parse_envelope on archived envelopes of every mode",
        REFUSE, seeds, parse_envelope,
        bytes_mutator(seeds, lambda m, s: mutate_envelope_fields(m, s, records)), weight=3)


class _LiveSession:
    """Bob's session of one mode, restored to its base state after an accepted input."""

    def __init__(self, mw: ModeWorld) -> None:
        self.pair = mw.pair
        self.genuine = set(mw.pair.pending)
        self.session = self._fresh()

    def _fresh(self) -> Session:
        return Session.deserialize(self.pair.bob_state, self.pair.bob_hook, self.pair.clock)

    def decrypt(self, data: bytes) -> None:
        self.session.decrypt(data)
        if data not in self.genuine:
            # every byte of an envelope is authenticated or checked (docs/architecture.md, "Bind the
            # whole context"): an altered envelope that decrypts is a binding failure
            raise HarnessFailure("an envelope that differs from every one Alice sent decrypted",
                                 "altered envelope accepted")

    def snapshot(self) -> bytes:
        return self.session.serialize()

    def reset(self) -> None:
        if self.session.serialize() != self.pair.bob_state:
            self.session = self._fresh()


def session_target(mw: ModeWorld) -> Target:
    live = _LiveSession(mw)
    seeds = list(mw.pair.pending)
    records = [r for _, r in mw.pair.contexts if r] + [e.record for e in mw.entries if e.record]
    return Target(
        f"messaging.session.{mw.mode}",
        f"live Session.decrypt ({mw.mode} hook) on mutated undelivered envelopes; the "
        "serialised session must be byte-identical after a refusal, and an altered envelope "
        "that decrypts is a crash (binding failure)",
        REFUSE, seeds, live.decrypt,
        bytes_mutator(seeds, lambda m, s: mutate_envelope_fields(m, s, records)),
        weight=2, snapshot=live.snapshot, reset=live.reset)


class _Responder:
    """Bob's prekeys answering a (mutated) first message; unchanged after a refusal."""

    def __init__(self, mw: ModeWorld) -> None:
        self.pair = mw.pair
        self.prekeys = DevicePrekeys.deserialize(self.pair.bob_prekeys_state)

    def respond(self, data: bytes) -> None:
        Session.respond(self.pair.bob_identity, self.prekeys, "bob:9", data, self.pair.bob_hook,
                        self.pair.clock)
        if data != self.pair.first_message:
            raise HarnessFailure("a first message that differs from Alice's was answered",
                                 "altered first message accepted")

    def snapshot(self) -> bytes:
        return self.prekeys.serialize()

    def reset(self) -> None:
        self.prekeys = DevicePrekeys.deserialize(self.pair.bob_prekeys_state)


def respond_target(mw: ModeWorld) -> Target:
    responder = _Responder(mw)
    seeds = [mw.pair.first_message]
    records = [r for _, r in mw.pair.contexts if r]
    return Target(
        f"messaging.respond.{mw.mode}",
        f"Session.respond ({mw.mode} hook, PQXDH responder) on a mutated first message; the "
        "serialised prekeys must be unchanged after a refusal, and an altered first message "
        "that is answered is a crash (binding failure)",
        REFUSE, seeds, responder.respond,
        bytes_mutator(seeds, lambda m, s: mutate_envelope_fields(m, s, records)),
        weight=0.5, snapshot=responder.snapshot, reset=responder.reset)


def _devices(world: World):
    return [d for mw in world.modes.values() for d in mw.devices.values()]


def bundle_target(world: World) -> Target:
    bundles = []
    for device in _devices(world)[:4]:
        upload = device._prekeys.upload()
        bundles.append(upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0]).to_json())
        bundles.append(upload.bundle(None, None).to_json())
    seeds = json_seeds(bundles)

    def run(data: bytes) -> None:
        PrekeyBundle.from_json(load_object(data, "prekey bundle", HandshakeError))

    return Target("messaging.bundle", "PrekeyBundle.from_json (a relay's answer to a bundle "
                  "fetch) on any JSON value", REFUSE, seeds, run, json_mutator(seeds),
                  weight=1)


def upload_target(world: World) -> Target:
    uploads = [d._prekeys.upload().to_json() for d in _devices(world)[:3]]
    for upload in uploads:  # keep the documents small: a few one-time keys each
        upload["one_time_prekeys"] = upload["one_time_prekeys"][:3]
        upload["kem_prekeys"] = upload["kem_prekeys"][:2]
    seeds = json_seeds(uploads)

    def run(data: bytes) -> None:
        PrekeyUpload.from_json(load_object(data, "prekey upload", HandshakeError))

    return Target("messaging.upload", "PrekeyUpload.from_json (what a device publishes) on "
                  "any JSON value", REFUSE, seeds, run, json_mutator(seeds), weight=1)


def prekey_state_target(world: World) -> Target:
    seeds = [d.store.load_prekeys() for d in _devices(world)[:3]]
    seeds = [s for s in seeds if s]
    return Target("messaging.prekey_state", "DevicePrekeys.deserialize (a device's stored "
                  "prekeys)", REFUSE, seeds, DevicePrekeys.deserialize, json_mutator(seeds),
                  weight=1)


def session_state_target(world: World) -> Target:
    seeds: list[bytes] = []
    hooks = []
    for mw in world.modes.values():
        for device in list(mw.devices.values())[:2]:
            for key in device.store.list_sessions()[:2]:
                seeds.append(device.store.load_session(*key))
                hooks.append(device.hook)
        seeds.append(mw.pair.bob_state)
        hooks.append(mw.pair.bob_hook)
    by_mode = {h.mode: h for h in hooks}
    clock = ManualClock()

    def run(data: bytes) -> None:
        # the state names its mode; open it under that mode's hook when it is one we know
        try:
            mode = json.loads(data).get("mode")
        except (ValueError, AttributeError, RecursionError, TypeError):
            mode = None
        hook = by_mode.get(mode) if isinstance(mode, str) else None
        Session.deserialize(data, hook or hooks[0], clock)

    return Target("messaging.session_state", "Session.deserialize (stored ratchet state of "
                  "every mode)", REFUSE, seeds, run, json_mutator(seeds), weight=2)


def trust_target(world: World) -> Target:
    seeds = []
    for device in _devices(world)[:4]:
        for peer in device.store.list_peer_identities()[:2]:
            seeds.append(device.store.load_peer_identity(peer))
    return Target("messaging.trust_record", "TrustRecord.decode (stored peer identities)",
                  REFUSE, seeds, TrustRecord.decode, json_mutator(seeds), weight=1)


class _StoreRows:
    """An encrypted SQLite device store; each input replaces one row's sealed value (or
    row id) through a second connection, then the store reads every record."""

    def __init__(self, world: World) -> None:
        from messaging.sqlite_store import Argon2Params, SqliteDeviceStore
        self.path = Path(world.tmp.name) / "device-store.db"
        self.store = SqliteDeviceStore.create(self.path, STORE_PASSPHRASE,
                                              Argon2Params(1, 8, 1))
        device = _devices(world)[0]
        for key in device.store.list_sessions()[:3]:
            self.store.store_session(*key, device.store.load_session(*key))
        for peer in device.store.list_peer_identities()[:2]:
            self.store.store_peer_identity(peer, device.store.load_peer_identity(peer))
        self.store.store_local_identity(device.store.load_local_identity())
        self.store.store_prekeys(device.store.load_prekeys())
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.rows = self.db.execute(
            "SELECT rowid, kind, row_id, value FROM records ORDER BY rowid").fetchall()
        self.seeds = [bytes((i,)) + bytes(value) for i, (_, _, _, value) in enumerate(self.rows)]

    def run(self, data: bytes) -> None:
        if not data:
            raise StateError("empty input")
        rowid, kind, row_id, value = self.rows[data[0] % len(self.rows)]
        try:
            self.db.execute("UPDATE records SET value=? WHERE rowid=?", (data[1:], rowid))
            store = self.store
            for key in store.list_sessions():
                store.load_session(*key)
            for peer in store.list_peer_identities():
                store.load_peer_identity(peer)
            store.load_local_identity()
            store.load_prekeys()
        finally:
            self.db.execute("UPDATE records SET value=? WHERE rowid=?", (value, rowid))


def store_rows_target(world: World) -> Target:
    rows = _StoreRows(world)
    return Target("messaging.store_rows", "SqliteDeviceStore reads with one sealed row "
                  "replaced (AES-GCM rows, HMAC row ids)", REFUSE, rows.seeds, rows.run,
                  bytes_mutator(rows.seeds), weight=0.5,
                  close=lambda: (rows.db.close(), rows.store.close()))


class _StoreMeta:
    """Opening a store copy whose ``meta`` key derivation text is the input."""

    def __init__(self, world: World) -> None:
        from messaging.sqlite_store import Argon2Params, SqliteDeviceStore
        tmp = Path(world.tmp.name)
        self.base = tmp / "meta-base.db"
        self.copy = tmp / "meta-copy.db"
        SqliteDeviceStore.create(self.base, STORE_PASSPHRASE, Argon2Params(1, 8, 1)).close()
        db = sqlite3.connect(self.base)
        self.seed = db.execute("SELECT value FROM meta WHERE name='kdf'").fetchone()[0]
        db.close()

    def run(self, data: bytes) -> None:
        from messaging.sqlite_store import SqliteDeviceStore
        shutil.copyfile(self.base, self.copy)
        db = sqlite3.connect(self.copy, isolation_level=None)
        try:
            text = data.decode("utf-8", "surrogatepass")
            db.execute("UPDATE meta SET value=? WHERE name='kdf'", (text,))
        except (UnicodeDecodeError, sqlite3.Error):
            db.execute("UPDATE meta SET value=? WHERE name='kdf'", (data,))
        db.close()
        SqliteDeviceStore.open(self.copy, STORE_PASSPHRASE).close()

    def mutate(self, m: Mutator) -> bytes:
        seeds = [self.seed.encode()]
        for _ in range(20):  # costs above these would make one open take seconds
            data = json_mutator(seeds)(m)
            if cheap_kdf(data, ("time_cost",), ("memory_cost_kib",), ("parallelism",)):
                return data
        return seeds[0]


def cheap_kdf(data: bytes, time_path, memory_path, parallel_path) -> bool:
    """False when ``data``, read leniently, asks Argon2id for more than the fuzzer affords."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return True
    limits = ((time_path, MAX_KDF_TIME), (memory_path, MAX_KDF_MEMORY_KIB),
              (parallel_path, MAX_KDF_PARALLELISM))
    for path, limit in limits:
        value = doc
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value > limit:
            return False
    return True


def store_meta_target(world: World) -> Target:
    meta = _StoreMeta(world)
    return Target("messaging.store_meta", "SqliteDeviceStore.open with mutated key-derivation "
                  "parameters in meta (inputs asking Argon2id for more than 64 MiB or t>2 are "
                  "not generated)", (MessagingError, ValueError), [meta.seed.encode()], meta.run,
                  meta.mutate, weight=0.1)


class _Contact:
    """Alice's device sends the input as a message's plaintext to Bob's device, which
    receives it with ``receive_all``: refused content must surface as a ReceiveFailed
    event, never as an exception."""

    def __init__(self) -> None:
        from messaging.client import Device
        from messaging.content import encode_content
        from messaging.relay import RelayService
        from messaging.relay.inprocess import InProcessTransport
        self.clock = ManualClock(1_767_261_600.0)
        self.relay = RelayService("sqlite://", clock=self.clock)
        transport = InProcessTransport(self.relay)
        self.alice = Device.create("alice", 1, transport, clock=self.clock)
        self.bob = Device.create("bob", 1, transport, clock=self.clock)
        self.captured: list[tuple[str, tuple[str, ...], bytes]] = []
        original = self.alice.send_content

        def capture(conversation_id, users, plaintext):
            self.captured.append((conversation_id, tuple(users), plaintext))
            return original(conversation_id, users, plaintext)

        self.alice.send_content = capture
        self.alice.send_text("bob", "hello Bob")
        group = self.alice.groups.create("fuzz club", ["bob"])
        self.alice.groups.send(group.group_id, "hello group")
        self.alice.send_content = original
        self.bob.receive_all()
        self.conversations = [(c, u) for c, u, _ in self.captured]
        self.seeds = [bytes((i,)) + p for i, (_, _, p) in enumerate(self.captured)]
        self.seeds.append(b"\x00" + encode_content("text", "x", 1.5, to="bob"))

    def run(self, data: bytes):
        from messaging.events import ReceiveFailed
        if not data:
            data = b"\x00"
        conversation, users = self.conversations[data[0] % len(self.conversations)]
        self.clock.advance(1)
        self.alice.send_content(conversation, users, data[1:])
        self.bob.drain_events()
        messages = self.bob.receive_all()
        failed = [e for e in self.bob.drain_events() if isinstance(e, ReceiveFailed)]
        if failed and not messages:
            return REFUSED
        return None

    def snapshot(self) -> list:
        """Bob's groups: a refused group update must not change them."""
        return [g.to_json() for g in self.bob.groups.all()]


def content_target(world: World) -> Target:
    contact = _Contact()
    return Target("messaging.content", "message content: a contact's device sends the input as "
                  "plaintext, Device.receive_all must report a refusal as an event and leave "
                  "the recipient's groups unchanged", REFUSE, contact.seeds, contact.run,
                  json_content_mutator(contact.seeds), weight=1, snapshot=contact.snapshot)


def json_content_mutator(seeds: list[bytes]):
    objects = [(s[:1], json.loads(s[1:])) for s in seeds]
    sweeps = [(prefix, json_sweep([obj])) for prefix, obj in objects]

    def mutate(m: Mutator) -> bytes:
        if m.rng.random() < 0.5:
            prefix, sweep = sweeps[m.rng.randrange(len(sweeps))]
            item = next(sweep, None)
            if item is not None:
                return prefix + item
        prefix, obj = m.rng.choice(objects)
        if m.rng.random() < 0.85:
            return prefix + m.json_bytes(obj)
        return prefix + m.havoc(json.dumps(obj).encode())

    return mutate


def content_decode_target(world: World) -> Target:
    from messaging.content import decode_content
    contact_seeds = [json.dumps({"v": 1, "kind": "text", "body": "hi", "to": "bob",
                                 "group": None, "sent_at": 1767261600.5}).encode(),
                     json.dumps({"v": 1, "kind": "group-update", "body": "", "to": None,
                                 "group": {"id": "0123456789abcdef", "name": "g",
                                           "members": ["alice", "bob"], "revision": 1},
                                 "sent_at": 1767261600}).encode()]
    return Target("messaging.content_decode", "messaging.content.decode_content",
                  REFUSE, contact_seeds, decode_content, json_mutator(contact_seeds), weight=1)


def targets(world: World) -> dict:
    """Every messaging target by name, each built only when it is run."""
    made = {
        "messaging.envelope": lambda: envelope_target(world),
        "messaging.bundle": lambda: bundle_target(world),
        "messaging.upload": lambda: upload_target(world),
        "messaging.prekey_state": lambda: prekey_state_target(world),
        "messaging.session_state": lambda: session_state_target(world),
        "messaging.trust_record": lambda: trust_target(world),
        "messaging.store_rows": lambda: store_rows_target(world),
        "messaging.store_meta": lambda: store_meta_target(world),
        "messaging.content": lambda: content_target(world),
        "messaging.content_decode": lambda: content_decode_target(world),
    }
    for mode, mw in world.modes.items():
        made[f"messaging.session.{mode}"] = lambda mw=mw: session_target(mw)
        made[f"messaging.respond.{mode}"] = lambda mw=mw: respond_target(mw)
    return made
