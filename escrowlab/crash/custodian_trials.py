"""Crash trials of a custodian node: ``escrowlab custodian serve`` SIGKILLed while it answers
release requests, then restarted on the same files (docs/custodian_node.md, "State").

One node (K1 of a two-custodian lab ceremony, lab KDF) runs as a child process on its
keystore, its own database, the relay archive and the audit log (opened in its process,
checkpoints cosigned by two HTTP witnesses run by the harness, quorum 2). The harness plays
the portal and K1's operator: it files and approves :data:`WARRANTS` warrants on one
conversation, signs one release request per warrant, sends them one after another from a
thread, and SIGKILLs the node after a random number of answers plus a random delay of up
to one release's time (measured on the answers so far), so the kill lands at a random point
of the next release. It restarts the node on the same files, sends a second attempt on
every target, then every unanswered request again, stops the node and checks:

- ``acknowledged``: each release the node answered; ``lost`` if it is not recorded in the
  node's database after the restart;
- ``duplicated``: a target whose decision entries in the log name two attempts (a node
  that forgot, after a restart, the attempt it had logged a release to);
- ``errors``: a target not released to exactly one attempt once every attempt has been
  answered, a reservation left behind, a release row that does not name a
  ``custodian.released`` entry of its own attempt in the log, a refusal before the kill;
- ``corrupt``: the node's database fails SQLite's checks, or the log fails
  :func:`audit.verifier.verify_log`.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import random
import sqlite3
import threading
import time
from pathlib import Path

from escrowlab.crash.outcome import Outcome
from escrowlab.crash.processes import ChildFailed, sqlite_check, start_server

WARRANTS = 8
NODE = "K1"
FIRST_RELEASE = 0.05
"""Seconds a release is taken to last before two answers have been timed."""
ANSWER_TIMEOUT = 30.0


class _Lab:
    """The files and the in-harness parties of one trial (module docstring)."""

    def __init__(self, work: Path) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from audit.http.witness_client import HttpWitness
        from audit.http.witness_server import make_witness_server
        from audit.keyfile import write_signer
        from audit.log import AuditLog
        from audit.note import Signer
        from audit.quorum import WitnessQuorum
        from audit.witness import Witness
        from authority_portal.warrants.judges import Judge, JudgeRegistry
        from escrow.custodian_set import CustodianSet
        from escrow.threshold.deployment import CustodianDeployment
        from escrow.threshold.hook import ThresholdEscrow
        from escrow.workflow import LawfulAccess
        from escrowlab.cli import main
        from messaging.client import Device
        from messaging.clock import SystemClock
        from messaging.relay import RelayService
        from messaging.relay.inprocess import InProcessTransport

        self.work = work
        clock = SystemClock()
        self.now = clock.now()
        with contextlib.redirect_stdout(io.StringIO()):
            if main(["escrow", "ceremony", "--custodians", "2", "--threshold", "2", "--out",
                     str(work / "cer"), "--generate-passphrases", "--lab-kdf"]) != 0:
                raise ChildFailed("the lab ceremony failed")
        hook = ThresholdEscrow(CustodianSet.loads((work / "cer" / "set.json").read_bytes()))
        self.relay = RelayService(f"sqlite:///{work / 'relay.db'}", clock=clock, init=True)
        transport = InProcessTransport(self.relay)
        alice, bob = (Device.create(u, 1, transport, hook=hook, clock=clock,
                                    one_time_prekeys=2, kem_prekeys=1) for u in ("alice", "bob"))
        for i in range(4):
            (alice if i % 2 == 0 else bob).send_text("bob" if i % 2 == 0 else "alice", f"m{i}")
            (bob if i % 2 == 0 else alice).receive_all()
        self.access = LawfulAccess(CustodianDeployment(hook), self.relay.archive)
        log_signer = Signer.generate("crash.escrowlab.test/log")
        write_signer(str(work / "log.key"), log_signer)
        witnesses = [Witness.generate(f"w{i}.test", [log_signer.verifier], work / f"w{i}.db",
                                      clock) for i in range(2)]
        self.witnesses = witnesses
        self.servers = [make_witness_server(w) for w in witnesses]
        for server in self.servers:
            threading.Thread(target=server.run, daemon=True).start()
        urls = [f"http://127.0.0.1:{s.effective_port}" for s in self.servers]
        self.log_key = log_signer.verifier
        self.witness_keys = [w.verifier for w in witnesses]
        self.log = AuditLog.open(work / "audit.db", log_signer, clock=clock, quorum=WitnessQuorum(
            [HttpWitness(u, w.verifier) for u, w in zip(urls, witnesses, strict=True)], 2))
        self.judge = Signer.generate("J1")
        self.registry = JudgeRegistry([Judge("J1", "JA", self.judge.verifier)])
        (work / "registry.json").write_bytes(self.registry.encode())
        self.operator = Ed25519PrivateKey.generate()
        self.args = ["-m", "escrowlab", "custodian", "serve", "--keystore",
                     str(work / "cer" / NODE), "--operator-key",
                     self.operator.public_key().public_bytes_raw().hex(),
                     "--registry", str(work / "registry.json"), "--archive",
                     f"sqlite:///{work / 'relay.db'}", "--log", str(work / "audit.db"),
                     "--log-key-file", str(work / "log.key"), "--quorum", "2", "--json"]
        for url, witness in zip(urls, witnesses, strict=True):
            self.args += ["--witness-url", url, "--witness-key", witness.verifier.vkey]

    def close(self) -> None:
        self.log.close()
        self.relay.close()
        for server in self.servers:
            server.close()
        for witness in self.witnesses:
            witness.close()

    def cases(self, count: int) -> list:
        """``count`` approved warrant cases on alice and bob's conversation."""
        from authority_portal.warrants.model import Warrant
        from authority_portal.warrants.policy import ParticularityPolicy
        from authority_portal.warrants.signatures import sign_warrant
        from authority_portal.warrants.states import WarrantCase
        from messaging.addresses import direct_conversation_id

        now = int(self.now)
        cases = []
        for number in range(count):
            warrant = Warrant(f"W-crash-{number}", "Agency A", "JA", "O1",
                              (direct_conversation_id("alice", "bob"),), now - 3600,
                              now + 3600, "Order 8", now - 10, now + 86_400)
            case = WarrantCase.draft(warrant, self.log, self.registry, ParticularityPolicy(),
                                     "officer:O1")
            case.file("officer:O1")
            case.approve("judge:J1", [sign_warrant(self.judge, warrant)])
            cases.append(case)
        return cases

    def request(self, case) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
        """A new attempt on ``case``'s target: its nonce and the request body K1's operator
        signed."""
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        from authority_portal.custodian_node.operator import Operator
        from authority_portal.custodian_node.request import attach_signature, unsigned_request
        from authority_portal.warrants import states
        from authority_portal.warrants.authorisation import authorise, warrant_window

        window = warrant_window(case.warrant, case.warrant.targets[0])
        key = X25519PrivateKey.generate()
        auth = authorise(case.warrant, case.signatures, window.conversation_id,
                         self.access.scope(window), key.public_key().public_bytes_raw())
        nonce = self.access.open(window, auth, key).nonce
        body = unsigned_request(NODE, auth, nonce, case.receipt(states.APPROVED))
        return nonce, attach_signature(body, Operator(NODE, self.operator).sign(body))


def _send_all(killed: threading.Event, url: str, requests: list[tuple[str, bytes]],
              answers: dict[str, str], answered: threading.Semaphore,
              times: list[float]) -> None:
    """Send ``requests`` in order; ``answers[nonce]`` is ``released`` or the refusal,
    ``times`` the monotonic time of each answer."""
    from authority_portal.custodian_node.client import HttpClient
    from authority_portal.custodian_node.errors import NodeError

    client = HttpClient(url, timeout=ANSWER_TIMEOUT)
    for nonce, body in requests:
        try:
            client.release(body)
        except NodeError as exc:
            if killed.is_set():
                return  # the node was killed under this request: no answer
            answers[nonce] = f"refused: {exc}"
        else:
            answers[nonce] = "released"
        times.append(time.monotonic())
        answered.release()


def custodian_trial(rng: random.Random, work: Path, index: int = 0) -> Outcome:
    """One trial (module docstring)."""
    from authority_portal.custodian_node.client import HttpClient
    from authority_portal.custodian_node.errors import NodeError

    outcome = Outcome()
    lab = _Lab(work)
    try:
        cases = lab.cases(WARRANTS)
        requests = [lab.request(case) for case in cases]
        child, info = start_server(lab.args)
        answers: dict[str, str] = {}
        answered = threading.Semaphore(0)
        times: list[float] = [time.monotonic()]
        killed = threading.Event()
        sender = threading.Thread(target=_send_all, args=(killed, info["url"], requests,
                                                          answers, answered, times),
                                  daemon=True)
        sender.start()
        for _ in range(rng.randrange(WARRANTS)):
            answered.acquire(timeout=ANSWER_TIMEOUT)
        spans = [b - a for a, b in itertools.pairwise(times[1:])]
        killed.wait(rng.uniform(0.0, max(spans) if spans else FIRST_RELEASE))
        killed.set()
        child.kill()
        sender.join(timeout=ANSWER_TIMEOUT)
        acknowledged = {n for n, a in answers.items() if a == "released"}
        outcome.acknowledged += len(acknowledged)
        for nonce, answer in answers.items():
            if answer != "released":
                outcome.problem("errors", f"before the kill, attempt {nonce}: {answer}")
        try:
            child, info = start_server(lab.args)
        except ChildFailed as exc:
            outcome.problem("failed_restarts", str(exc))
            return outcome
        try:
            _after_restart(HttpClient(info["url"], timeout=ANSWER_TIMEOUT), lab, cases,
                           requests, answers, NodeError)
        finally:
            child.kill()
        _check_files(lab, cases, acknowledged, work, outcome)
    finally:
        lab.close()
    return outcome


def _after_restart(client, lab: _Lab, cases: list, requests: list[tuple[str, bytes]],
                   answers: dict[str, str], node_error: type[Exception]) -> None:
    """A second attempt on every target first, then every unanswered request again: their
    answers are checked by the state they leave (:func:`_check_files`)."""
    for case in cases:
        with contextlib.suppress(node_error):
            client.release(lab.request(case)[1])
    for nonce, body in requests:
        if nonce not in answers:
            with contextlib.suppress(node_error):
                client.release(body)


def _released(work: Path) -> dict[str, tuple[str, int]]:
    """The node's release rows: nonce -> (warrant hash, log index of its decision)."""
    db = sqlite3.connect(f"file:{work / 'cer' / NODE / 'node.db'}?mode=ro", uri=True)
    try:
        return {nonce: (warrant, index) for nonce, warrant, index in db.execute(
            "SELECT nonce, warrant_sha256, log_index FROM released")}
    finally:
        db.close()


def _check_files(lab: _Lab, cases: list, acknowledged: set[str], work: Path,
                 outcome: Outcome) -> None:
    from audit.entries import Entry
    from audit.errors import AuditError
    from audit.verifier import verify_log
    from authority_portal.custodian_node.node import RELEASED_TYPE

    node_db = work / "cer" / NODE / "node.db"
    problems = sqlite_check(node_db)
    if problems:
        outcome.problem("corrupt", f"node database: {problems[:3]}")
        return
    rows = _released(work)
    db = sqlite3.connect(f"file:{node_db}?mode=ro", uri=True)
    try:
        left = db.execute("SELECT nonce FROM pending").fetchall()
    finally:
        db.close()
    if left:
        outcome.problem("errors", f"{len(left)} reservation(s) left after every attempt ended")
    outcome.problem("lost", f"released attempts missing from the node's database: "
                    f"{sorted(acknowledged - set(rows))}", len(acknowledged - set(rows)))
    try:
        size = lab.log.store.refresh()
        verify_log(lab.log.store, lab.log_key, lab.witness_keys, 2)
    except AuditError as exc:
        outcome.problem("corrupt", f"verify_log: {exc}")
        return
    entries = [Entry.decode(leaf) for leaf in lab.log.store.leaves(0, size)]
    attempts: dict[str, set[str]] = {}
    for entry in entries:
        if entry.type == RELEASED_TYPE and entry.actor == f"custodian:{NODE}":
            attempts.setdefault(entry.payload["warrant_sha256"], set()).add(
                entry.payload["nonce"])
    for warrant, nonces in attempts.items():
        if len(nonces) > 1:
            outcome.problem("duplicated", f"warrant {warrant[:16]}: decision entries for "
                            f"attempts {sorted(nonces)}")
    for case in cases:
        count = sum(1 for warrant, _ in rows.values() if warrant == case.warrant.sha256.hex())
        if count != 1:
            outcome.problem("errors", f"warrant {case.warrant.warrant_id} was released to "
                            f"{count} attempts, not one, after every attempt ended")
    for nonce, (_, log_index) in rows.items():
        entry = entries[log_index] if 0 <= log_index < len(entries) else None
        if entry is None or entry.type != RELEASED_TYPE or entry.payload.get("nonce") != nonce:
            outcome.problem("errors", f"the release of attempt {nonce} names log entry "
                            f"{log_index}, which is not its decision")
