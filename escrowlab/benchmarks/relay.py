"""``escrowlab bench relay``: end-to-end messages per second through the relay
(docs/benchmarks.md).

One message = encrypt (Double Ratchet), HTTP POST to the relay (signed request,
SQLite insert of archive and queue rows, commit), fetch by the recipient
(long-polling sync request that also acknowledges the previous batch), decrypt.
For 1, 10 and 50 concurrent pairs the load is open-loop: ``--rate`` messages/s
are offered in total (split evenly over the pairs, their schedules spread
evenly over one interval), message n of a pair is due at
``start + n / per_pair_rate`` and its latency runs from that due time
to just after its decryption, so queueing at the sender counts. Messages that
are due while the previous request is in flight leave together in one request
(:meth:`messaging.client.Device.flush`), as a client that falls behind would
send them. The rate is all messages over the wall time from the start to the
last decryption: when the relay keeps up it equals the offered load.
``--rate 0`` runs closed loop instead: every sender sends one message per
request back to back, latency from just before encryption.

The relay is ``escrowlab relay serve`` in its own process on 127.0.0.1 with 64
waitress threads (each long-polling receiver holds one) and a fresh SQLite file
in WAL mode with the relay's default ``synchronous=FULL`` (an fsync per commit:
acknowledged envelopes survive power loss; ``--sqlite-synchronous NORMAL``
measures the opt-in that only survives a killed relay), so client and server do
not share an interpreter lock. The clients run as threads of this process: on a
2-CPU machine the load generator and the relay each need about one CPU near 900
msgs/s. Sessions are set up before the clock starts (no PQXDH in the timed
part). ``inprocess_msgs_per_s`` is one pair sending and receiving in turns
without sockets.

Several relay processes (``--db postgresql://... --processes 1,2,4``): for each
process count P, P relays serve the one PostgreSQL database (a new, empty one:
the first process creates the schema) and pair i's sender talks to process
i mod P, its receiver to process i+1 mod P, so with P > 1 every delivery
crosses processes (a long poll woken by LISTEN/NOTIFY, docs/relay.md,
"Several relay processes"); the keys then carry ``_p{P}``.

JSON keys: ``http_msgs_per_s_{1,10,50}``, ``http_p50_ms_{1,10,50}``,
``http_p99_ms_{1,10,50}`` (``_p{P}`` appended with ``--processes``),
``inprocess_msgs_per_s``. Target: at least 1,500 messages/s offered and carried
with 50 pairs and p99 under 250 ms (in the JSON's ``targets``,
docs/benchmarks.md). No other relay is timed: the peers listed are the HTTP
server, web framework and database layer the relay runs on, with their versions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from escrowlab.arguments import float_in_range, int_in_range, int_list
from escrowlab.benchmarks import Peer, Progress, Target, document, print_document, show_verdicts
from messaging.client import Device
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport
from messaging.relay.schema import DEFAULT_SYNCHRONOUS
from messaging.transport import HttpTransport, Transport

PAIR_COUNTS = (1, 10, 50)
DEFAULT_MESSAGES = 200
DEFAULT_THREADS = 64
DEFAULT_RATE = 1500.0
MESSAGE_TEXT = "x" * 100
TARGET_MSGS_PER_S = 1500.0
TARGET_P99_MS = 250.0
POLL_WAIT = 2
MAX_MESSAGES = 1000
MAX_PAIRS = 200
MAX_THREADS = 1024
MAX_RATE = 100_000.0
MAX_PROCESSES = 16
TARGETS = (
    Target("http_msgs_per_s_50", ">=", TARGET_MSGS_PER_S, "50 pairs over HTTP"),
    Target("http_p99_ms_50", "<", TARGET_P99_MS, "50 pairs over HTTP"),
)
PEERS = (
    Peer("waitress", "the HTTP server the relay runs on (no other relay is timed)",
         "waitress"),
    Peer("Flask", "the relay's web framework", "flask"),
    Peer("SQLAlchemy", "the relay's database layer", "sqlalchemy"),
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "relay", help="end-to-end messages/s and latency through the HTTP relay on loopback",
        description=("Encrypt, send over HTTP, fetch, decrypt and acknowledge messages for 1, "
                     "10 and 50 concurrent client pairs against `escrowlab relay serve` on "
                     "127.0.0.1; print messages/s and p50/p99 latency, plus the in-process "
                     "rate."))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--messages", type=int_in_range(1, MAX_MESSAGES),
                        default=DEFAULT_MESSAGES, metavar="N",
                        help=f"messages per pair, 1..{MAX_MESSAGES} (default {DEFAULT_MESSAGES})")
    parser.add_argument("--threads", type=int_in_range(5, MAX_THREADS), default=DEFAULT_THREADS,
                        help=f"waitress threads of the relay, 5..{MAX_THREADS} (default "
                             f"{DEFAULT_THREADS}; at least the largest pair count + 4: "
                             "long-polling receivers each hold one)")
    parser.add_argument("--pairs", type=int_list(range(1, MAX_PAIRS + 1), "pair counts"),
                        default=PAIR_COUNTS, metavar="LIST",
                        help=f"comma-separated pair counts, each 1..{MAX_PAIRS} "
                             "(default 1,10,50)")
    parser.add_argument("--rate", type=float_in_range(0, MAX_RATE), default=DEFAULT_RATE,
                        metavar="MSGS_PER_S",
                        help=f"offered load over all pairs, 0..{MAX_RATE:g} (default "
                             f"{DEFAULT_RATE:g}); the "
                             "figures are what the relay delivers of it. 0: closed loop, each "
                             "sender sends one message per request back to back")
    parser.add_argument("--sqlite-synchronous", choices=("FULL", "NORMAL"),
                        default=DEFAULT_SYNCHRONOUS,
                        help="the relay's SQLite durability (default FULL, the relay's: an "
                             "fsync per commit, survives power loss; NORMAL: only a killed "
                             "relay)")
    parser.add_argument("--db", metavar="URL",
                        help="a new, EMPTY PostgreSQL database for the relays (default: a "
                             "temporary SQLite file); the benchmark creates the schema and "
                             "leaves its users and messages there")
    parser.add_argument("--processes", type=int_list(range(1, MAX_PROCESSES + 1),
                                                     "process counts"),
                        metavar="LIST",
                        help=f"comma-separated relay process counts, each 1..{MAX_PROCESSES}, "
                             "all serving --db (PostgreSQL only); default: one process")
    parser.set_defaults(func=run_command)


def default_args() -> argparse.Namespace:
    return argparse.Namespace(json=False, messages=DEFAULT_MESSAGES, threads=DEFAULT_THREADS,
                              pairs=PAIR_COUNTS, rate=DEFAULT_RATE,
                              sqlite_synchronous=DEFAULT_SYNCHRONOUS, db=None, processes=None,
                              func=run_command)


def quick_args() -> argparse.Namespace:
    """Tiny parameters for ``bench all --quick`` (checks that it runs; figures mean little)."""
    return argparse.Namespace(json=False, messages=5, threads=8, pairs=(1, 2),
                              rate=DEFAULT_RATE, sqlite_synchronous=DEFAULT_SYNCHRONOUS,
                              db=None, processes=None, func=run_command)


def collect(args: argparse.Namespace, progress: Progress | None = None) -> dict:
    """The benchmark's JSON document (figures, targets, peers)."""
    from escrowlab.cli import CommandError

    pairs = tuple(args.pairs)
    if args.threads < max(pairs) + 4:
        raise CommandError(f"--threads must be at least the largest pair count + 4 "
                           f"({max(pairs) + 4}): each long-polling receiver holds a thread")
    db, processes = getattr(args, "db", None), getattr(args, "processes", None)
    if processes and not (db or "").startswith("postgresql"):
        raise CommandError("--processes needs --db postgresql://...: several relay processes "
                           "serve one PostgreSQL database (a SQLite file has one writer)")
    if db and not db.startswith("postgresql"):
        raise CommandError("--db takes a PostgreSQL URL (the default is a temporary SQLite "
                           "file)")
    say = progress or Progress("relay")
    if processes:
        figures = run_processes(pairs, args.messages, args.threads, args.rate, db,
                                tuple(processes), say)
        figures["processes"] = list(processes)
    else:
        figures = run(pairs, args.messages, args.threads, args.rate, say,
                      args.sqlite_synchronous, db)
    figures["pairs"] = list(pairs)
    targets = TARGETS if not processes else tuple(
        Target(f"{t.figure}_p{processes[0]}", t.op, t.bound, f"{t.why}, "
               f"{processes[0]} process(es)") for t in TARGETS)
    return document("relay", figures, targets, PEERS)


def run_command(args: argparse.Namespace) -> int:
    return print_document(collect(args), args.json, show)


def show(doc: dict) -> None:
    _print_human(doc, tuple(doc["pairs"]))
    show_verdicts(doc)


def _context(messages: int, threads: int, offered: float) -> dict:
    return {"messages_per_pair": messages, "relay_threads": threads,
            "offered_msgs_per_s": offered or "closed loop",
            "load_average_before": round(os.getloadavg()[0], 2), "cpu_count": os.cpu_count()}


def run_processes(pairs: tuple[int, ...], messages: int, threads: int, offered: float,
                  db: str, processes: tuple[int, ...], say: Progress) -> dict:
    """The figures for each relay process count on the PostgreSQL database ``db``."""
    figures = _context(messages, threads, offered)
    figures["database"] = "PostgreSQL"
    RelayService(db, init=True).close()
    for count_p in processes:
        started = [_start_relay(db, threads) for _ in range(count_p)]
        try:
            urls = [url for _, url in started]
            for count in pairs:
                what = f"{count} pairs over HTTP, {count_p} relay processes"
                if offered:
                    say.expect(what, count * messages / offered)
                else:
                    say(what)
                transports = [HttpTransport(url) for url in urls]
                rate, latencies = _measure(transports, count, messages, f"p{count_p}h{count}",
                                           offered)
                _record(figures, f"_{count}_p{count_p}", rate, latencies)
        finally:
            for process, _ in started:
                _stop(process)
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    return figures


def _record(figures: dict, suffix: str, rate: float, latencies: list[float]) -> None:
    figures[f"http_msgs_per_s{suffix}"] = round(rate, 1)
    figures[f"http_p50_ms{suffix}"] = round(_percentile(latencies, 50), 2)
    figures[f"http_p99_ms{suffix}"] = round(_percentile(latencies, 99), 2)


def _stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(timeout=10)
    process.stdout.close()


def run(pairs: tuple[int, ...], messages: int, threads: int, offered: float = DEFAULT_RATE,
        progress: Progress | None = None, synchronous: str = DEFAULT_SYNCHRONOUS,
        db: str | None = None) -> dict:
    """Measure and return the figures (keys in the module docstring)."""
    say = progress or Progress("relay", enabled=False)
    figures = _context(messages, threads, offered)
    figures["sqlite"] = f"WAL, synchronous={synchronous}"
    if db:
        figures["database"] = "PostgreSQL"
        RelayService(db, init=True).close()
    with tempfile.TemporaryDirectory(prefix="escrowlab-bench-relay-") as tmp:
        process, url = _start_relay(db or f"sqlite:///{Path(tmp) / 'relay.sqlite'}", threads,
                                    synchronous)
        try:
            for count in pairs:
                what = f"{count} pairs over HTTP, {count * messages:,} messages"
                if offered:
                    say.expect(what, count * messages / offered)
                else:
                    say(what)
                rate, latencies = _measure([HttpTransport(url)], count, messages,
                                           f"h{count}", offered)
                _record(figures, f"_{count}", rate, latencies)
        finally:
            _stop(process)
        say(f"1 pair in process, {messages:,} messages")
        service = RelayService(f"sqlite:///{Path(tmp) / 'inprocess.sqlite'}")
        rate, _ = _measure([InProcessTransport(service)], 1, messages, "i")
        figures["inprocess_msgs_per_s"] = round(rate, 1)
        service.close()
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    return figures


def _start_relay(db_url: str, threads: int, synchronous: str = DEFAULT_SYNCHRONOUS
                 ) -> tuple[subprocess.Popen, str]:
    project_root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(project_root))
    process = subprocess.Popen(
        [sys.executable, "-m", "escrowlab.commands.relay", "serve", "--db", db_url, "--port", "0",
         "--threads", str(threads), "--sqlite-synchronous", synchronous, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("the relay did not start")
    return process, json.loads(line)["url"]


def _measure(transports: list[Transport], count: int, messages: int, tag: str,
             rate: float = 1.0) -> tuple[float, list[float]]:
    """Run ``count`` pairs of ``messages`` each, offering ``rate`` messages/s in total; pair
    i's sender uses transport i mod P and its receiver i+1 mod P; return the delivered
    msgs/s and the latencies in seconds."""
    pairs = []
    transport = transports[0]
    for i in range(count):
        sender = Device.create(f"{tag}s{i}", 1, transports[i % len(transports)],
                               one_time_prekeys=2, kem_prekeys=1)
        receiver = Device.create(f"{tag}r{i}", 1, transports[(i + 1) % len(transports)],
                                 one_time_prekeys=2, kem_prekeys=1)
        sender.send_text(receiver.user, "hello")
        receiver.receive_all()
        receiver.send_text(sender.user, "hello")
        sender.receive_all()
        pairs.append((sender, receiver))
    sent_at: dict[tuple[int, int], float] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    start_gate = threading.Barrier(2 * count + 1)
    polling = transport if isinstance(transport, HttpTransport) else None

    interval = count / rate if rate else 0.0

    def send(index: int, device: Device, peer: str) -> None:
        # Open loop (rate > 0): message n is due at start + n * interval whatever
        # happened to the ones before, and its latency counts from that due time,
        # so a relay that falls behind shows it in the latency (no coordinated
        # omission); messages due together go out in one request.
        # Closed loop (rate 0): one message per request, back to back.
        try:
            start_gate.wait()
            if not interval:
                for n in range(messages):
                    sent_at[(index, n)] = time.perf_counter()
                    device.send_text(peer, f"{n}:{MESSAGE_TEXT}")
                return
            start = time.perf_counter() + interval * index / count  # pairs out of phase
            n = 0
            while n < messages:
                now = time.perf_counter()
                due = min(messages, int((now - start) / interval) + 1)
                if due <= n:
                    time.sleep(start + n * interval - now)
                    continue
                while n < due:
                    sent_at[(index, n)] = start + n * interval
                    device.queue_text(peer, f"{n}:{MESSAGE_TEXT}")
                    n += 1
                device.flush()
        except BaseException as exc:
            errors.append(exc)

    def receive(index: int, device: Device) -> None:
        try:
            start_gate.wait()
            got = 0
            while got < messages and not errors:
                batch = device.receive(limit=200, wait=POLL_WAIT, defer_ack=True)
                now = time.perf_counter()
                with lock:
                    for message in batch:
                        n = int(message.body.split(":", 1)[0])
                        latencies.append(now - sent_at[(index, n)])
                got += len(batch)
            device.flush_acks()
        except BaseException as exc:
            errors.append(exc)

    if polling is None:
        return _measure_sequential(pairs, messages)
    threads = []
    for index, (sender, receiver) in enumerate(pairs):
        threads.append(threading.Thread(target=send, args=(index, sender, receiver.user)))
        threads.append(threading.Thread(target=receive, args=(index, receiver)))
    for t in threads:
        t.start()
    start_gate.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"benchmark failed: {errors[0]!r}") from errors[0]
    return count * messages / elapsed, latencies


def _measure_sequential(pairs, messages: int) -> tuple[float, list[float]]:
    """In process there is nothing to overlap: send and receive in turns of 10."""
    sender, receiver = pairs[0]
    began = time.perf_counter()
    got = 0
    for n in range(messages):
        sender.send_text(receiver.user, f"{n}:{MESSAGE_TEXT}")
        if n % 10 == 9 or n == messages - 1:
            got += len(receiver.receive_all())
    elapsed = time.perf_counter() - began
    if got != messages:
        raise RuntimeError(f"in-process benchmark lost messages: {got} of {messages}")
    return messages / elapsed, []


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1] * 1000 \
        if pct < 100 else max(values) * 1000


def _print_human(figures: dict, pairs: tuple[int, ...]) -> None:
    offered = figures["offered_msgs_per_s"]
    offered = f"{offered:g} msgs/s offered" if isinstance(offered, float) else offered
    database = (figures["database"] if "database" in figures else
                f"SQLite {figures['sqlite']}")
    print(f"relay benchmark: {offered}, {figures['messages_per_pair']} messages per pair, "
          f"{figures['relay_threads']} relay threads, {database}, "
          f"{figures['cpu_count']} CPUs")
    processes = figures.get("processes")
    columns = [("", "")] if not processes else [(f"_p{p}", f"{p} proc ") for p in processes]
    print(f"{'':>9}{'pairs':>6} {'msgs/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
    for suffix, label in columns:
        for count in pairs:
            key = f"_{count}{suffix}"
            print(f"{label:>9}{count:>6} {figures[f'http_msgs_per_s{key}']:>10.1f} "
                  f"{figures[f'http_p50_ms{key}']:>9.2f} {figures[f'http_p99_ms{key}']:>9.2f}")
    if "inprocess_msgs_per_s" in figures:
        print(f"in-process (1 pair): {figures['inprocess_msgs_per_s']:.1f} msgs/s")
    print(f"1-minute load average of this machine: {figures['load_average_before']} before, "
          f"{figures['load_average_after']} after (other work shares the CPUs)")
    if 50 in pairs and "http_msgs_per_s_50" in figures:
        rate, p99 = figures["http_msgs_per_s_50"], figures["http_p99_ms_50"]
        verdict = "meets" if rate >= TARGET_MSGS_PER_S and p99 < TARGET_P99_MS else "misses"
        print(f"target (50 pairs: >= {TARGET_MSGS_PER_S:.0f} msgs/s, p99 < "
              f"{TARGET_P99_MS:.0f} ms): {verdict}")
