"""Audit-log scenarios S23, S24, S25 (docs/scenarios.md, "Catalogue"): the log operator rewrites,
rolls back, forks or splits the history of lawful access.

The log is the same for every escrow mode (it records the releases and recoveries the
workflow makes), so each scenario is measured once per run (:func:`shared`) and reported
under every escrow mode, with ``details.shared_by`` naming them. Each measurement attacks a
real log on disk with
its signed head, three witnesses with their own state databases and a 2-of-3 quorum
(:func:`escrowlab.scenarios.fixture.audit_world`). The attacker has write access to the
operator's files (:func:`~escrowlab.scenarios.fixture.rewrite_tree`).

- S23 log-tamper: an entry edited in place, edited with its leaf hash, and the whole tree
  recomputed after an edit, a deletion or a reordering; then also re-signed.
- S24 log-truncate: the last k entries rolled back and the smaller tree signed; a fork
  regrown past the old size; the witnesses' state after refusing.
- S25 log-split-view: two audiences shown two histories, sweeping witnesses n, quorum t
  and colluding witnesses c (colluders keep one state per audience).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
import tempfile
from pathlib import Path

from audit.errors import (
    QuorumError,
    VerificationError,
    WitnessInconsistencyError,
    WitnessRollbackError,
)
from audit.log import AuditLog
from audit.note import SIG_TYPE_COSIGNATURE_V1, Signer, parse_note
from audit.quorum import WitnessQuorum, verify_checkpoint
from audit.receipt import verify_receipt
from audit.rfc9162 import hash_leaf
from audit.storage import LogStore
from audit.verifier import check_misbehaviour_evidence, verify_log
from audit.witness import Witness
from escrowlab.scenarios.fixture import FixedClock, audit_world, read_leaves, rewrite_tree
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

LOG_MODES = ("threshold", "leaf16", "crumple")
TAMPER_ENTRIES = 30
TRUNCATE_ENTRIES = 24
ROLLBACKS = (1, 5, 12)
SPLIT_PREFIX = 10
BATCHES = 3  # witnessed checkpoints in each history


def _append(world, count: int, actor: str, actors: int):
    """``count`` events in BATCHES atomic appends, each under its own witnessed checkpoint;
    every event's receipt."""
    receipts = []
    step = count // BATCHES
    for start in range(0, count, step):
        receipts += world.log.append_events(
            [("share.released", f"{actor}:{i % actors}", {"case": i, "modes": list(LOG_MODES)})
             for i in range(start, min(start + step, count))])
    return receipts


def _verify(world, trusted, evidence=None):
    with LogStore(world.log.store.path) as store:
        return verify_log(store, world.signer.verifier, world.quorum.verifiers, 2,
                          trusted_checkpoint=trusted, evidence_path=evidence)


def _detected(action) -> tuple[bool, str]:
    try:
        action()
    except VerificationError as exc:
        return True, str(exc)
    return False, ""


def _tamper_world(directory: Path):
    world = audit_world(directory)
    receipts = _append(world, TAMPER_ENTRIES, "officer", 4)
    return world, receipts[-1].checkpoint


def _edit(leaves):
    leaves[5] = leaves[5].replace(b"officer:1", b"officer:3")
    return leaves


def _delete(leaves):
    return leaves[:7] + leaves[8:]


def _reorder(leaves):
    leaves[3], leaves[4] = leaves[4], leaves[3]
    return leaves


REWRITES = {"edit": _edit, "delete": _delete, "reorder": _reorder}


def _s23(mode: str, variant: str) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        world, trusted = _tamper_world(Path(tmp))
        path = world.log.store.path
        details: dict = {"entries": TAMPER_ENTRIES}
        if variant == "untampered":
            size = _verify(world, trusted).size
            world.close()
            return Outcome("S23", mode, variant, "verifies", size == TAMPER_ENTRIES,
                           {"detectable": "none", "state_unchanged": True}, {"size": size})
        if variant in ("edit in place", "edit with its leaf hash"):
            forged = read_leaves(path)[5].replace(b"officer:1", b"officer:3")
            with sqlite3.connect(path) as db:
                if variant == "edit in place":
                    db.execute("UPDATE leaves SET data=? WHERE idx=5", (forged,))
                else:
                    db.execute("UPDATE leaves SET data=?, hash=? WHERE idx=5",
                               (forged, hash_leaf(forged)))
            detected, message = _detected(lambda: _verify(world, trusted))
        elif variant.startswith("recomputed tree"):
            rewrite_tree(path, REWRITES[variant.split(": ")[1]](read_leaves(path)))
            detected, message = _detected(lambda: _verify(world, trusted))
        else:  # recomputed and re-signed
            world.log.close()
            leaves = REWRITES[variant.split(": ")[1]](read_leaves(path))
            # the operator also erases its signed checkpoints, so its own log signs again
            rewrite_tree(path, leaves + [b"cover-up entry"], drop_checkpoints_above=-1)
            world.log = forger = world.reopen()
            try:
                forger.checkpoint()
                refusals = 0
            except QuorumError as exc:
                refusals = len(exc.refusals)
            evidence = Path(tmp) / "evidence.json"
            detected, message = _detected(lambda: _verify(world, trusted, evidence))
            proof = check_misbehaviour_evidence(json.loads(evidence.read_text()),
                                                world.signer.verifier) \
                if evidence.exists() else ""
            details.update(witness_refusals=refusals, evidence=proof)
            detected = detected and refusals == len(world.witnesses)
        world.close()
    details["message"] = message
    return Outcome("S23", mode, variant, "detected against witnessed checkpoints", detected,
                   {"detectable": ["log", "witness"] if "re-signed" in variant else "log"},
                   details)


S23_VARIANTS = ("untampered", "edit in place", "edit with its leaf hash",
                *(f"recomputed tree: {v}" for v in REWRITES),
                *(f"recomputed and re-signed: {v}" for v in REWRITES))


@scenario("S23", "log-tamper", "log entries edited, deleted and recomputed, or reordered",
          LOG_MODES)
def log_tamper(params: Params, mode: str) -> list[Outcome]:
    return shared("S23", params, mode)


# -- S24 -----------------------------------------------------------------------------------

def _history(directory: Path):
    world = audit_world(directory)
    receipts = _append(world, TRUNCATE_ENTRIES, "custodian", 3)
    world.log.close()
    return world, receipts


def _rollback(mode: str, k: int) -> Outcome:
    n = TRUNCATE_ENTRIES
    with tempfile.TemporaryDirectory() as tmp:
        world, receipts = _history(Path(tmp))
        path = world.log.store.path
        rewrite_tree(path, read_leaves(path)[: n - k], drop_checkpoints_above=n - k)
        world.log = rolled = world.reopen()
        size = rolled.size
        note = rolled.sign_checkpoint()  # the log key signs the smaller tree ...
        refused = 0
        for witness in world.witnesses:  # ... but no witness goes backwards
            try:
                witness.add_checkpoint(n, [], note.encode())
            except WitnessRollbackError:
                refused += 1
        try:
            rolled.checkpoint()
            quorum_refusals = []
        except QuorumError as exc:
            quorum_refusals = list(exc.refusals.values())
        newest = receipts[-1]  # a custodian's receipt for the last entry still verifies ...
        verify_receipt(newest, world.signer.verifier, world.quorum.verifiers, 2)
        detected, message = _detected(lambda: verify_log(
            rolled.store, world.signer.verifier, trusted_checkpoint=newest.checkpoint))
        world.close()
    holds = (size == n - k and refused == 3 and quorum_refusals
             and all("Rollback" in why for why in quorum_refusals) and detected)
    return Outcome("S24", mode, f"rollback k={k}", "witnesses refuse; the receipt holder "
                   "detects", bool(holds), {"detectable": ["witness", "log"]},
                   {"k": k, "entries": n, "size_after": size, "witnesses_refusing": refused,
                    "quorum_refusals": quorum_refusals, "message": message,
                    "receipt_verifies": True})


def _fork(mode: str, k: int) -> Outcome:
    n = TRUNCATE_ENTRIES
    with tempfile.TemporaryDirectory() as tmp:
        world, receipts = _history(Path(tmp))
        path = world.log.store.path
        regrown = read_leaves(path)[: n - k] + [b"replacement %d" % i for i in range(k + 3)]
        rewrite_tree(path, regrown, drop_checkpoints_above=-1)
        world.log = forked = world.reopen()
        note = forked.sign_checkpoint()
        refused = 0
        for witness in world.witnesses:
            try:
                witness.add_checkpoint(n, forked.store.consistency_proof(n), note.encode())
            except WitnessInconsistencyError:
                refused += 1
        try:
            forked.checkpoint()
            quorum_refused = False
        except QuorumError:
            quorum_refused = True
        evidence = Path(tmp) / "fork.json"
        detected, message = _detected(lambda: verify_log(
            forked.store, world.signer.verifier, world.quorum.verifiers, 2,
            trusted_checkpoint=receipts[-1].checkpoint, evidence_path=evidence))
        proof = check_misbehaviour_evidence(json.loads(evidence.read_text()),
                                            world.signer.verifier) if evidence.exists() else ""
        world.close()
    return Outcome("S24", mode, f"fork and regrow k={k}", "witnesses refuse; proven with "
                   "evidence", refused == 3 and quorum_refused and detected and bool(proof),
                   {"detectable": ["witness", "log"]},
                   {"k": k, "entries": n, "witnesses_refusing": refused, "message": message,
                    "evidence": proof})


def _witness_state(mode: str) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        world, _ = _history(Path(tmp))
        path = world.log.store.path
        before = [w.latest(world.signer.name) for w in world.witnesses]
        rewrite_tree(path, read_leaves(path)[:10], drop_checkpoints_above=10)
        world.log = rolled = world.reopen()
        try:
            rolled.checkpoint()
            refused = False
        except QuorumError:
            refused = True
        unchanged = [w.latest(world.signer.name) for w in world.witnesses] == before
        with LogStore(path) as store:
            size = store.size
        world.close()
    return Outcome("S24", mode, "witness state after refusals", "unchanged",
                   refused and unchanged, {"state_unchanged": unchanged},
                   {"refused": refused, "log_size": size})


@scenario("S24", "log-truncate", "the log rolls back, signs a smaller tree, forks and regrows",
          LOG_MODES)
def log_truncate(params: Params, mode: str) -> list[Outcome]:
    return shared("S24", params, mode)


# -- S25 -----------------------------------------------------------------------------------

def _view(signer, suffix: bytes, count: int) -> AuditLog:
    log = AuditLog(LogStore(":memory:", create=True), signer)
    log.append_batch([b"common %d" % i for i in range(SPLIT_PREFIX)])
    log.append_batch([suffix + b" %d" % i for i in range(count)])
    return log


def split_view(n: int, threshold: int, colluding: int):
    """Both views cosigned by a fresh quorum each (colluders forget the other view)."""
    clock = FixedClock()
    log_key = Signer.generate("split.scenario/log")
    signers = [Signer.generate(f"w{i}.test", SIG_TYPE_COSIGNATURE_V1, clock.now)
               for i in range(n)]
    honest = {s.name: Witness(s, [log_key.verifier], clock=clock) for s in signers[colluding:]}

    def witnesses_for():
        colluders = [Witness(s, [log_key.verifier], clock=clock) for s in signers[:colluding]]
        return colluders + list(honest.values())

    custodians = _view(log_key, b"release", 5)  # what custodians are shown
    auditors = _view(log_key, b"nothing to see", 6)  # what auditors are shown
    results = {}
    for name, view in (("custodians", custodians), ("auditors", auditors)):
        quorum = WitnessQuorum(witnesses_for(), threshold)
        try:
            results[name] = quorum.cosign(view.sign_checkpoint().encode(),
                                          view.store.consistency_proof)
        except QuorumError as exc:
            results[name] = exc
    return log_key, signers, set(honest), auditors, results


def _split(mode: str, n: int, threshold: int, colluding: int) -> Outcome:
    log_key, signers, honest, auditors, results = split_view(n, threshold, colluding)
    keys = [s.verifier for s in signers]
    first, second = results["custodians"], results["auditors"]
    verify_checkpoint(first.encode(), log_key.verifier, keys, threshold)  # always accepted
    details = {"n": n, "quorum": threshold, "colluding": colluding}
    if isinstance(second, QuorumError):
        refusers = set(second.refusals)
        details.update(refused_by_honest=refusers == honest,
                       inconsistency=all("Inconsistency" in why
                                         for why in second.refusals.values()))
        split = False
        detectable = "witness"
    else:
        verify_checkpoint(second.encode(), log_key.verifier, keys, threshold)
        cosigners = {s.name for s in parse_note(second.encode()).signatures[1:]}
        with tempfile.TemporaryDirectory() as tmp:
            evidence = Path(tmp) / "split.json"
            compared, message = _detected(lambda: verify_log(
                auditors.store, log_key.verifier, trusted_checkpoint=first.encode(),
                evidence_path=evidence))
            proof = check_misbehaviour_evidence(json.loads(evidence.read_text()),
                                                log_key.verifier) if evidence.exists() else ""
        details.update(honest_cosigners=len(cosigners & honest), detected_on_comparison=compared,
                       evidence=proof)
        split = True
        detectable = "log"
    expected_split = colluding >= threshold
    holds = split == expected_split and (
        details.get("refused_by_honest") and details.get("inconsistency") if not split
        else details["honest_cosigners"] == 0 and details["detected_on_comparison"])
    return Outcome("S25", mode, f"n={n} t={threshold} c={colluding}",
                   "split view succeeds only when some quorum has no honest witness",
                   bool(holds), {"forged_accepted": int(split), "detectable": detectable},
                   details)


def sweep(params: Params) -> list[tuple[int, int, int]]:
    sizes = (3, 5) if not params.full else (3, 5, 7)
    return [(n, t, c) for n in sizes for t in range(1, n + 1) for c in range(n + 1)]


@scenario("S25", "log-split-view", "the log shows custodians one view and auditors another",
          LOG_MODES)
def log_split_view(params: Params, mode: str) -> list[Outcome]:
    return shared("S25", params, mode)


@functools.cache
def _measure(scenario_id: str, params: Params) -> tuple[Outcome, ...]:
    """One measurement of a log scenario, labelled with the first escrow mode."""
    mode = LOG_MODES[0]
    if scenario_id == "S23":
        return tuple(_s23(mode, variant) for variant in S23_VARIANTS)
    if scenario_id == "S24":
        return (*(_rollback(mode, k) for k in ROLLBACKS), *(_fork(mode, k) for k in ROLLBACKS),
                _witness_state(mode))
    return tuple(_split(mode, n, t, c) for n, t, c in sweep(params))


def shared(scenario_id: str, params: Params, mode: str) -> list[Outcome]:
    """The run's one measurement of ``scenario_id``, reported under ``mode``."""
    return [dataclasses.replace(o, mode=mode, details={**o.details, "shared_by": LOG_MODES})
            for o in _measure(scenario_id, params)]
