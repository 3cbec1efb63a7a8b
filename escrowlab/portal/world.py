"""A world for the warrant portal (docs/portal.md, "Running it"): the demo's chats under
``threshold`` escrow in the relay's archive, one custodian node per custodian
(:mod:`authority_portal.custodian_node`, in process, each with its own store, copy of the
judge registry and its operator's public key), an audit log with three witnesses (quorum
2), judges' and operators' signing keys in files only they hold (PKCS#8 PEM, mode 0600, in
``holders/``: the stand-in for their own machines; the portal app is never given them), the
portal app and its demo accounts.

:func:`build` returns a :class:`PortalWorld`; its ``accounts`` carry the passwords and
TOTP keys, shown once by ``escrowlab portal`` and used by the tests. A portal over a
deployment whose parties each run as their own process is built by
:func:`escrowlab.portal.external.build_external` into the same :class:`PortalWorld`, with
the same demo accounts (:func:`seed_accounts`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from audit.log import AuditLog
from audit.note import Signer, Verifier
from audit.quorum import WitnessQuorum
from audit.witness import Witness
from authority_portal.app import create_app
from authority_portal.app.auditing import PortalLog
from authority_portal.app.custodians import NodeCustodians
from authority_portal.app.seed import Account, create_account
from authority_portal.custodian_node.app import make_node_server, serve, server_port
from authority_portal.custodian_node.client import HttpClient, InProcessClient
from authority_portal.custodian_node.log_check import LogTrust
from authority_portal.custodian_node.node import CustodianNode
from authority_portal.custodian_node.operator import key_file
from authority_portal.custodian_node.store import NodeStore
from authority_portal.warrants.judges import Judge, JudgeRegistry
from authority_portal.warrants.policy import ParticularityPolicy
from escrow.modes import get_mode
from escrow.workflow import LawfulAccess
from escrowlab.demo import Narrator, build_world, close_world, run_direct_chat, run_group_chat
from messaging.clock import Clock, SystemClock

LOG_ORIGIN = "portal.escrowlab.org/log"
DOMAIN = "portal.escrowlab.org"
JUDGES = ("judge-1", "judge-2")
WITNESSES = 3
QUORUM = 2
JURISDICTION = "JA"
HOLDERS = "holders"


@dataclass
class PortalWorld:
    app: Flask
    accounts: dict[str, Account] = field(repr=False)
    judge_key_files: dict[str, Path]
    operator_key_files: dict[str, Path]
    """Each operator account's key file (``operator-1`` ...), for the operator's browser or
    ``escrowlab custodian sign-request``."""
    nodes: dict[str, CustodianNode] = field(repr=False)
    """The in-process nodes (none when the portal reaches a deployment's own processes,
    :mod:`escrowlab.portal.external`)."""
    conversation_id: str
    archive_times: tuple[float, float]
    directory: Path
    log: PortalLog
    _closers: list = field(default_factory=list, repr=False)

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()


def build(directory: Path, *, messages: int = 6, custodians: int = 5, threshold: int = 3,
          database_url: str | None = None, clock: Clock | None = None,
          config: dict | None = None, http_nodes: bool = False) -> PortalWorld:
    """Chats, custodians, log, app and accounts, with every file under ``directory``.
    ``http_nodes``: each node is served over HTTP on loopback (waitress, in a thread) and
    the portal reaches it through :class:`~authority_portal.custodian_node.client.HttpClient`
    instead of calling it in process."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    clock = clock or SystemClock()
    deployment = get_mode("threshold").deployment(custodians=custodians, threshold=threshold)
    args = argparse.Namespace(http=False, messages=messages)
    quiet = Narrator(io.StringIO(), enabled=False)
    chats = build_world(args, quiet, hook_for=deployment.hook_for)
    closers = [lambda: close_world(chats)]
    direct = run_direct_chat(chats, quiet, messages)
    run_group_chat(chats, quiet, messages)
    archive = chats.relay.archive
    times = sorted(e.received_at for e in archive.entries(direct["conversation_id"]))

    signer = Signer.generate(LOG_ORIGIN)
    witnesses = [Witness.generate(f"witness-{i}.{DOMAIN}", [signer.verifier],
                                  directory / f"witness-{i}.db", clock)
                 for i in range(1, WITNESSES + 1)]
    log = AuditLog.open(directory / "audit.db", signer, clock=clock,
                        quorum=WitnessQuorum(witnesses, QUORUM))
    closers += [w.close for w in witnesses] + [log.close]
    portal_log = PortalLog(log, [w.verifier for w in witnesses], QUORUM)

    holders = directory / HOLDERS
    holders.mkdir(mode=0o700, exist_ok=True)
    judge_keys = {name: Ed25519PrivateKey.generate() for name in JUDGES}
    key_files = {name: _key_file(holders / f"{name}.pem", key)
                 for name, key in judge_keys.items()}
    registry = {name: key.public_key().public_bytes_raw() for name, key in judge_keys.items()}
    judges = JudgeRegistry(Judge(name, JURISDICTION, Verifier(name, raw))
                           for name, raw in registry.items())
    policy = ParticularityPolicy()
    trust = LogTrust(signer.verifier, tuple(w.verifier for w in witnesses), QUORUM)
    operator_keys = {party: Ed25519PrivateKey.generate() for party in deployment.parties}
    operator_files = {f"operator-{number}": _key_file(holders / f"operator-{number}.pem",
                                                      operator_keys[party])
                      for number, party in enumerate(deployment.parties, start=1)}
    stores = []
    nodes = {}
    for custodian in deployment.custodians:
        store = NodeStore(directory / f"node-{custodian.custodian_id}.db",
                          custodian.custodian_id)
        stores.append(store)
        # each node holds its own copy of the judge registry, not the portal's, and only
        # the public key of its operator
        nodes[custodian.custodian_id] = CustodianNode(
            custodian, deployment.custodian_set, JudgeRegistry.loads(judges.encode()), policy,
            archive, portal_log, trust,
            operator_keys[custodian.custodian_id].public_key().public_bytes_raw(), clock, store)
    del operator_keys  # the portal below is built without any of them
    closers += [store.close for store in stores]
    clients = {n: _served(node, closers) if http_nodes else InProcessClient(node)
               for n, node in nodes.items()}
    custodians = NodeCustodians(clients, LawfulAccess(deployment, archive))
    app = create_app({
        "PORTAL_CUSTODIANS": custodians, "PORTAL_LOG": portal_log, "PORTAL_CLOCK": clock,
        "PORTAL_JUDGES": judges, "PORTAL_PARTICULARITY": policy,
        "PORTAL_DATABASE_URL": database_url or f"sqlite:///{directory / 'portal.db'}",
        **(config or {})})
    closers.append(app.extensions["portal"].engine.dispose)
    operators = {f"operator-{number}": custodian_id
                 for number, custodian_id in enumerate(custodians.ids, start=1)}
    accounts = seed_accounts(app, registry, operators)
    return PortalWorld(app, accounts, key_files, operator_files, nodes,
                       direct["conversation_id"], (times[0], times[-1]), directory, portal_log,
                       closers)


def seed_accounts(app: Flask, judges: dict[str, bytes],
                  operators: dict[str, str]) -> dict[str, Account]:
    """The demo accounts (docs/portal.md, "Demo accounts"): two officers, a judge account
    per judge of ``judges`` (name -> Ed25519 public key), an operator account per entry of
    ``operators`` (account name -> the custodian id of the node it operates), an auditor
    and two admins; their passwords and TOTP keys, to be shown once."""
    accounts = {}

    def add(name, roles, **extra):
        accounts[name] = create_account(app, f"{name}@{DOMAIN}", roles, **extra)

    for name in ("officer-1", "officer-2"):
        add(name, ("officer",))
    for name, key in judges.items():
        add(name, ("judge",), judge_key=key)
    for name, custodian_id in operators.items():
        add(name, ("custodian",), custodian_id=custodian_id)
    add("auditor-1", ("auditor",))
    for name in ("admin-1", "admin-2"):
        add(name, ("admin",))
    return accounts


def _served(node: CustodianNode, closers: list) -> HttpClient:
    """``node`` served on a free loopback port in a daemon thread; its HTTP client."""
    server = make_node_server(node)
    threading.Thread(target=_serve_until_closed, args=(server,), daemon=True).start()
    closers.append(server.close)
    return HttpClient(f"http://127.0.0.1:{server_port(server)}")


def _serve_until_closed(server) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(OSError, ValueError):  # the closer shuts the socket under it
        serve(server)


def _key_file(path: Path, key: Ed25519PrivateKey) -> Path:
    path.write_bytes(key_file(key))
    path.chmod(0o600)
    return path
