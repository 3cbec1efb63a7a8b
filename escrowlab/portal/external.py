"""The warrant portal over a deployment's own services (docs/portal.md, "Running it: one
process per party"): custodian nodes, the audit log and its witnesses each run as their own
process (the commands of :mod:`escrowlab.portal.services`), and the portal reaches them.

:func:`build_external` checks, before it serves anything, that every node URL answers as a
node of the deployment's custodian set (its id is a member, its set fingerprint is the
set's, its operator key is the one the deployment registered for it, no node twice, at
least the threshold of them) and that the log URL serves a log signed by the deployment's
log key. It then builds the portal app with :class:`HttpClient` for each node, the relay
archive opened read-only, and the log as :meth:`PortalLog.served`: appended to as the
appender ``portal``, read from the log's file (:mod:`authority_portal.app.auditing`). The
portal holds no custodian's, operator's, judge's or log's private key; it seeds the demo
accounts, an operator account for each node it was given.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from flask import Flask

import strictjson
from audit.clock import SystemClock as AuditClock
from audit.errors import AuditError
from audit.http.log_client import HttpLog
from audit.keyfile import read_signer
from audit.note import SIG_TYPE_ED25519, Verifier, parse_note
from audit.storage import LogStore
from authority_portal.app import create_app
from authority_portal.app.auditing import PortalLog
from authority_portal.app.custodians import NodeCustodians
from authority_portal.custodian_node.client import HttpClient
from authority_portal.custodian_node.errors import NodeError
from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.judges import JudgeRegistry
from authority_portal.warrants.policy import ParticularityPolicy
from escrow.custodian_set import CustodianSet
from escrow.errors import EscrowError
from escrow.threshold.deployment import CustodianDeployment
from escrow.threshold.hook import ThresholdEscrow
from escrow.workflow import LawfulAccess
from escrowlab.portal.deployment import DeploymentError, Manifest, load
from escrowlab.portal.world import PortalWorld, seed_accounts
from messaging.clock import Clock, SystemClock
from messaging.relay.archive import RelayArchive
from messaging.relay.errors import RelayDatabaseError

MAX_CHECKPOINT_BYTES = 1 << 16


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DeploymentError(f"cannot read {what} {path}: {exc.strerror}") from None


def check_nodes(manifest: Manifest, cset: CustodianSet,
                urls: Sequence[str]) -> dict[str, HttpClient]:
    """Each URL's client, by node id, once each answered as a node of ``manifest``'s set
    with the operator key the deployment registered for it; :class:`DeploymentError`
    otherwise (module docstring)."""
    clients: dict[str, HttpClient] = {}
    for url in urls:
        try:
            client = HttpClient(url, timeout=10.0)
            info = client.describe()
        except NodeError as exc:
            raise DeploymentError(f"--custodians {url}: {exc}") from None
        if info.set_fingerprint != cset.fingerprint:
            raise DeploymentError(
                f"--custodians {url}: node {info.node} is a node of another custodian set "
                f"({info.set_fingerprint.hex()[:16]}...), not this deployment's "
                f"({cset.fingerprint.hex()[:16]}...)")
        node = manifest.node(info.node)
        if node is None or info.node not in {m.custodian_id for m in cset.members}:
            raise DeploymentError(f"--custodians {url}: {info.node!r} is not a custodian of "
                                  "this deployment")
        if info.operator_key != node.operator_key:
            raise DeploymentError(f"--custodians {url}: node {info.node} accepts another "
                                  "operator key than the one this deployment registered")
        if info.node in clients:
            raise DeploymentError(f"--custodians {url}: node {info.node} is given twice "
                                  f"(also at {clients[info.node].url})")
        clients[info.node] = client
    if len(clients) < cset.threshold:
        raise DeploymentError(f"--custodians: {len(clients)} node(s) given, a recovery needs "
                              f"{cset.threshold} of the set's {cset.n}")
    return clients


def check_log(url: str, log_key: Verifier) -> None:
    """The log served at ``url`` signs its checkpoints with ``log_key``;
    :class:`DeploymentError` otherwise."""
    if not url.startswith(("http://", "https://")):
        raise DeploymentError(f"--log-url must be http(s), not {url!r}")
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/checkpoint",  # noqa: S310 - checked
                                    timeout=10.0) as answer:
            note = answer.read(MAX_CHECKPOINT_BYTES).decode("utf-8")
        signed = parse_note(note).verify([log_key])
    except urllib.error.HTTPError as exc:
        raise DeploymentError(f"--log-url {url}: no checkpoint (HTTP {exc.code}); is it "
                              "escrowlab audit serve?") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeploymentError(f"--log-url {url}: the log cannot be reached: {exc}") from None
    except (UnicodeDecodeError, AuditError) as exc:
        raise DeploymentError(f"--log-url {url}: not a log's checkpoint: {exc}") from None
    if log_key.vkey not in signed:
        raise DeploymentError(f"--log-url {url}: the log there is not this deployment's (its "
                              f"checkpoint is not signed by {log_key.name})")


def build_external(deployment: Path, custodian_urls: Sequence[str], directory: Path, *,
                   log_url: str | None = None, database_url: str | None = None,
                   clock: Clock | None = None, config: dict | None = None) -> PortalWorld:
    """The portal app over the deployment in ``deployment`` and its running services; its
    own database (default a SQLite file in ``directory``) and accounts."""
    manifest = load(deployment)
    clock = clock or SystemClock()
    try:
        cset = CustodianSet.loads(_read(manifest.set_file, "the custodian set"))
        judges = JudgeRegistry.loads(_read(manifest.judges, "the judge registry"))
        policy = ParticularityPolicy.from_json(strictjson.loads(
            _read(manifest.policy, "the policy"), what="policy", error=WarrantError))
        log_key = Verifier.from_vkey(manifest.log_key)
        witness_keys = [Verifier.from_vkey(w.witness_key) for w in manifest.witnesses]
    except (EscrowError, WarrantError, AuditError) as exc:
        raise DeploymentError(f"{manifest.directory}: {exc}") from None
    if cset.fingerprint != manifest.set_fingerprint:
        raise DeploymentError(f"{manifest.set_file} is not the set the manifest names")
    clients = check_nodes(manifest, cset, custodian_urls)
    log_url = log_url or manifest.log_url
    check_log(log_url, log_key)
    try:
        appender = read_signer(str(manifest.portal_appender_key_file), SIG_TYPE_ED25519,
                               AuditClock().now)
        store = LogStore(manifest.log_file)
    except AuditError as exc:
        raise DeploymentError(str(exc)) from None
    closers = [store.close]
    try:
        if store.get_meta("origin") != manifest.log_origin:
            raise DeploymentError(f"{manifest.log_file} is not the log the manifest names")
        archive = RelayArchive.open(manifest.archive_url)
    except BaseException as exc:
        store.close()
        if isinstance(exc, RelayDatabaseError | AuditError):
            raise DeploymentError(f"{manifest.directory}: {exc}") from None
        raise
    closers.append(archive.engine.dispose)
    portal_log = PortalLog.served(store, HttpLog(log_url, appender), log_key, witness_keys,
                                  manifest.quorum)
    custodians = NodeCustodians(
        clients, LawfulAccess(CustodianDeployment(ThresholdEscrow(cset)), archive))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    app: Flask = create_app({
        "PORTAL_CUSTODIANS": custodians, "PORTAL_LOG": portal_log, "PORTAL_CLOCK": clock,
        "PORTAL_JUDGES": judges, "PORTAL_PARTICULARITY": policy,
        "PORTAL_DATABASE_URL": database_url or f"sqlite:///{directory / 'portal.db'}",
        **(config or {})})
    closers.append(app.extensions["portal"].engine.dispose)
    operated = [n for n in manifest.nodes if n.id in clients]
    accounts = seed_accounts(app, {j.judge_id: j.verifier.public_key for j in judges.judges},
                             {n.operator: n.id for n in operated})
    return PortalWorld(app, accounts, dict(manifest.judge_key_files),
                       {n.operator: n.operator_key_file for n in operated}, {},
                       manifest.conversation_id, manifest.window, directory, portal_log,
                       closers)
