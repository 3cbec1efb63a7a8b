"""``escrowlab bench audit``: the audit log at scale (default 1,000,000 entries).

Builds a log of N canonical entries with batched appends, then measures at size N:
durable single appends from one client (one transaction each, fsync'ed: the WAL is synced
before the append returns, so it survives power loss) and from 16 concurrent clients
(threads sharing transactions and fsyncs by group commit, each append returned only once
durable), with p99 latencies, the same with ``durability="process"`` (not
fsync'ed: survives a process crash, an OS crash or power loss may drop the last
commits), restart (reopen the store), RFC 9162 inclusion and consistency proof
generation (p95 over random queries), inclusion proof verification, and a full offline
verification (every leaf and node recomputed, checkpoint signatures and 2-of-3 witness
quorum checked).

JSON keys: ``single_appends_per_s`` (fsync'ed, one client), ``single_append_p99_ms``,
``concurrent_appends_per_s`` and ``concurrent_append_p99_ms`` (16 clients),
``leaves_per_commit`` (concurrent run), ``batch_appends_per_s``,
``inclusion_p95_ms``, ``consistency_p95_ms``, ``verify_us``, ``restart_ms``,
``full_verify_s`` (plus context: ``entries``, ``durability``,
``single_appends_per_s_process`` for the unsynced mode, ``entry_encode_us`` for RFC 8785
encoding, which the append figures exclude, and ``load_average``, as the machine may be
shared). Anchors: Tessera about 2,900 entries/s on a local disk; pymerkle (SQLite) about
1.9 s to restart and up to 241 ms p95 per inclusion proof at 1M entries.

Targets (docs/benchmarks.md): the ``TARGETS`` below. Peers: those two published
anchors (not measured here; a version only if the package is installed), and the
SQLite library version in ``sqlite_version``.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from escrowlab.arguments import int_in_range
from escrowlab.benchmarks import Peer, Progress, Target, document, print_document, show_verdicts
from escrowlab.cli import CommandError

DEFAULT_ENTRIES = 1_000_000
BATCH = 10_000
PROOF_QUERIES = 2000
CLIENTS = 16
TARGETS = {
    "single_appends_per_s": (">=", 5000),
    "concurrent_appends_per_s": (">=", 10_000),
    "batch_appends_per_s": (">=", 50_000),
    "inclusion_p95_ms": ("<", 1.0),
    "consistency_p95_ms": ("<", 1.0),
    "restart_ms": ("<", 100.0),
    "full_verify_s": ("<", 30.0),
}
MAX_ENTRIES = 10_000_000
MAX_SINGLES = 1_000_000
PEERS = (
    Peer("Tessera", "published anchor: about 2,900 entries/s on a local disk (not measured "
                    "here)"),
    Peer("pymerkle", "published anchor: SQLite backend, 1.9 s restart and 241 ms p95 "
                     "inclusion proof at 1M entries (not measured here)", "pymerkle"),
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "audit", help="audit log appends, proofs, restart and full verification at N entries",
        description=__doc__.split("\n\n")[1])
    parser.add_argument("--entries", type=int_in_range(2, MAX_ENTRIES), default=DEFAULT_ENTRIES,
                        help=f"log size N, 2..{MAX_ENTRIES:,} (default {DEFAULT_ENTRIES:,})")
    parser.add_argument("--singles", type=int_in_range(1, MAX_SINGLES), default=5000,
                        help=f"single appends to time in each durability mode, "
                             f"1..{MAX_SINGLES:,} (default 5000)")
    parser.add_argument("--dir", metavar="DIR", help="where to build the log, in a new file "
                                                     "bench-N.db (default: a temporary "
                                                     "directory, removed after)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def default_args() -> argparse.Namespace:
    return argparse.Namespace(entries=DEFAULT_ENTRIES, singles=5000, dir=None, json=False,
                              func=run)


def _entry_bytes(i: int) -> bytes:
    # Byte-identical to Entry(...).encode() (RFC 8785) for these simple fields; checked below.
    return (
        f'{{"actor":"officer:{i % 97}","payload":{{"case":"case-{i // 10}","warrant":"w-{i}"}},'
        f'"time":{1_700_000_000_000 + i},"type":"warrant.filed","v":1}}'
    ).encode()


def _quantile(samples: list[float], q: float) -> float:
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(q * len(samples)))]


def _p95(samples: list[float]) -> float:
    return _quantile(samples, 0.95)


def _concurrent_appends(store, items: list[bytes], clients: int) -> tuple[float, list[float]]:
    """Appends/s and per-append latencies (ms) of ``clients`` threads appending ``items``."""
    import threading
    shares = [items[i::clients] for i in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        start.wait()
        own = latencies[number]
        for item in shares[number]:
            t0 = time.perf_counter()
            store.append(item)
            own.append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    return len(items) / elapsed, [x for own in latencies for x in own]


def quick_args() -> argparse.Namespace:
    """Tiny parameters for ``bench all --quick`` (checks that it runs; figures mean little)."""
    return argparse.Namespace(entries=300, singles=20, dir=None, json=False, func=run)


def collect(args: argparse.Namespace, progress: Progress | None = None) -> dict:
    """The benchmark's JSON document (figures, targets, peers)."""
    progress = progress or Progress("audit")
    if args.dir:
        try:
            Path(args.dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot use --dir {args.dir}: {exc.strerror}") from None
        figures = _measure(args, Path(args.dir), progress)
    else:
        with tempfile.TemporaryDirectory(prefix="escrowlab-bench-audit-") as tmp:
            figures = _measure(args, Path(tmp), progress)
    targets = [Target(key, op, bound) for key, (op, bound) in TARGETS.items()]
    return document("audit", figures, targets, PEERS)


def run(args: argparse.Namespace) -> int:
    return print_document(collect(args), args.json, show)


def _measure(args: argparse.Namespace, workdir: Path, say: Progress) -> dict:
    from audit.entries import Entry
    from audit.log import AuditLog
    from audit.note import Signer
    from audit.proof import verify_inclusion
    from audit.quorum import WitnessQuorum
    from audit.rfc9162 import hash_leaf
    from audit.storage import LogStore
    from audit.verifier import verify_log
    from audit.witness import Witness

    sample = Entry("warrant.filed", "officer:5", 1_700_000_000_005,
                   {"case": "case-0", "warrant": "w-5"})
    if sample.encode() != _entry_bytes(5):
        raise CommandError("internal: benchmark entry template is not canonical")
    t0 = time.perf_counter()
    for i in range(1000):
        Entry("warrant.filed", "officer:1", i, {"case": "c", "warrant": str(i)}).encode()
    encode_us = (time.perf_counter() - t0) * 1000

    path = workdir / f"bench-{args.entries}.db"
    existing = [p for p in (Path(str(path) + s) for s in ("", "-wal", "-shm")) if p.exists()]
    if existing:
        raise CommandError(f"{existing[0]} already exists; bench audit builds its log only in "
                           "a new file (remove it or choose another --dir; nothing was changed)")
    n = args.entries
    store = LogStore(path, create=True)
    say(f"building a log of {n:,} entries in {path}")
    batch_time = 0.0
    batches = -(-n // BATCH)
    say.step("batches appended", 0, batches)
    for number, start in enumerate(range(0, n, BATCH), 1):
        batch = [_entry_bytes(i) for i in range(start, min(n, start + BATCH))]
        t0 = time.perf_counter()
        store.append_batch(batch)
        batch_time += time.perf_counter() - t0
        if number % 10 == 0 or number == batches:
            say.step("batches appended", number, batches, f"{min(n, start + BATCH):,} entries")
    batch_rate = n / batch_time

    singles = args.singles
    say(f"timing {singles:,} fsync'ed single appends, then {singles:,} unsynced")
    items = [_entry_bytes(i) for i in range(n, n + singles)]
    single_latencies = []
    t0 = time.perf_counter()
    for item in items:
        t1 = time.perf_counter()
        store.append(item)
        single_latencies.append((time.perf_counter() - t1) * 1000)
    single_rate = singles / (time.perf_counter() - t0)
    say(f"timing {singles:,} fsync'ed appends from {CLIENTS} concurrent clients")
    items = [_entry_bytes(i) for i in range(n + singles, n + 2 * singles)]
    commits_before = store.group_commits
    concurrent_rate, concurrent_latencies = _concurrent_appends(store, items, CLIENTS)
    leaves_per_commit = singles / max(1, store.group_commits - commits_before)
    store.close()
    unsynced = LogStore(path, durability="process")
    items = [_entry_bytes(i) for i in range(n + 2 * singles, n + 3 * singles)]
    t0 = time.perf_counter()
    for item in items:
        unsynced.append(item)
    process_rate = singles / (time.perf_counter() - t0)
    unsynced.close()

    restarts = []
    for _ in range(5):
        t0 = time.perf_counter()
        store = LogStore(path)
        root = store.root()
        restarts.append((time.perf_counter() - t0) * 1000)
        if _ != 4:
            store.close()
    size = store.size
    say(f"log has {size:,} entries; restart {min(restarts):.1f} ms; timing proofs")

    rng = random.Random(9162)
    incl, cons, proofs = [], [], []
    for _ in range(PROOF_QUERIES):
        index = rng.randrange(size)
        t0 = time.perf_counter()
        proof = store.inclusion_proof(index, size)
        incl.append((time.perf_counter() - t0) * 1000)
        proofs.append((index, proof))
        old = rng.randrange(1, size)
        t0 = time.perf_counter()
        store.consistency_proof(old, size)
        cons.append((time.perf_counter() - t0) * 1000)
    leaf_hashes = [hash_leaf(store.leaf(i)) for i, _ in proofs]
    t0 = time.perf_counter()
    for (index, proof), leaf_hash in zip(proofs, leaf_hashes, strict=True):
        verify_inclusion(index, size, leaf_hash, proof, root)
    verify_us = (time.perf_counter() - t0) / len(proofs) * 1e6

    signer = Signer.generate("bench.escrowlab.example/audit")
    witnesses = [Witness.generate(f"witness-{i}.example", [signer.verifier]) for i in range(3)]
    quorum = WitnessQuorum(witnesses, 2)
    log = AuditLog(store, signer, quorum=quorum)
    log.checkpoint()
    say(f"full verification of {size:,} entries")
    t0 = time.perf_counter()
    verify_log(store, signer.verifier, quorum.verifiers, 2)
    full_verify_s = time.perf_counter() - t0
    store.close()

    figures = {
        "single_appends_per_s": round(single_rate),
        "single_append_p99_ms": round(_quantile(single_latencies, 0.99), 3),
        "concurrent_appends_per_s": round(concurrent_rate),
        "concurrent_append_p99_ms": round(_quantile(concurrent_latencies, 0.99), 3),
        "leaves_per_commit": round(leaves_per_commit, 1),
        "batch_appends_per_s": round(batch_rate),
        "inclusion_p95_ms": round(_p95(incl), 4),
        "consistency_p95_ms": round(_p95(cons), 4),
        "verify_us": round(verify_us, 2),
        "restart_ms": round(sorted(restarts)[len(restarts) // 2], 3),
        "full_verify_s": round(full_verify_s, 3),
        "entries": size,
        "durability": "power (WAL, synchronous=FULL: fsync per append)",
        "single_appends_per_s_process": round(process_rate),
        "entry_encode_us": round(encode_us, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "sqlite_version": sqlite3.sqlite_version,
    }
    return figures


def show(figures: dict) -> None:
    size = figures["entries"]
    print(f"audit log benchmark at {size:,} entries ({figures['durability']})")
    for key, value in figures.items():
        if key in ("benchmark", "entries", "durability", "load_average", "sqlite_version",
                   "targets", "targets_met", "peers"):
            continue
        target = TARGETS.get(key)
        note = ""
        if target:
            op, bound = target
            met = value >= bound if op == ">=" else value < bound
            note = f"  (target {op} {bound:,}: {'met' if met else 'MISSED'})"
        print(f"  {key:<28} {value:>14,}{note}")
    print(f"  load average {figures['load_average']} (a shared machine slows every figure)")
    print("  anchors: Tessera ~2,900 entries/s; pymerkle (SQLite, 1M) ~1.9 s restart, "
          "241 ms p95 inclusion proof")
    show_verdicts(figures)
