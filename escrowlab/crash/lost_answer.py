"""Answer lost after commit, for every relay write endpoint (kind ``lost-answer``).

A relay that is killed, or a connection that drops, between the commit of a
request and the delivery of its answer leaves the client not knowing whether
the request happened. The real client then does what it always does:
:meth:`messaging.transport.RelayClient.call` resends with a fresh signature
when the connection failed, :class:`messaging.client.Device` keeps a failed
acknowledgement for its next receive and a failed send in its outbox. A relay
is correct only if that retry neither loses nor duplicates anything the relay
acknowledged (docs/architecture.md, "Conventions": acknowledged writes are durable).

:class:`DropAnswers` is a WSGI middleware in front of the relay's Flask app,
served by waitress on 127.0.0.1: for the one request it is told to drop, it
runs the relay to the end (the transaction commits), then sends a response
head that promises one byte more than it sends, so waitress closes the
connection and the client reads a truncated answer (``IncompleteRead``, the
same :class:`~messaging.transport.RelayUnavailableError` as a killed relay).

:data:`CASES` has one case per write endpoint: registration, device link,
first prekey upload (inside :meth:`Device.create`), prekey replenishment,
bundle fetch (it consumes one-time prekeys), send, acknowledgement, sync
(acknowledge and fetch) and device removal. Each checks that every
acknowledged message is delivered to the application exactly once and every
acknowledged registration is present and usable.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from escrowlab.crash.outcome import Outcome
from escrowlab.crash.processes import sqlite_check
from messaging.client import Device
from messaging.errors import MessagingError
from messaging.relay import RelayService
from messaging.relay.server import make_server
from messaging.transport import HttpTransport

RETRY_FOR = 5.0


@dataclass
class _Rule:
    method: str
    path: re.Pattern[str]
    after_commit: Callable[[], None] | None


class DropAnswers:
    """WSGI middleware: commit the selected request, then cut its answer off."""

    def __init__(self, app) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._rule: _Rule | None = None
        self.dropped: list[tuple[str, str, str]] = []
        """(method, path, status the relay answered) of each request whose answer was cut."""

    def drop_next(self, method: str, path: str,
                  after_commit: Callable[[], None] | None = None) -> None:
        """Cut the answer of the next ``method`` request whose path fully matches ``path``
        (a regular expression); ``after_commit`` runs between the commit and the cut."""
        with self._lock:
            self._rule = _Rule(method, re.compile(path), after_commit)

    def _take(self, method: str, path: str) -> _Rule | None:
        with self._lock:
            rule = self._rule
            if rule is None or rule.method != method or not rule.path.fullmatch(path):
                return None
            self._rule = None
            return rule

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        rule = self._take(method, path)
        if rule is None:
            return self.app(environ, start_response)
        status: list[str] = []

        def capture(line, headers, exc_info=None):
            status.append(line)
            return lambda data: None

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        self.dropped.append((method, path, status[0] if status else "?"))
        if rule.after_commit is not None:
            rule.after_commit()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body) + 1))])
        return [b""]


def _not_our_cut(record: logging.LogRecord) -> bool:
    """Hide waitress's warning about the short answers :class:`DropAnswers` sends on purpose."""
    return not record.getMessage().startswith("application returned too few bytes")


class LoopbackRelay:
    """A relay on a SQLite file, served by waitress on 127.0.0.1 behind :class:`DropAnswers`."""

    def __init__(self, work: Path) -> None:
        logging.getLogger("waitress").addFilter(_not_our_cut)
        self.path = work / "relay.sqlite"
        self.service = RelayService(f"sqlite:///{self.path}")
        self.server = make_server(self.service, host="127.0.0.1", port=0, threads=4)
        self.dropper = DropAnswers(self.server.application)
        self.server.application = self.dropper
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._thread = threading.Thread(target=self.server.run, name="relay", daemon=True)
        self._thread.start()

    def device(self, user: str, device_id: int = 1, **kwargs) -> Device:
        return Device.create(user, device_id, HttpTransport(self.url), retry_for=RETRY_FOR,
                             **kwargs)

    def close(self) -> None:
        server = self.server

        def shutdown() -> None:  # in the server's own loop thread
            for channel in list(server._map.values()):
                channel.close()

        # OSError: the loop ran the queued thunk before the wake-up byte was written (a
        # byte of an earlier wake-up was pending) and closed the trigger with the rest.
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger(shutdown)
        self._thread.join(timeout=5)
        server.task_dispatcher.shutdown()
        self.service.close()
        logging.getLogger("waitress").removeFilter(_not_our_cut)


def _deliver(outcome: Outcome, sender: Device, user: str, receivers: list[Device],
             bodies: list[str], already_sent: bool = False) -> None:
    """Send ``bodies`` (unless ``already_sent``); each receiver must deliver each once."""
    for body in bodies if not already_sent else ():
        sender.send_text(user, body)
    for receiver in receivers:
        outcome.acknowledged += len(bodies)
        got = [m.body for m in receiver.receive_all()]
        for body in bodies:
            count = got.count(body)
            if count == 0:
                outcome.problem("lost", f"{receiver.address} never got {body!r}")
            elif count > 1:
                outcome.problem("duplicated", f"{receiver.address} got {body!r} {count} times",
                                count - 1)


def _registered(outcome: Outcome, relay: LoopbackRelay, *devices: Device) -> None:
    db = sqlite3.connect(str(relay.path))
    try:
        for device in devices:
            outcome.acknowledged += 1
            row = db.execute("SELECT identity FROM devices WHERE address=? AND removed_at IS "
                             "NULL", (device.address,)).fetchone()
            if row is None or bytes(row[0]) != device.identity.public.encode():
                outcome.problem("lost", f"registration of {device.address} missing")
    finally:
        db.close()


def _bodies(rng: random.Random, tag: str) -> list[str]:
    return [f"{tag}-{i}" for i in range(rng.randint(1, 3))]


def case_register(relay: LoopbackRelay, rng: random.Random, outcome: Outcome) -> None:
    relay.dropper.drop_next("POST", "/v1/devices")
    alice = relay.device("alice")
    bob = relay.device("bob")
    _registered(outcome, relay, alice, bob)
    _deliver(outcome, bob, "alice", [alice], _bodies(rng, "to-alice"))
    _deliver(outcome, alice, "bob", [bob], _bodies(rng, "to-bob"))


def case_link_device(relay: LoopbackRelay, rng: random.Random, outcome: Outcome) -> None:
    alice1 = relay.device("alice")
    relay.dropper.drop_next("POST", "/v1/devices")
    alice2 = alice1.link_device(2, HttpTransport(relay.url), retry_for=RETRY_FOR)
    bob = relay.device("bob")
    _registered(outcome, relay, alice1, alice2)
    _deliver(outcome, bob, "alice", [alice1, alice2], _bodies(rng, "to-alice"))


def case_upload_prekeys(relay: LoopbackRelay, rng: random.Random, outcome: Outcome) -> None:
    bob = relay.device("bob")
    relay.dropper.drop_next("PUT", "/v1/keys")
    try:
        alice = relay.device("alice")
    except MessagingError as exc:
        outcome.problem("errors", f"Device.create failed for good after its prekey upload "
                                  f"committed and the answer was lost: {exc}")
        return
    _registered(outcome, relay, alice)
    _deliver(outcome, bob, "alice", [alice], _bodies(rng, "to-alice"))


def case_replenish_prekeys(relay: LoopbackRelay, rng: random.Random, outcome: Outcome) -> None:
    alice = relay.device("alice", one_time_prekeys=2, kem_prekeys=2)
    senders = [relay.device(user) for user in ("bob", "carol", "dave")]
    # bob's handshake leaves alice below her low-water mark: her receive replenishes.
    relay.dropper.drop_next("PUT", "/v1/keys")
    _deliver(outcome, senders[0], "alice", [alice], _bodies(rng, "bob"))
    if not relay.dropper.dropped:
        outcome.problem("errors", "alice did not replenish her prekeys (case did not run)")
    for sender in senders[1:]:  # their bundles carry the replenished one-time prekeys
        _deliver(outcome, sender, "alice", [alice], _bodies(rng, sender.user))


def case_fetch_bundle(relay: LoopbackRelay, rng: random.Random, outcome: Outcome) -> None:
    alice, bob = relay.device("alice"), relay.device("bob")
    relay.dropper.drop_next("GET", "/v1/keys/alice:1")
    _deliver(outcome, bob, "alice", [alice], _bodies(rng, "to-alice"))


def case_send(relay: LoopbackRelay, rng: random.Random, outcome: Outcome) -> None:
    alice, bob = relay.device("alice"), relay.device("bob")
    _deliver(outcome, alice, "bob", [bob], _bodies(rng, "before"))
    relay.dropper.drop_next("POST", "/v1/messages")
    _deliver(outcome, alice, "bob", [bob], _bodies(rng, "dropped"))


def case_ack(relay: LoopbackRelay, rng: random.Random, outcome: Outcome) -> None:
    alice, bob, carol = relay.device("alice"), relay.device("bob"), relay.device("carol")
    _deliver(outcome, carol, "bob", [bob], ["warm-up"])
    for body in _bodies(rng, "first"):
        alice.send_text("bob", body)
    late = _bodies(rng, "meanwhile")
    # Another message arrives between the acknowledgement's commit and its replay.
    relay.dropper.drop_next("POST", "/v1/messages/ack",
                            lambda: [carol.send_text("bob", body) for body in late])
    bob.receive_all()
    _deliver(outcome, carol, "bob", [bob], late, already_sent=True)


def case_sync(relay: LoopbackRelay, rng: random.Random, outcome: Outcome) -> None:
    alice, bob, carol = relay.device("alice"), relay.device("bob"), relay.device("carol")
    _deliver(outcome, carol, "bob", [bob], ["warm-up"])
    for body in _bodies(rng, "first"):
        alice.send_text("bob", body)
    bob.receive(defer_ack=True)  # its acknowledgement rides on the next request, a sync
    late = _bodies(rng, "meanwhile")
    relay.dropper.drop_next("POST", "/v1/messages/sync",
                            lambda: [carol.send_text("bob", body) for body in late])
    got = [m.body for m in bob.receive(defer_ack=True)]
    bob.flush_acks()
    outcome.acknowledged += len(late)
    rest = [m.body for m in bob.receive_all()]
    for body in late:
        count = (got + rest).count(body)
        if count != 1:
            outcome.problem("lost" if count == 0 else "duplicated",
                            f"bob delivered {body!r} {count} times", max(1, count - 1))


def case_remove_device(relay: LoopbackRelay, rng: random.Random, outcome: Outcome) -> None:
    alice1 = relay.device("alice")
    alice2 = alice1.link_device(2, HttpTransport(relay.url), retry_for=RETRY_FOR)
    bob = relay.device("bob")
    _deliver(outcome, bob, "alice", [alice1, alice2], _bodies(rng, "before"))
    relay.dropper.drop_next("DELETE", "/v1/devices/alice:2")
    try:
        alice1.remove_device(alice2.address)
    except MessagingError as exc:
        outcome.problem("errors", f"remove_device failed after its removal committed and "
                                  f"the answer was lost: {exc}")
    _deliver(outcome, bob, "alice", [alice1], _bodies(rng, "after"))


CASES: dict[str, Callable[[LoopbackRelay, random.Random, Outcome], None]] = {
    "register": case_register,
    "link-device": case_link_device,
    "upload-prekeys": case_upload_prekeys,
    "replenish-prekeys": case_replenish_prekeys,
    "fetch-bundle": case_fetch_bundle,
    "send": case_send,
    "ack": case_ack,
    "sync": case_sync,
    "remove-device": case_remove_device,
}


def run_case(name: str, rng: random.Random, work: Path) -> Outcome:
    """Run case ``name`` on a fresh relay; check the relay's database afterwards."""
    outcome = Outcome()
    relay = LoopbackRelay(work)
    try:
        CASES[name](relay, rng, outcome)
    except MessagingError as exc:
        outcome.problem("errors", f"{type(exc).__name__}: {exc}")
    finally:
        relay.close()
    for method, path, status in relay.dropper.dropped:
        if not status.startswith("200"):
            outcome.problem("errors", f"the dropped {method} {path} was refused ({status}): "
                                      "the case tested nothing")
    if not relay.dropper.dropped:
        outcome.problem("errors", f"case {name} dropped no answer")
    problems = sqlite_check(relay.path)
    if problems:
        outcome.problem("corrupt", f"relay database: {'; '.join(problems[:3])}")
    return outcome


def lost_answer_trial(rng: random.Random, work: Path, index: int = 0) -> Outcome:
    """Trial ``index`` runs case ``index`` modulo the number of cases, with its own name
    in every problem it reports."""
    name = list(CASES)[index % len(CASES)]
    outcome = Outcome()
    outcome.add(run_case(name, rng, work), label=f"[{name}] ")
    return outcome
