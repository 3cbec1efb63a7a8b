"""Fault: the relay process is killed mid-run and restarted; no acknowledged envelope is lost.

The relay commits an envelope before it answers, so an envelope the relay
acknowledged survives the kill; a send cut off mid-request is retried with a
fresh signature (and if the first attempt had committed, the recipient drops
the copy as a replay). Receivers acknowledge only after decrypting.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from messaging.client import Device
from messaging.relay import schema
from messaging.relay.schema import open_engine
from messaging.transport import HttpTransport
from tests.relay.server import start_relay, stop_relay

MESSAGES = 60


def test_killed_relay_loses_no_acknowledged_envelope_and_clients_resume(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'relay.sqlite'}"
    process, url = start_relay(db_url)
    port = int(url.rsplit(":", 1)[1])
    alice = Device.create("alice", 1, HttpTransport(url), retry_for=30)
    bob = Device.create("bob", 1, HttpTransport(url), retry_for=30)
    accepted: list[str] = []
    received: list[str] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            for i in range(MESSAGES):
                alice.send_text("bob", f"m{i}")
                accepted.append(f"m{i}")
                time.sleep(0.01)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    def receive() -> None:
        try:
            deadline = time.monotonic() + 90
            while len(received) < MESSAGES and time.monotonic() < deadline:
                received.extend(m.body for m in bob.receive_all())
                time.sleep(0.02)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send), threading.Thread(target=receive)]
    for t in threads:
        t.start()
    while len(accepted) < MESSAGES // 3:
        time.sleep(0.01)
    stop_relay(process)  # SIGKILL mid-run
    acknowledged_before_kill = list(accepted)
    time.sleep(0.5)
    process, _ = start_relay(db_url, port=port)
    try:
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert acknowledged_before_kill
        assert set(acknowledged_before_kill) <= set(received)
        assert received == [f"m{i}" for i in range(MESSAGES)]
        with open_engine(db_url).connect() as conn:
            queued = conn.execute(select(func.count()).select_from(schema.queue)).scalar_one()
        assert queued == 0
    finally:
        stop_relay(process)
