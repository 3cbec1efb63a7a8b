"""Faults: an appending process SIGKILLed at random points never loses an acknowledged
entry and never leaves a log that fails verification (storage durability "process", the
weaker mode: the default "power" also fsyncs every commit)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from audit.note import Signer
from audit.storage import LogStore
from audit.verifier import verify_log
from tests.paths import PROJECT_ROOT

CHILD = r"""
import sys
from audit.log import AuditLog
from audit.note import Signer
log = AuditLog.open(sys.argv[1], Signer.from_skey(sys.argv[2]), create=True,
                     durability="process")
i = log.size
while True:
    count = 1 + i % 5
    first = log.append_batch([b"entry-%d" % k for k in range(i, i + count)])
    assert first == i
    print(f"ack {first} {count}", flush=True)
    i += count
    if i % 3 == 0:
        log.sign_checkpoint()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_at_random_points_loses_no_acknowledged_entry(tmp_path):
    path = str(tmp_path / "crash.db")
    signer = Signer.generate("crash.test/log")
    rng = random.Random(20261127)
    acknowledged = 0
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    for _round in range(6):
        child = subprocess.Popen([sys.executable, "-c", CHILD, path, signer.skey],
                                 stdout=subprocess.PIPE, text=True, env=env)
        acks: list[int] = []

        def read(stream=child.stdout, acks=acks):
            for line in stream:
                _, first, count = line.split()
                acks.append(int(first) + int(count))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 5
        while len(acks) < 3 and time.monotonic() < deadline:  # appending, one checkpoint signed
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join(timeout=5)
        assert acks, "child never appended"
        acknowledged = max(acknowledged, acks[-1])

        with LogStore(path) as store:
            assert store.size >= acknowledged
            assert store.leaves(0, store.size) == [b"entry-%d" % k for k in range(store.size)]
            report = verify_log(store, signer.verifier)
            assert report.size == store.size
