"""``escrowlab bench portal``: latency of the warrant lifecycle endpoints under concurrent
clients (docs/benchmarks.md).

The portal of ``escrowlab portal`` (five in-process custodian nodes, t = 3, a witnessed
log) is served by waitress on 127.0.0.1; ``--clients`` threads (default 20) each run
``--cases`` whole cases over HTTP: the officer files, the judge fetches the statement and
posts a signature, three operators each fetch their node's release request and post their
signature over it, made with their own key file (the third approval runs the recovery),
the officer opens the recovered view. The clients run in a separate process (started with
``spawn``), so that their HTTP, JSON and signing work does not compete with the served
portal for one interpreter lock: the figures are the portal's. Sign-in happens once per
account before the clock starts; the rate limits are raised so that they do not throttle
the measurement.

Figures: ``p50_ms`` and ``p99_ms`` per endpoint (``endpoints``), ``p50_ms_all`` and
``p99_ms_all`` over every timed request, ``requests``, ``requests_per_s``,
``last_approval_to_view_ms_p50`` (the third approval, which recovers, plus opening the
view), ``clients`` and ``cases``. Then one case alone on a second world whose five nodes
are served over HTTP on loopback (t = 3, the window a day of the demo's chats):
``http_nodes_last_approval_to_view_ms`` (median of ``HTTP_CASES`` cases), split into
``http_nodes_release_ms`` (an approval that only sends the node its signed request: the
node's own checks, its log proofs and its logged release, over HTTP), ``http_nodes_recovery_ms``
(what the third approval adds: the recovery) and ``http_nodes_view_ms`` (opening the
logged recovered view), with each one's ``_share``. Targets: ``p99_ms_all`` < 100 ms and
``http_nodes_last_approval_to_view_ms`` < 2,000 ms.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from authority_portal.custodian_node.operator import load_key
from escrowlab.arguments import int_in_range
from escrowlab.benchmarks import Peer, Target, document, print_document, show_verdicts
from escrowlab.portal.server import PortalServer
from escrowlab.portal.session import Credentials, PortalSession, PortalSessionError
from escrowlab.portal.world import build

DEFAULT_CLIENTS = 20
DEFAULT_CASES = 3
TARGET_P99_MS = 100.0
LIMITS = {"login": "100000 per minute", "totp": "100000 per minute",
          "approval": "100000 per minute"}
TARGET_TO_VIEW_MS = 2000.0
HTTP_CASES = 3
TARGETS = (Target("p99_ms_all", "<", TARGET_P99_MS, "every lifecycle request, 20 clients"),
           Target("http_nodes_last_approval_to_view_ms", "<", TARGET_TO_VIEW_MS,
                  "last approval to the decrypted view, 5 HTTP nodes, t = 3"))
PEERS = (
    Peer("waitress", "the HTTP server the portal runs on", "waitress"),
    Peer("Flask", "the portal's web framework", "flask"),
    Peer("Flask-Security-Too", "sessions and roles on every request", "flask-security-too"),
)
OPERATORS = ("operator-1", "operator-2", "operator-3")
ROLES = ("officer-1", "judge-1", *OPERATORS)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "portal", help="p50/p99 of the warrant lifecycle endpoints under concurrent clients",
        description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--clients", type=int_in_range(1, 64), default=DEFAULT_CLIENTS,
                        help=f"concurrent clients, 1..64 (default {DEFAULT_CLIENTS})")
    parser.add_argument("--cases", type=int_in_range(1, 100), default=DEFAULT_CASES,
                        help=f"whole cases per client, 1..100 (default {DEFAULT_CASES})")
    parser.set_defaults(func=run_command)


def default_args() -> argparse.Namespace:
    return argparse.Namespace(json=False, clients=DEFAULT_CLIENTS, cases=DEFAULT_CASES,
                              func=run_command)


def quick_args() -> argparse.Namespace:
    """Tiny parameters for ``bench all --quick`` (checks that it runs; figures mean little)."""
    return argparse.Namespace(json=False, clients=2, cases=1, func=run_command)


@dataclass(frozen=True)
class Drive:
    """What the client process needs (picklable): the portal's URL, each role's
    credentials, the judge's and operators' key files as their holders read them, and the
    conversation and window the officer files for."""

    url: str
    credentials: dict[str, Credentials]
    judge_key: bytes = field(repr=False)
    operator_keys: dict[str, bytes] = field(repr=False)
    conversation_id: str
    archive_times: tuple[float, float]


def _case(sessions: dict, drive: Drive, key, operator_keys: dict, timings: dict,
          lock: threading.Lock) -> tuple[list[float], float]:
    def timed(name, who, method, path, body=None):
        started = time.perf_counter()
        try:
            answer = sessions[who].call(method, path, body)
        except PortalSessionError as exc:
            raise RuntimeError(f"{name}: {exc}") from None
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            timings[name].append(elapsed)
        return answer, elapsed

    start, end = drive.archive_times
    filed, _ = timed("file", "officer-1", "POST", "/api/v1/officer/warrants", {
        "agency": "Bench", "jurisdiction": "JA", "conversation_id": drive.conversation_id,
        "window_start": start, "window_end": (start + end) / 2, "validity_days": 10,
        "legal_basis": "benchmark"})
    reference = filed["reference"]
    timed("list", "officer-1", "GET", "/api/v1/officer/warrants")
    timed("show", "officer-1", "GET", f"/api/v1/officer/warrants/{reference}")
    statement, _ = timed("statement", "judge-1", "GET",
                         f"/api/v1/judge/warrants/{reference}/statement")
    signature = key.sign(base64.b64decode(statement["statement"]))
    timed("sign", "judge-1", "POST", f"/api/v1/judge/warrants/{reference}/signature",
          {"signature": base64.b64encode(signature).decode()})
    approvals = []
    for operator in OPERATORS:
        request, _ = timed("release_request", operator, "GET",
                           f"/api/v1/custodian/warrants/{reference}/request")
        signature = operator_keys[operator].sign(base64.b64decode(request["request"]))
        _, elapsed = timed("approve", operator, "POST",
                           f"/api/v1/custodian/warrants/{reference}/approval",
                           {"signature": base64.b64encode(signature).decode()})
        approvals.append(elapsed)
    _, view = timed("recovered", "officer-1", "GET",
                    f"/api/v1/officer/warrants/{reference}/recovered")
    return approvals, view


def _drive(drive: Drive, clients: int, cases: int) -> dict:
    """In the client process: sign each role in once, then ``clients`` threads each run
    ``cases`` whole cases; every request's time, each case's (approvals, view), the errors
    and the wall time of the timed part."""
    sessions = {name: PortalSession(drive.url, creds) for name, creds in
                drive.credentials.items()}
    key = serialization.load_pem_private_key(drive.judge_key, None)
    operator_keys = {name: load_key(pem) for name, pem in drive.operator_keys.items()}
    timings: dict[str, list[float]] = defaultdict(list)
    finished: list[tuple[list[float], float]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker():
        for _ in range(cases):
            try:
                done = _case(sessions, drive, key, operator_keys, timings, lock)
            except (RuntimeError, OSError) as exc:
                errors.append(str(exc))
                return
            with lock:
                finished.append(done)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"timings": dict(timings), "cases": finished, "errors": errors,
            "wall": time.perf_counter() - started}


@contextlib.contextmanager
def _served_world(threads: int, http_nodes: bool = False):  # type: ignore[no-untyped-def]
    """A portal world served on loopback and what its clients need (:class:`Drive`)."""
    with tempfile.TemporaryDirectory(prefix="escrowlab-bench-portal-") as folder:
        world = build(Path(folder), config={"PORTAL_RATE_LIMITS": LIMITS},
                      http_nodes=http_nodes)
        server = PortalServer(world.app, threads=threads)
        try:
            yield Drive(server.url, {name: _credentials(world.accounts[name]) for name in ROLES},
                        world.judge_key_files["judge-1"].read_bytes(),
                        {name: world.operator_key_files[name].read_bytes()
                         for name in OPERATORS},
                        world.conversation_id, world.archive_times)
        finally:
            server.stop()
            world.close()


def _in_client_process(drive: Drive, clients: int, cases: int) -> dict:
    """:func:`_drive` in a separate interpreter, so that the clients' HTTP, JSON and
    signing work does not share the served portal's interpreter lock (module
    docstring)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        done = pool.submit(_drive, drive, clients, cases).result()
    if done["errors"]:
        raise RuntimeError(f"bench portal: {len(done['errors'])} case(s) failed: "
                           f"{done['errors'][0]}")
    return done


def run(clients: int, cases: int) -> dict:
    with _served_world(threads=max(8, clients)) as drive:
        done = _in_client_process(drive, clients, cases)
    timings = done["timings"]
    every = [t for values in timings.values() for t in values]
    to_view = [approvals[-1] + view for approvals, view in done["cases"]]
    return {
        **_http_nodes(cases=HTTP_CASES if cases > 1 else 1),
        "clients": clients, "cases": cases, "requests": len(every),
        "requests_per_s": round(len(every) / done["wall"], 1),
        "p50_ms_all": round(_percentile(every, 50), 2),
        "p99_ms_all": round(_percentile(every, 99), 2),
        "last_approval_to_view_ms_p50": round(_percentile(to_view, 50), 2),
        "endpoints": {name: {"count": len(values), "p50_ms": round(_percentile(values, 50), 2),
                             "p99_ms": round(_percentile(values, 99), 2)}
                      for name, values in sorted(timings.items())},
    }


def _http_nodes(cases: int) -> dict:
    """One case at a time on a world whose nodes are served over HTTP (module docstring)."""
    releases, recoveries, views, totals = [], [], [], []
    with _served_world(threads=4, http_nodes=True) as drive:
        done = _in_client_process(drive, 1, cases)
    for approvals, view in done["cases"]:
        release = sum(approvals[:-1]) / len(approvals[:-1])
        releases.append(release)
        recoveries.append(max(0.0, approvals[-1] - release))
        views.append(view)
        totals.append(approvals[-1] + view)
    total = _percentile(totals, 50)
    parts = {"release": _percentile(releases, 50), "recovery": _percentile(recoveries, 50),
             "view": _percentile(views, 50)}
    out = {"http_nodes_cases": cases, "http_nodes_last_approval_to_view_ms": round(total, 2)}
    for name, value in parts.items():
        out[f"http_nodes_{name}_ms"] = round(value, 2)
        out[f"http_nodes_{name}_share"] = round(value / total, 3) if total else 0.0
    return out


def _credentials(account) -> Credentials:
    return Credentials(account.email, account.password, account.totp)


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank]


def collect(args: argparse.Namespace) -> dict:
    return document("portal", run(args.clients, args.cases), TARGETS, PEERS)


def run_command(args: argparse.Namespace) -> int:
    return print_document(collect(args), args.json, show)


def show(doc: dict) -> None:
    print(f"portal lifecycle over HTTP, {doc['clients']} clients x {doc['cases']} cases: "
          f"{doc['requests']} requests, {doc['requests_per_s']} req/s")
    print(f"  all requests: p50 {doc['p50_ms_all']} ms, p99 {doc['p99_ms_all']} ms; last "
          f"approval to the decrypted view p50 {doc['last_approval_to_view_ms_p50']} ms")
    for name, figures in doc["endpoints"].items():
        print(f"  {name:<10} n={figures['count']:<4} p50 {figures['p50_ms']:>8} ms  "
              f"p99 {figures['p99_ms']:>8} ms")
    print(f"  5 HTTP nodes, t = 3, one case at a time: last approval to the view "
          f"{doc['http_nodes_last_approval_to_view_ms']} ms = a node's release "
          f"{doc['http_nodes_release_ms']} ms ({doc['http_nodes_release_share']:.0%}) + "
          f"recovery {doc['http_nodes_recovery_ms']} ms ({doc['http_nodes_recovery_share']:.0%})"
          f" + view {doc['http_nodes_view_ms']} ms ({doc['http_nodes_view_share']:.0%})")
    show_verdicts(doc)
