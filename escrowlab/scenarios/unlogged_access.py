"""S26 unlogged-access (docs/scenarios.md): every path to plaintext without a log entry.

- ``approval-from-another-log``: the insider logs the warrant's approval in a log of its own
  (its own key and witnesses) and shows the nodes that receipt;
- ``approval-without-proof``: the genuine approval receipt with its inclusion proof removed
  or bent;
- ``crash-before-ack``: a node's decision entry is written, and the node dies before the
  log's acknowledgement reaches it;
- ``every-release-has-its-entry``: after a normal release, each release row in each node's
  database is matched against the log entry it names;
- ``custodians-bypass-nodes``: t - 1, then t custodians use their keys directly (the library's
  :func:`escrow.release.open_own_share`), with no warrant and no node: the one exception
  (S02).

Measured: messages opened (``exposed_total``), entries the log gained, and for the bypass
the coalition size and whether anything shows it (``detectable``).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from audit.entries import Entry
from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.witness import Witness
from authority_portal.custodian_node.log_check import LocalLog
from escrow.authorisation import SignedAuthorisation
from escrow.context import RecordContext
from escrow.release import open_own_share, seal_release
from escrow.scope import Window
from escrowlab.scenarios._warrant_world import WarrantWorld, sizes, warrant_world
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario
from messaging.wire import parse_envelope


class CrashBeforeAck(LocalLog):
    """A node's log whose appends are written and then the node dies before the receipt."""

    def append_event(self, type, actor, payload):  # type: ignore[no-untyped-def]
        super().append_event(type, actor, payload)
        raise OSError("the node died before the log's acknowledgement arrived")


def _foreign_receipt(world: WarrantWorld, case, directory: Path):
    """The approval of ``case`` logged in the insider's own witnessed log."""
    signer = Signer.generate(world.log_signer.name)  # the same name, another key
    witnesses = [Witness.generate(f"rogue-{i}.test", [signer.verifier],
                                  directory / f"rogue-{i}.db", world.clock) for i in range(2)]
    log = AuditLog.open(directory / "rogue.db", signer, clock=world.clock,
                        quorum=WitnessQuorum(witnesses, 2))
    try:
        entry = case.receipt("approved").event()
        return log.append_event(entry.type, entry.actor, entry.payload)
    finally:
        log.close()
        for w in witnesses:
            w.close()


def _bypass(world: WarrantWorld, k: int) -> tuple[int, int]:
    """(messages of C1 opened, log entries added) by k custodians using their own keys."""
    deployment = world.deployment
    window = Window(world.conversations[0], 0.0, 1e12)
    scoped = world.access.scope(window)
    key = X25519PrivateKey.generate()
    own = SignedAuthorisation.issue("coalition", Ed25519PrivateKey.generate(), "no-warrant",
                                    tuple(s.ref for s in scoped),
                                    key.public_key().public_bytes_raw(), 1e12)
    size = world.log.size
    attempt = world.access.open(window, own, key)
    for custodian in deployment.custodians[:k]:
        releases = []
        for item in scoped:
            digest, index, value = open_own_share(custodian, deployment.custodian_set,
                                                  item.envelope)
            context = RecordContext.of_envelope(parse_envelope(item.envelope))
            releases.append(seal_release(custodian, deployment.custodian_set, own, digest,
                                         index, value, context))
        attempt.submit(attempt.nonce, releases)
    return attempt.recover().messages_recovered, world.log.size - size


def _ask(world: WarrantWorld, case, approval, nodes=None) -> tuple[dict, int, int]:
    """(answers, messages opened, log entries added) for a new attempt shown ``approval``."""
    auth, attempt = world.open_attempt(case.warrant, case.signatures)
    size = world.log.size
    answers = {n: world.ask(n, world.request(n, auth, attempt.nonce, approval))
               for n in (nodes or world.nodes)}
    return answers, world.opened(attempt, answers), world.log.size - size


def _outcome(mode: str, variant: str, expected: str, answers: dict, opened: int,
             added: int) -> Outcome:
    released = [n for n, (a, _) in answers.items() if a == "released"]
    return Outcome("S26", mode, variant, expected,
                   holds=not released and opened == 0,
                   metrics={"exposed_total": opened, "detectable": "log"},
                   details={"released_by": released, "log_entries_added": added,
                            "reasons": {n: a for n, (a, _) in answers.items()}})


@scenario("S26", "unlogged-access", "every path to plaintext without a log entry: no "
          "inclusion proof, a crash between log append and release, nodes bypassed",
          ("threshold",))
def run(params: Params, mode: str) -> list[Outcome]:
    out = []
    with warrant_world(**sizes(params)) as world, tempfile.TemporaryDirectory() as scratch:
        case = world.case(world.warrant(warrant_id="W-26"))
        approval = case.receipt("approved")
        out.append(_outcome(mode, "approval-from-another-log",
                            "refused by every node: not under the log it trusts",
                            *_ask(world, case, _foreign_receipt(world, case, Path(scratch)))))
        bent = dataclasses.replace(approval, proof=tuple(bytes(32) for _ in approval.proof)
                                   or (bytes(32),))
        out.append(_outcome(mode, "approval-without-proof",
                            "refused by every node: inclusion does not verify",
                            *_ask(world, case, bent)))

        node = world.nodes["K1"]
        node.log = CrashBeforeAck(world.log)
        size = world.log.size
        answers, opened, _ = _ask(world, case, approval, ["K1"])
        node.log = LocalLog(world.log)
        logged = world.log_types(size)
        crash = _outcome(mode, "crash-before-ack",
                         "nothing released; the decision entry is in the log",
                         answers, opened, len(logged))
        out.append(dataclasses.replace(
            crash, holds=crash.holds and logged == ["custodian.released"]
            and world.node_state()["K1"] == [],
            details={**crash.details, "entries": logged}))

        [run_] = world.execute(world.case(world.warrant(warrant_id="W-26b")))
        missing = 0
        rows = 0
        for name, n in world.nodes.items():
            for nonce, _, _, _, index in n.store.releases():
                rows += 1
                entry = Entry.decode(world.log.store.leaf(index))
                missing += (entry.type, entry.actor, entry.payload.get("nonce")) != (
                    "custodian.released", f"custodian:{name}", nonce)
        out.append(Outcome(
            "S26", mode, "every-release-has-its-entry",
            "every release a node made names a log entry of that release",
            holds=missing == 0 and rows >= world.deployment.threshold,
            metrics={"exposed_total": run_.report.messages_recovered, "detectable": "log"},
            details={"release_rows": rows, "rows_without_entry": missing}))

        t = world.deployment.threshold
        below, _ = _bypass(world, t - 1)
        opened, added = _bypass(world, t)
        fewest = t if opened > 0 and below == 0 else None
        out.append(Outcome(
            "S26", mode, "custodians-bypass-nodes",
            "t custodians with their own keys read everything escrowed and nothing is "
            "logged: the S02 exception",
            holds=opened > 0 and added == 0 and below == 0,
            metrics={"exposed_total": opened, "min_coalition": fewest,
                     "detectable": "none" if added == 0 else "log"},
            details={"log_entries_added": added, "opened_by_t_minus_1": below,
                     "archived_messages": len(list(world.relay.archive.entries(
                         world.conversations[0])))}))
    return out
