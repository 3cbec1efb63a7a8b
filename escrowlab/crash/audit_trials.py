"""Crash trials of the audit log and its witness (kinds ``audit-cli``, ``audit-api``, ``witness``).

- ``audit-cli``: ``escrowlab audit append`` processes append to one log; one of
  them is SIGKILLed at a random instant of its life, then another append must
  succeed (the restart).
- ``audit-api``: a child appending through :class:`audit.log.AuditLog`
  (:mod:`escrowlab.crash.child`, both durability modes) is SIGKILLed after a
  random number of acknowledgements; a second child reopens the log and appends.
- ``witness``: a log streams checkpoints to ``escrowlab audit witness serve`` over
  HTTP (C2SP tlog-witness); the witness is SIGKILLed mid-stream and restarted on
  its state file and port, then offered a fork signed by the same log key.

Checked after each restart: every acknowledged entry is in the log exactly once,
:func:`audit.verifier.verify_log` passes (with the last acknowledged checkpoint as
the trusted one), a new checkpoint is consistent with that one (RFC 9162 section
2.1.4 proof); the witness's state is a sound SQLite file holding at least the last
checkpoint it cosigned, with that tree's root, and it never cosigns the fork.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

from audit.checkpoint import Checkpoint
from audit.entries import Entry
from audit.errors import AuditError, QuorumError
from audit.http.witness_client import HttpWitness
from audit.log import AuditLog
from audit.note import Signer, Verifier, parse_note, unb64
from audit.proof import verify_consistency
from audit.quorum import WitnessQuorum, verify_checkpoint
from audit.storage import LogStore
from audit.verifier import verify_log
from escrowlab.crash.outcome import Outcome
from escrowlab.crash.processes import Child, ChildFailed, sqlite_check, start_server

EVENT_TYPE = "crash.trial"
RESTART_FIRST = 1_000_000  # entries appended after the restart are numbered from here
APPEND_TIMEOUT = 60.0


def _new_log(work: Path, origin: str) -> tuple[Path, Path, Signer, str]:
    """A log with its first (empty) checkpoint and its key file (0600)."""
    signer = Signer.generate(origin)
    path, key = work / "log.db", work / "log.key"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(signer.skey + "\n")
    with LogStore(path, create=True) as store:
        note = AuditLog(store, signer).sign_checkpoint().encode()
    return path, key, signer, note


def check_log(path: Path, log_key: Verifier, acknowledged: set[int], trusted: str,
              new_checkpoint: str | None, outcome: Outcome) -> None:
    """Every acknowledged ``n`` once, the log verifies, ``new_checkpoint`` extends ``trusted``."""
    outcome.acknowledged += len(acknowledged)
    try:
        store = LogStore(path)
    except AuditError as exc:
        outcome.problem("corrupt", f"the log does not open after the restart: {exc}")
        return
    with store:
        seen: Counter[int] = Counter()
        try:
            for _index, data, _hash in store.scan_leaves():
                seen[Entry.decode(data).payload["n"]] += 1
        except (AuditError, KeyError, TypeError) as exc:
            outcome.problem("corrupt", f"an entry does not parse: {exc}")
        lost = sorted(acknowledged - set(seen))
        outcome.problem("lost", f"acknowledged entries {lost[:5]} missing", len(lost))
        twice = {n: c for n, c in seen.items() if c > 1}
        outcome.problem("duplicated", f"entries present more than once: {twice}",
                        sum(c - 1 for c in twice.values()))
        try:
            verify_log(store, log_key, trusted_checkpoint=trusted)
        except AuditError as exc:
            outcome.problem("corrupt", f"verify_log: {exc}")
        if new_checkpoint is None:
            return
        try:
            old = verify_checkpoint(trusted, log_key)
            new = verify_checkpoint(new_checkpoint, log_key)
            if new.size < old.size:
                raise AuditError(f"new checkpoint size {new.size} < acknowledged {old.size}")
            proof = store.consistency_proof(old.size, new.size) if 0 < old.size < new.size \
                else []
            if old.size == new.size:
                if old.root != new.root:
                    raise AuditError(f"two roots signed for size {old.size}")
            elif old.size:
                verify_consistency(old.size, new.size, proof, old.root, new.root)
        except AuditError as exc:
            outcome.problem("corrupt", f"new checkpoint vs the last acknowledged: {exc}")


def _cli_append(log: Path, key: Path, n: int) -> Child:
    return Child(["-m", "escrowlab", "audit", "append", "--log", str(log), "--key-file",
                  str(key), "--type", EVENT_TYPE, "--actor", "crash:cli",
                  "--payload", json.dumps({"n": n}), "--json"])


def _cli_receipt(child: Child, n: int) -> str | None:
    """The checkpoint of the receipt a finished ``audit append`` printed for entry ``n``."""
    try:
        receipt = json.loads("\n".join(child.lines()))
        if Entry.decode(unb64(receipt["entry"], "entry")).payload["n"] != n:
            return None
        return str(receipt["checkpoint"])
    except (ValueError, KeyError, TypeError, AuditError):
        return None


def audit_cli_trial(rng: random.Random, work: Path, index: int = 0) -> Outcome:
    outcome = Outcome()
    log, key, signer, trusted = _new_log(work, "crash.test/audit-cli")
    acknowledged: set[int] = set()
    durations = []
    for n in range(1 + (rng.random() < 0.25)):
        start = time.monotonic()
        child = _cli_append(log, key, n)
        code = child.wait(APPEND_TIMEOUT)
        note = _cli_receipt(child, n)
        if code != 0 or note is None:
            outcome.problem("errors", f"audit append failed before any kill: {child.stderr}")
            return outcome
        durations.append(time.monotonic() - start)
        acknowledged.add(n)
        trusted = note
    victim_n = len(durations)
    child = _cli_append(log, key, victim_n)
    # Most of a short process's life is start-up; aim at the end, where it writes.
    time.sleep(rng.uniform(0.5, 1.05) * sum(durations) / len(durations))
    if not child.kill():
        note = _cli_receipt(child, victim_n)
        if child.process.returncode == 0 and note is not None:
            acknowledged.add(victim_n)
            trusted = note
    restart = _cli_append(log, key, RESTART_FIRST)
    new_checkpoint = _cli_receipt(restart, RESTART_FIRST) \
        if restart.wait(APPEND_TIMEOUT) == 0 else None
    if new_checkpoint is None:
        outcome.problem("failed_restarts", f"audit append after the kill: {restart.stderr}")
    else:
        acknowledged.add(RESTART_FIRST)
    check_log(log, signer.verifier, acknowledged, trusted, new_checkpoint, outcome)
    return outcome


def _api_acks(lines: list[str], acknowledged: set[int], trusted: str) -> str:
    """Record the acknowledgements in ``lines``; return the last acknowledged checkpoint."""
    for line in lines:
        ack = json.loads(line)
        acknowledged.update(ack["n"])
        if ack["checkpoint"] is not None:
            trusted = ack["checkpoint"]
    return trusted


def audit_api_trial(rng: random.Random, work: Path, index: int = 0) -> Outcome:
    outcome = Outcome()
    log, key, signer, trusted = _new_log(work, "crash.test/audit-api")
    durability = rng.choice(("process", "power"))
    child = Child(["-m", "escrowlab.crash.child", str(log), str(key), durability, "0", "0"])
    lines: list[str] = []
    for _ in range(rng.randint(1, 8)):
        line = child.line(APPEND_TIMEOUT)
        if line is None:
            break
        lines.append(line)
    time.sleep(rng.uniform(0.0, 0.02))
    child.kill()
    lines += child.lines()
    if not lines:
        outcome.problem("errors", f"the appender acknowledged nothing: {child.stderr}")
        return outcome
    acknowledged: set[int] = set()
    trusted = _api_acks(lines, acknowledged, trusted)
    restart = Child(["-m", "escrowlab.crash.child", str(log), str(key), durability,
                     str(RESTART_FIRST), str(rng.randint(1, 3))])
    code = restart.wait(APPEND_TIMEOUT)
    after: set[int] = set()
    new_checkpoint = _api_acks(restart.lines(), after, trusted)
    if code != 0 or not after:
        outcome.problem("failed_restarts", f"appender after the kill: {restart.stderr}")
        new_checkpoint = None
    check_log(log, signer.verifier, acknowledged | after, trusted, new_checkpoint, outcome)
    return outcome


class _Streamer:
    """Appends to ``log`` and gets every checkpoint cosigned, retrying while the witness is down."""

    def __init__(self, log: AuditLog, witness_key: Verifier) -> None:
        self.log = log
        self.witness_key = witness_key
        self.acknowledged: list[tuple[int, bytes]] = []  # (size, root) cosigned, in order
        self.errors: list[str] = []
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n, pending = 0, False
        while not self.stop.is_set():
            try:
                if pending:
                    note = self.log.checkpoint().encode()
                else:
                    note = self.log.append_event(EVENT_TYPE, "crash:witness", {"n": n}).checkpoint
                    n += 1
            except QuorumError:
                pending = True
                time.sleep(0.02)
                continue
            except Exception as exc:  # reported as a trial error
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return
            pending = False
            signed = parse_note(note)
            if self.witness_key.vkey in signed.verify([self.witness_key]):
                cp = Checkpoint.parse(signed.text)
                self.acknowledged.append((cp.size, cp.root))

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count and time.monotonic() < deadline \
                and self._thread.is_alive():
            time.sleep(0.005)
        return len(self.acknowledged) >= count

    def join(self) -> None:
        self.stop.set()
        self._thread.join(timeout=30)


def _check_witness_state(path: Path, origin: str, log: AuditLog,
                         acknowledged: list[tuple[int, bytes]], outcome: Outcome) -> int:
    """The state file is sound and holds the last cosigned checkpoint (or a later one);
    return the size it holds (0 if none)."""
    problems = sqlite_check(path)
    if problems:
        outcome.problem("corrupt", f"witness state: {'; '.join(problems[:3])}")
        return 0
    db = sqlite3.connect(str(path))
    try:
        row = db.execute("SELECT size, root FROM witnessed WHERE origin=?", (origin,)).fetchone()
    except sqlite3.Error as exc:
        outcome.problem("corrupt", f"witness state unreadable: {exc}")
        return 0
    finally:
        db.close()
    last = acknowledged[-1][0] if acknowledged else 0
    if row is None or row[0] < last:
        outcome.problem("lost", f"witness state holds size {row and row[0]}, it cosigned {last}")
    elif row[0] > log.size or bytes(row[1]) != log.store.root(row[0]):
        outcome.problem("corrupt", f"witness state's root of size {row[0]} is not the log's")
    return row[0] if row else 0


def _offer_fork(rng: random.Random, witness: HttpWitness, log_signer: Signer,
                state_size: int, outcome: Outcome) -> None:
    """Offer checkpoints of another tree signed by the same log key; each must be refused."""
    fork_store = LogStore(":memory:", create=True)
    try:
        fork = AuditLog(fork_store, log_signer)
        size = max(1, state_size + rng.randint(0, 2))
        fork_store.append_batch([b"fork-%d" % i for i in range(size)])
        note = fork.sign_checkpoint().encode()
        proof = fork_store.consistency_proof(state_size, size) if 0 < state_size < size else []
        for old, offered in ((state_size, proof), (0, [])):
            try:
                witness.add_checkpoint(old, offered, note)
            except AuditError:
                continue
            outcome.problem("errors", f"the restarted witness cosigned a fork of size {size} "
                                      f"(old {old}, its state {state_size})")
    finally:
        fork_store.close()


def witness_trial(rng: random.Random, work: Path, index: int = 0) -> Outcome:
    outcome = Outcome()
    log_signer = Signer.generate("crash.test/witness-log")
    state, key = work / "witness.db", work / "witness.key"

    def serve(port: int, *, init: bool = False) -> tuple[Child, dict]:
        return start_server(["-m", "escrowlab", "audit", "witness", "serve", "--state",
                             str(state), "--key-file", str(key), "--name", "crash.witness",
                             "--log-key", log_signer.vkey, "--port", str(port), "--json",
                             *(["--init"] if init else [])])

    witness, info = serve(0, init=True)
    url = str(info["url"])
    witness_key = Verifier.from_vkey(info["witness_key"])
    client = HttpWitness(url, witness_key, timeout=5.0)
    log = AuditLog.open(work / "log.db", log_signer, durability="process",
                        quorum=WitnessQuorum([client], 1))
    streamer = _Streamer(log, witness_key)
    try:
        if not streamer.wait_for(rng.randint(1, 6), APPEND_TIMEOUT):
            outcome.problem("errors", f"the witness cosigned nothing: {streamer.errors} "
                                      f"{witness.stderr}")
            return outcome
        time.sleep(rng.uniform(0.0, 0.02))
        witness.kill()
        cosigned = list(streamer.acknowledged)
        outcome.acknowledged += len(cosigned)
        state_size = _check_witness_state(state, log_signer.name, log, cosigned, outcome)
        try:
            witness, _ = serve(int(url.rsplit(":", 1)[1]))
        except ChildFailed as exc:
            outcome.problem("failed_restarts", str(exc))
            return outcome
        _offer_fork(rng, client, log_signer, state_size, outcome)
        if not streamer.wait_for(len(streamer.acknowledged) + 2, APPEND_TIMEOUT):
            outcome.problem("failed_restarts", f"the restarted witness cosigns nothing: "
                                               f"{streamer.errors} {witness.stderr}")
        streamer.join()
        witness.kill()
        outcome.acknowledged += len(streamer.acknowledged) - len(cosigned)
        _check_witness_state(state, log_signer.name, log, streamer.acknowledged, outcome)
        for error in streamer.errors:
            outcome.problem("errors", f"log streaming: {error}")
    finally:
        streamer.join()
        witness.kill()
        log.close()
    return outcome
