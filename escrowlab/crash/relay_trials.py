"""Crash trial of the relay (kind ``relay``): traffic over HTTP while the relay is SIGKILLed.

``escrowlab relay serve`` runs on 127.0.0.1 with a SQLite file, or (``db_url``) with
a PostgreSQL database served by several relay processes at once (docs/relay.md,
"Several relay processes"): the senders then talk to the first process and the
receivers to the last, so every delivery crosses processes. Real clients
(:class:`messaging.client.Device` over :class:`messaging.transport.HttpTransport`,
which retries a lost connection with a fresh signature) run in threads:

- two senders (``alice`` to ``bob``, ``carol`` to both devices of ``dave``);
- three receivers draining their queues and acknowledging each batch;
- a prekey fetcher taking bundles of a device with many one-time prekeys;
- a registrar creating new users one after the other.

A relay process (any of them) is SIGKILLed once or twice at random instants and
restarted on the same database and port. Then the senders stop, the receivers drain, the relay is
killed a last time and its database is checked. Counted:

- acknowledged: each accepted send times its recipient devices, each bundle
  handed out, each completed :meth:`Device.create`;
- lost: an accepted message a recipient device never delivered to the
  application, a completed registration missing from the database;
- duplicated: a message delivered twice to the application by one device, a
  one-time prekey (X25519 or ML-KEM) handed out twice, or handed out and still
  in the database;
- corrupt: SQLite ``integrity_check`` / ``foreign_key_check`` failures, queue
  entries pointing nowhere (either database);
- errors: a client that failed for good (e.g. :meth:`Device.create` refused
  after a lost answer) or any unexpected exception.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from escrowlab.crash.outcome import Outcome
from escrowlab.crash.processes import Child, ChildFailed, sqlite_check, start_relay
from messaging.client import Device
from messaging.errors import MessagingError
from messaging.relay_protocol import RelayError
from messaging.transport import HttpTransport, RelayUnavailableError

RETRY_FOR = 30.0  # clients ride out a restart (RelayClient.call retries a lost connection)
DRAIN_TIMEOUT = 30.0
TARGET_PREKEYS = 60


class _Worker:
    """A client thread: ``step()`` until told to stop; exceptions are recorded, not raised."""

    def __init__(self, name: str, step, pause: float) -> None:
        self.name = name
        self.step = step
        self.pause = pause
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.step()
            except RelayUnavailableError:
                pass  # unreachable for RETRY_FOR seconds: try again
            except Exception as exc:
                self.errors.append(f"{self.name}: {type(exc).__name__}: {exc}")
                return
            self.stop.wait(self.pause)


class _Traffic:
    """The clients of one trial and what the relay acknowledged to them."""

    def __init__(self, send_url: str, receive_url: str, tag: str) -> None:
        self.url = send_url
        self.tag = tag

        def device(user: str, device_id: int = 1, url: str = send_url, **kwargs) -> Device:
            return Device.create(user, device_id, HttpTransport(url), retry_for=RETRY_FOR,
                                 **kwargs)

        self.alice, self.carol = device("alice"), device("carol")
        self.bob = device("bob", url=receive_url)
        self.dave1 = device("dave", url=receive_url)
        self.dave2 = self.dave1.link_device(2, HttpTransport(receive_url), retry_for=RETRY_FOR)
        self.keys = device("keys", one_time_prekeys=TARGET_PREKEYS,
                           kem_prekeys=TARGET_PREKEYS // 2)
        self.fetcher = device("fetch")
        self.sent: dict[str, list[str]] = {"bob:1": [], "dave:1": [], "dave:2": []}
        self.delivered: dict[str, Counter[str]] = {a: Counter() for a in self.sent}
        self.bundles: list[tuple[int | None, int | None]] = []
        self.registered: list[Device] = []
        self._numbers = {"alice": itertools.count(1), "carol": itertools.count(1)}
        self._registrar_users = 0
        self.receivers = {"bob:1": self.bob, "dave:1": self.dave1, "dave:2": self.dave2}
        self.senders = [_Worker("alice", lambda: self._send(self.alice, "bob"), 0.01),
                        _Worker("carol", lambda: self._send(self.carol, "dave"), 0.01),
                        _Worker("fetcher", self._fetch, 0.05),
                        _Worker("registrar", self._register, 0.05)]
        self.readers = [_Worker(f"receiver {a}", lambda d=d, a=a: self._receive(a, d), 0.02)
                        for a, d in self.receivers.items()]

    def _send(self, device: Device, user: str) -> None:
        body = f"{self.tag}:{device.user}:{next(self._numbers[device.user])}"
        device.flush()  # anything left in the outbox by an earlier failure goes first
        device.send_text(user, body)
        for address in self.sent:
            if address.startswith(user + ":"):
                self.sent[address].append(body)

    def _receive(self, address: str, device: Device) -> None:
        for message in device.receive_all():
            self.delivered[address][message.body] += 1

    def _fetch(self) -> None:
        try:
            bundle = self.fetcher.relay.fetch_bundle(self.keys.address)
        except RelayError as exc:
            if exc.status == 429:  # the fetch-rate limit: expected, not an error
                return
            raise
        # Once the one-time ML-KEM prekeys are gone, every bundle carries the last-resort
        # one (PQXDH section 3.2): handed out again by design, so not counted.
        self.bundles.append((bundle.one_time_prekey.key_id if bundle.one_time_prekey else None,
                             None if bundle.kem_last_resort else bundle.kem_prekey.key_id))

    def _register(self) -> None:
        self._registrar_users += 1
        user = f"new{self._registrar_users}"
        device = Device.create(user, 1, HttpTransport(self.url), retry_for=RETRY_FOR,
                               one_time_prekeys=2, kem_prekeys=1)
        self.registered.append(device)

    def start(self) -> None:
        for worker in self.senders + self.readers:
            worker.thread.start()

    def stop_senders(self) -> None:
        for worker in self.senders:
            worker.stop.set()
        for worker in self.senders:
            worker.thread.join(timeout=2 * RETRY_FOR)

    def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(
                set(bodies) - set(self.delivered[a]) for a, bodies in self.sent.items()):
            if not any(w.thread.is_alive() for w in self.readers):
                break
            time.sleep(0.05)
        time.sleep(0.2)  # a late duplicate delivery would show up now
        for worker in self.readers:
            worker.stop.set()
        for worker in self.readers:
            worker.thread.join(timeout=2 * RETRY_FOR)

    def errors(self) -> list[str]:
        return [e for w in self.senders + self.readers for e in w.errors]


def _check_database(db_url: str, traffic: _Traffic, outcome: Outcome) -> None:
    """What the relay's database holds after the trial (SQLite: its own checks first)."""
    if db_url.startswith("sqlite:///"):
        problems = sqlite_check(db_url.removeprefix("sqlite:///"))
        if problems:
            outcome.problem("corrupt", f"relay database: {'; '.join(problems[:3])}")
            return
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as db:
            _check_tables(db, traffic, outcome)
    except SQLAlchemyError as exc:
        outcome.problem("corrupt", f"relay database unreadable: {exc}")
    finally:
        engine.dispose()


def _check_tables(db, traffic: _Traffic, outcome: Outcome) -> None:
    def rows(query: str, **params):
        return db.execute(text(query), params).fetchall()

    dangling = rows("SELECT count(*) FROM queue WHERE archive_id NOT IN "
                    "(SELECT id FROM archive)")[0][0]
    if dangling:
        outcome.problem("corrupt", f"{dangling} queue entries point at no archived envelope")
    for table, position in (("one_time_prekeys", 0), ("kem_prekeys", 1)):
        still = {row[0] for row in rows(f"SELECT key_id FROM {table} WHERE address=:a",
                                        a=traffic.keys.address)}
        again = sorted({b[position] for b in traffic.bundles} & still)
        outcome.problem("duplicated", f"{table} {again[:5]} handed out and still on the "
                                      "relay (it would hand them out again)", len(again))
    for device in traffic.registered:
        found = rows("SELECT identity, removed_at FROM devices WHERE address=:a",
                     a=device.address)
        keys = rows("SELECT count(*) FROM signed_prekeys WHERE address=:a",
                    a=device.address)[0][0]
        if not found or bytes(found[0][0]) != device.identity.public.encode() \
                or found[0][1] is not None or not keys:
            outcome.problem("lost", f"registration of {device.address} is not in the "
                                    "relay's database")


def relay_trial(rng: random.Random, work: Path, index: int = 0, *,
                db_url: str | None = None, processes: int = 1) -> Outcome:
    """One trial (module docstring): ``processes`` relays on ``db_url`` (default: a new
    SQLite file in ``work``, which only one process serves)."""
    outcome = Outcome()
    db_url = db_url or f"sqlite:///{work / 'relay.sqlite'}"
    if processes > 1 and db_url.startswith("sqlite"):
        raise ValueError("several relay processes serve a PostgreSQL database, not SQLite")
    started = [start_relay(db_url) for _ in range(processes)]
    live: list[Child] = [child for child, _ in started]
    urls = [url for _, url in started]
    every: list[Child] = list(live)
    traffic = None
    try:
        traffic = _Traffic(urls[0], urls[-1], f"t{rng.getrandbits(32):08x}")
        traffic.start()
        for _ in range(rng.choice((1, 1, 2))):
            time.sleep(rng.uniform(0.2, 0.8))
            victim = rng.randrange(processes)
            live[victim].kill()
            time.sleep(rng.uniform(0.0, 0.2))
            try:
                live[victim] = start_relay(db_url, int(urls[victim].rsplit(":", 1)[1]))[0]
                every.append(live[victim])
            except ChildFailed as exc:
                outcome.problem("failed_restarts", str(exc))
                break
        running = all(child.running() for child in live)
        if running:
            time.sleep(rng.uniform(0.2, 0.5))
        traffic.stop_senders()
        traffic.drain(DRAIN_TIMEOUT if running else 0.0)
    except (ChildFailed, MessagingError) as exc:
        outcome.problem("errors", f"trial set-up: {type(exc).__name__}: {exc}")
    finally:
        for child in every:
            child.kill()
    if traffic is None:
        return outcome
    for address, bodies in traffic.sent.items():
        outcome.acknowledged += len(bodies)
        got = traffic.delivered[address]
        missing = [b for b in bodies if b not in got]
        outcome.problem("lost", f"{address} never delivered {missing[:3]}", len(missing))
        twice = {b: c for b, c in got.items() if c > 1}
        outcome.problem("duplicated", f"{address} delivered {twice} more than once",
                        sum(c - 1 for c in twice.values()))
    outcome.acknowledged += len(traffic.bundles) + len(traffic.registered)
    for kind, ids in (("one-time", [b[0] for b in traffic.bundles]),
                      ("ML-KEM one-time", [b[1] for b in traffic.bundles])):
        counts = Counter(i for i in ids if i is not None)
        twice = {i: c for i, c in counts.items() if c > 1}
        outcome.problem("duplicated", f"{kind} prekeys handed out twice: {twice}",
                        sum(c - 1 for c in twice.values()))
    for error in traffic.errors():
        outcome.problem("errors", error)
    _check_database(db_url, traffic, outcome)
    return outcome
