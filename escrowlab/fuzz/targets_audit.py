"""Fuzz targets of :mod:`audit`: signed notes (C2SP signed-note), checkpoints (C2SP
tlog-checkpoint), cosignatures and the quorum check, verifier keys, receipts, log
entries, the witness's add-checkpoint request (C2SP tlog-witness) against a live
witness whose state must not change on a refusal, signed append requests with the
appender registry's and the replay guard's checks, and proof-of-misbehaviour files.

Refusals are :class:`audit.errors.AuditError`. Text inputs are decoded as UTF-8;
bytes that are not UTF-8 reach the parser as lone surrogates (``surrogateescape``),
as a ``str`` read from a damaged file could.
"""

from __future__ import annotations

from pathlib import Path

from audit.errors import AuditError, EntryError, VerificationError
from escrowlab.fuzz.core import Target
from escrowlab.fuzz.mutate import Mutator
from escrowlab.fuzz.seeds import ORIGIN, World
from escrowlab.fuzz.targets_messaging import json_mutator, json_seeds, load_object

REFUSE = (AuditError,)


def as_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def text_mutator(seeds: list[str]):
    raw = [s.encode() for s in seeds]

    def mutate(m: Mutator) -> bytes:
        i = m.rng.randrange(len(seeds))
        if m.rng.random() < 0.6:
            return m.text_lines(seeds[i], raw)
        return m.havoc(raw[i], raw)

    return mutate


def note_target(world: World) -> Target:
    from audit.note import parse_note
    audit = world.audit
    keys = [audit.log_signer.verifier, *audit.witness_verifiers]

    def run(data: bytes) -> None:
        note = parse_note(as_text(data))
        note.encode()
        note.verify(keys)

    return Target("audit.note", "audit.note.parse_note (C2SP signed notes with cosignatures), "
                  "encode and verify", REFUSE, [n.encode() for n in audit.notes], run,
                  text_mutator(audit.notes), weight=2)


def checkpoint_target(world: World) -> Target:
    from audit.checkpoint import Checkpoint
    seeds = world.audit.checkpoints
    return Target("audit.checkpoint", "audit.checkpoint.Checkpoint.parse (C2SP tlog-checkpoint "
                  "body)", REFUSE, [s.encode() for s in seeds],
                  lambda data: Checkpoint.parse(as_text(data)), text_mutator(seeds), weight=2)


def cosigned_target(world: World) -> Target:
    from audit.quorum import verify_checkpoint
    audit = world.audit

    def run(data: bytes) -> None:
        verify_checkpoint(as_text(data), audit.log_signer.verifier, audit.witness_verifiers, 2)

    return Target("audit.cosigned", "audit.quorum.verify_checkpoint: log signature plus a 2-of-3 "
                  "witness quorum of cosignatures", REFUSE, [n.encode() for n in audit.notes],
                  run, text_mutator(audit.notes), weight=1)


def vkey_target(world: World) -> Target:
    from audit.note import Verifier
    seeds = [world.audit.log_signer.verifier.vkey] + [v.vkey for v in world.audit.witness_verifiers]
    return Target("audit.vkey", "audit.note.Verifier.from_vkey (verifier keys)", REFUSE,
                  [s.encode() for s in seeds], lambda data: Verifier.from_vkey(as_text(data)),
                  text_mutator(seeds), weight=0.5)


def receipt_target(world: World) -> Target:
    from audit.receipt import Receipt, verify_receipt
    audit = world.audit
    seeds = json_seeds(audit.receipts)

    def run(data: bytes) -> None:
        receipt = Receipt.from_json(load_object(data, "receipt", EntryError))
        verify_receipt(receipt, audit.log_signer.verifier, audit.witness_verifiers, 2)
        receipt.event()

    return Target("audit.receipt", "Receipt.from_json, verify_receipt (quorum and inclusion) and "
                  "the entry it carries", REFUSE, seeds, run, json_mutator(seeds), weight=1)


def entry_target(world: World) -> Target:
    from audit.entries import Entry
    seeds = world.audit.entries
    return Target("audit.entry", "audit.entries.Entry.decode (canonical JCS log entries)",
                  REFUSE, seeds, Entry.decode, json_mutator(seeds), weight=2)


class _LiveWitness:
    """A witness that cosigned the log at size 3; add-checkpoint bodies go through
    ``parse_request`` then ``add_checkpoint``. A refusal must leave its state as it was."""

    def __init__(self, world: World) -> None:
        self.audit = world.audit
        self.witness = self._fresh()

    def _fresh(self):
        from audit.note import parse_note
        from audit.witness import Witness
        signer = self.audit.witness_signers[0]
        witness = Witness(signer, [self.audit.log_signer.verifier], ":memory:",
                          self.audit.clock)
        witness.add_checkpoint(0, [], parse_note(self.audit.base_note).encode())
        return witness

    def run(self, data: bytes) -> None:
        from audit.http.witness_api import parse_request
        old, proof, note = parse_request(data)
        self.witness.add_checkpoint(old, proof, note)

    def snapshot(self):
        return self.witness.latest(ORIGIN), list(self.witness._db.execute(
            "SELECT origin, size, root, note FROM witnessed ORDER BY origin"))

    def reset(self) -> None:
        if self.witness.latest(ORIGIN) != self._base():
            self.witness.close()
            self.witness = self._fresh()

    def _base(self):
        from audit.checkpoint import Checkpoint
        from audit.note import parse_note
        cp = Checkpoint.parse(parse_note(self.audit.base_note).text)
        return cp.size, cp.root


def witness_target(world: World) -> Target:
    live = _LiveWitness(world)
    requests = world.audit.requests
    texts = [r.decode() for r in requests]
    return Target("audit.witness", "a live witness: witness_api.parse_request then "
                  "Witness.add_checkpoint; its state (latest size, root, note) unchanged after "
                  "a refusal", REFUSE, requests, live.run, text_mutator(texts), weight=1,
                  snapshot=live.snapshot, reset=live.reset,
                  close=lambda: live.witness.close())


def append_request_target(world: World) -> Target:
    """A served log's admission of an append request (docs/audit_log.md, "Appending over
    HTTP"): parse, the registered appender's signature, then the time window and nonce of
    a fresh replay guard on the world's clock."""
    from audit.append_request import AppenderRegistry, ReplayGuard, parse_request, sign_request
    from audit.note import Signer
    audit = world.audit
    appender = Signer.generate("custodian:K1", now=audit.clock.now)
    registry = AppenderRegistry([appender.verifier])
    now = audit.clock.now()
    seeds = [sign_request(appender, "custody.released", {"warrant": "W-1", "n": 3}, now),
             sign_request(appender, "custody.refused", {"reason": "expired", "tags": ["a"]},
                          now + 1),
             sign_request(appender, "x.y", {}, now)]

    def run(data: bytes) -> None:
        request = parse_request(data)
        registry.check(request)
        ReplayGuard(audit.clock).admit(request)

    return Target("audit.append_request", "audit.append_request: parse_request, the appender "
                  "registry's signature check and the replay guard", REFUSE, seeds, run,
                  text_mutator([s.decode() for s in seeds]), weight=1)


def evidence_target(world: World) -> Target:
    from audit.verifier import check_misbehaviour_evidence
    audit = world.audit
    seeds = json_seeds([audit.evidence])

    def run(data: bytes) -> None:
        evidence = load_object(data, "misbehaviour evidence", VerificationError)
        check_misbehaviour_evidence(evidence, audit.log_signer.verifier)

    return Target("audit.evidence", "audit.verifier.check_misbehaviour_evidence on a "
                  "proof-of-misbehaviour file (any JSON value)", REFUSE, seeds, run,
                  json_mutator(seeds), weight=1)


class _DatabaseFile:
    """A real SQLite file of the audit package, mutated as bytes, written to a fresh path
    (no WAL beside it) and opened and read as the package does."""

    def __init__(self, world: World, source: str) -> None:
        tmp = Path(world.tmp.name)
        self.path = tmp / f"fuzz-{source}"
        self.seed = (tmp / source).read_bytes()

    def write(self, data: bytes) -> str:
        for leftover in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            leftover.unlink(missing_ok=True)
        self.path.write_bytes(data)
        return str(self.path)

    def mutate(self, m: Mutator) -> bytes:
        # mostly small edits, where SQLite's page checks are weakest
        return m.havoc(self.seed, rounds=m.rng.choice((1, 1, 2)))


def witness_state_target(world: World) -> Target:
    from audit.witness import Witness
    file = _DatabaseFile(world, "witness-0.db")
    audit = world.audit

    def run(data: bytes) -> None:
        witness = Witness(audit.witness_signers[0], [audit.log_signer.verifier],
                          file.write(data), audit.clock)
        try:
            witness.latest(ORIGIN)
            witness.add_checkpoint(*_request_parts(audit.requests[0]))
        finally:
            witness.close()

    return Target("audit.witness_state", "a witness opening a damaged state file (bytes of a "
                  "real one mutated), then cosigning", REFUSE, [file.seed], run, file.mutate,
                  weight=0.2)


def _request_parts(body: bytes):
    from audit.http.witness_api import parse_request
    return parse_request(body)


def log_store_target(world: World) -> Target:
    from audit.storage import LogStore
    from audit.verifier import verify_log
    file = _DatabaseFile(world, "audit.db")
    audit = world.audit

    def run(data: bytes) -> None:
        with LogStore(file.write(data)) as store:
            verify_log(store, audit.log_signer.verifier, audit.witness_verifiers, 2,
                       check_entries=True)

    return Target("audit.log_store", "LogStore opening a damaged audit log file (bytes of a "
                  "real one mutated), then verify_log", REFUSE, [file.seed], run, file.mutate,
                  weight=0.2)


def targets(world: World) -> dict:
    return {
        "audit.note": lambda: note_target(world),
        "audit.checkpoint": lambda: checkpoint_target(world),
        "audit.cosigned": lambda: cosigned_target(world),
        "audit.vkey": lambda: vkey_target(world),
        "audit.receipt": lambda: receipt_target(world),
        "audit.entry": lambda: entry_target(world),
        "audit.witness": lambda: witness_target(world),
        "audit.append_request": lambda: append_request_target(world),
        "audit.evidence": lambda: evidence_target(world),
        "audit.witness_state": lambda: witness_state_target(world),
        "audit.log_store": lambda: log_store_target(world),
    }
