"""A multi-process deployment of the warrant portal, written to one folder (docs/portal.md,
"Running it: one process per party").

:func:`write_deployment` makes every file the services need, then :func:`load` reads the
manifest back, strictly::

    manifest.json                 names every file, key and port below
    ceremony/set.json             the custodian set (escrowlab escrow ceremony)
    ceremony/Ki/keystore.json     custodian Ki's keys; passphrase.txt beside it (a lab's)
    ceremony/Ki/appender.key      node Ki's appender key, named custodian:Ki (0600)
    relay.db                      the relay's database: the demo's chats, escrowed under
                                  this ceremony's set
    log/audit.db, log/log.key     the audit log and its signer key (0600)
    log/appenders.json            the appenders the log accepts: custodian:Ki and portal
    log/portal-appender.key       the portal's appender key (0600)
    witnesses/witness-i.db, .key  each witness's state (it has cosigned the log's first
                                  checkpoint) and cosigning key (0600)
    judges.json, policy.json      the judge registry and particularity policy every node
                                  and the portal load
    holders/judge-i.pem           each judge's and each operator's Ed25519 key (PKCS#8, 0600):
    holders/operator-i.pem        the stand-in for their own machines; no service reads them

It is a lab's deployment: the keystore passphrases are generated and written beside each
keystore, and ``lab_kdf`` selects cheap Argon2id parameters. Everything is written into a
staging folder beside ``directory`` and renamed to it only once complete, so a refused or
failed run leaves nothing, and an existing deployment (any non-empty folder) is never
written over.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import strictjson
from audit.append_request import AppenderRegistry
from audit.keyfile import write_signer
from audit.log import AuditLog
from audit.note import Signer, Verifier
from audit.quorum import WitnessQuorum
from audit.witness import Witness
from authority_portal.custodian_node.operator import key_file
from authority_portal.warrants.judges import Judge, JudgeRegistry
from authority_portal.warrants.policy import ParticularityPolicy
from escrow import ceremony, keystore
from escrow.errors import EscrowError
from escrow.threshold.hook import ThresholdEscrow
from escrowlab.demo import (
    DEMO_START,
    DemoWorld,
    Narrator,
    run_direct_chat,
    run_group_chat,
)
from escrowlab.portal.world import DOMAIN, JUDGES, JURISDICTION, LOG_ORIGIN, QUORUM, WITNESSES
from messaging.client import Device
from messaging.clock import ManualClock, SystemClock
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport

FORMAT = "escrowlab-portal-deployment/1"
MANIFEST = "manifest.json"
PORTAL_APPENDER = "portal"
DEVICES = (("alice", 1, None), ("bob", 1, None), ("bob", 2, "bob:1"), ("carol", 1, None))
MAX_MANIFEST_BYTES = 1 << 20


class DeploymentError(Exception):
    """A deployment that cannot be written or read: the message says why."""


@dataclass(frozen=True)
class Node:
    """One custodian node of the deployment, as the manifest names it."""

    id: str
    keystore: Path
    appender_key_file: Path
    operator: str
    operator_key: bytes
    operator_key_file: Path
    port: int


@dataclass(frozen=True)
class WitnessFiles:
    name: str
    state: Path
    key_file: Path
    witness_key: str
    port: int


@dataclass(frozen=True)
class Manifest:
    """A deployment's manifest, every path made absolute under ``directory``."""

    directory: Path
    set_file: Path
    set_fingerprint: bytes
    threshold: int
    nodes: tuple[Node, ...]
    relay: Path
    conversation_id: str
    window: tuple[float, float]
    log_file: Path
    log_key_file: Path
    log_key: str
    log_origin: str
    log_port: int
    appenders: Path
    quorum: int
    witnesses: tuple[WitnessFiles, ...]
    judges: Path
    judge_key_files: dict[str, Path]
    policy: Path
    portal_appender_key_file: Path
    portal_port: int

    @property
    def archive_url(self) -> str:
        return f"sqlite:///{self.relay}"

    @property
    def log_url(self) -> str:
        return f"http://127.0.0.1:{self.log_port}"

    def node(self, custodian_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == custodian_id), None)


def ports_needed(custodians: int) -> int:
    """Witnesses, the log, the nodes and the portal: one port each, from ``base_port``."""
    return WITNESSES + 1 + custodians + 1


def write_deployment(directory: Path, *, custodians: int = 5, threshold: int = 3,
                     messages: int = 6, base_port: int = 8490,
                     lab_kdf: bool = False) -> Manifest:
    """Write a new deployment into ``directory`` (new or empty); its manifest."""
    directory = Path(directory).absolute()
    if directory.is_symlink() or (directory.exists() and (
            not directory.is_dir() or any(directory.iterdir()))):
        raise DeploymentError(f"{directory} exists and is not an empty folder; a deployment "
                              "is written only into a new one (nothing was changed)")
    if not 1024 <= base_port <= 65536 - ports_needed(custodians):
        raise DeploymentError(f"the base port must leave room for {ports_needed(custodians)} "
                              "ports in 1024..65535")
    with _staging(directory) as staging:
        manifest = _write(staging, custodians, threshold, messages, base_port, lab_kdf)
        (staging / MANIFEST).write_bytes(rfc8785.dumps(manifest) + b"\n")
    return load(directory)


@contextlib.contextmanager
def _staging(directory: Path) -> Iterator[Path]:
    """A private folder beside ``directory``, renamed to it if the block succeeds and
    removed otherwise."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        yield staging
        if directory.exists():
            directory.rmdir()  # empty (checked before): replaced by the finished staging
        staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _private(path: Path, data: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def _write(root: Path, custodians: int, threshold: int, messages: int, base_port: int,
           lab_kdf: bool) -> dict[str, Any]:
    ids = [f"K{i + 1}" for i in range(custodians)]
    try:
        result = ceremony.run_ceremony(
            root / "ceremony", custodians, threshold,
            [secrets.token_urlsafe(18) for _ in ids],
            kdf=keystore.FAST_KDF if lab_kdf else keystore.DEFAULT_KDF,
            lab_passphrase_files=True)
    except EscrowError as exc:
        raise DeploymentError(str(exc)) from None
    cset = result.custodian_set
    conversation, window = _chats(root / "relay.db", ThresholdEscrow(cset), messages)

    clock = SystemClock()
    (root / "log").mkdir(mode=0o700)
    (root / "witnesses").mkdir(mode=0o700)
    log_signer = Signer.generate(LOG_ORIGIN)
    write_signer(str(root / "log" / "log.key"), log_signer)
    witnesses = []
    try:
        for i in range(1, WITNESSES + 1):
            witness = Witness.generate(f"witness-{i}.{DOMAIN}", [log_signer.verifier],
                                       root / "witnesses" / f"witness-{i}.db", clock)
            witnesses.append(witness)
            write_signer(str(root / "witnesses" / f"witness-{i}.key"), witness.signer)
        log = AuditLog.open(root / "log" / "audit.db", log_signer, clock=clock,
                            quorum=WitnessQuorum(witnesses, QUORUM))
        try:
            log.checkpoint()  # the witnesses cosign the empty log: the quorum is recorded
        finally:
            log.close()
    finally:
        for witness in witnesses:
            witness.close()

    appenders = []
    for custodian_id in ids:
        signer = Signer.generate(f"custodian:{custodian_id}")
        write_signer(str(root / "ceremony" / custodian_id / "appender.key"), signer)
        appenders.append(signer.verifier)
    portal_signer = Signer.generate(PORTAL_APPENDER)
    write_signer(str(root / "log" / "portal-appender.key"), portal_signer)
    appenders.append(portal_signer.verifier)
    (root / "log" / "appenders.json").write_bytes(AppenderRegistry.dumps(appenders) + b"\n")

    holders = root / "holders"
    holders.mkdir(mode=0o700)
    judge_keys = {name: Ed25519PrivateKey.generate() for name in JUDGES}
    for name, key in judge_keys.items():
        _private(holders / f"{name}.pem", key_file(key))
    registry = JudgeRegistry(Judge(name, JURISDICTION, _verifier(name, key))
                             for name, key in judge_keys.items())
    (root / "judges.json").write_bytes(registry.encode())
    (root / "policy.json").write_bytes(
        rfc8785.dumps(ParticularityPolicy().to_json()) + b"\n")
    nodes = []
    for number, custodian_id in enumerate(ids, start=1):
        operator = Ed25519PrivateKey.generate()
        _private(holders / f"operator-{number}.pem", key_file(operator))
        nodes.append({"id": custodian_id, "keystore": f"ceremony/{custodian_id}",
                      "appender_key_file": f"ceremony/{custodian_id}/appender.key",
                      "operator": f"operator-{number}",
                      "operator_key": operator.public_key().public_bytes_raw().hex(),
                      "operator_key_file": f"holders/operator-{number}.pem",
                      "port": base_port + WITNESSES + 1 + number - 1})
    return {
        "format": FORMAT,
        "custodian_set": {"file": "ceremony/set.json", "fingerprint": cset.fingerprint.hex(),
                          "threshold": cset.threshold},
        "nodes": nodes,
        "relay": "relay.db",
        "conversation_id": conversation,
        "window": list(window),
        "log": {"file": "log/audit.db", "key_file": "log/log.key", "log_key": log_signer.vkey,
                "origin": LOG_ORIGIN, "appenders": "log/appenders.json", "quorum": QUORUM,
                "port": base_port + WITNESSES},
        "witnesses": [{"name": w.name, "state": f"witnesses/witness-{i}.db",
                       "key_file": f"witnesses/witness-{i}.key",
                       "witness_key": w.verifier.vkey, "port": base_port + i - 1}
                      for i, w in enumerate(witnesses, start=1)],
        "judges": {"registry": "judges.json",
                   "key_files": {name: f"holders/{name}.pem" for name in JUDGES}},
        "policy": "policy.json",
        "portal": {"appender": PORTAL_APPENDER, "appender_key_file": "log/portal-appender.key",
                   "port": base_port + ports_needed(custodians) - 1},
    }


def _verifier(name: str, key: Ed25519PrivateKey) -> Verifier:
    return Verifier(name, key.public_key().public_bytes_raw())


def _chats(path: Path, hook: ThresholdEscrow, messages: int) -> tuple[str, tuple[float, float]]:
    """The demo's chats (docs/architecture.md, "Data flow") through a relay whose database
    is the SQLite file ``path``, every device escrowing under ``hook``; the direct chat's
    conversation id and its first and last receipt times."""
    clock = ManualClock(DEMO_START)
    relay = RelayService(f"sqlite:///{path}", clock=clock, init=True)
    try:
        transport = InProcessTransport(relay)
        world = DemoWorld(relay, clock, transport, {})
        for user, device_id, linker in DEVICES:
            world.devices[f"{user}:{device_id}"] = Device.create(
                user, device_id, transport, hook=hook, clock=clock,
                linked_by=world.devices.get(linker) if linker else None)
        quiet = Narrator(io.StringIO(), enabled=False)
        direct = run_direct_chat(world, quiet, messages)
        run_group_chat(world, quiet, messages)
        times = sorted(e.received_at for e in relay.archive.entries(direct["conversation_id"]))
    finally:
        relay.close()
    return direct["conversation_id"], (times[0], times[-1])


# -- reading it back ----------------------------------------------------------------------

def _path(root: Path, value: object, what: str) -> Path:
    """``value``, a path relative to the deployment folder that stays inside it."""
    if not isinstance(value, str) or not value or value.startswith("/") or \
            ".." in Path(value).parts:
        raise DeploymentError(f"{MANIFEST}: {what} must be a path inside the deployment "
                              f"folder, got {value!r}")
    return root / value


def _port(value: object, what: str) -> int:
    if type(value) is not int or not 1 <= value <= 65535:
        raise DeploymentError(f"{MANIFEST}: {what} must be a port 1..65535")
    return value


def _fields(obj: object, names: dict, what: str) -> dict:
    return strictjson.fields(obj, names, what=f"{MANIFEST}: {what}", error=DeploymentError)


def load(directory: Path) -> Manifest:
    """The manifest of the deployment in ``directory``, checked strictly;
    :class:`DeploymentError` if there is none or it is malformed."""
    root = Path(directory).absolute()
    if not root.is_dir():
        raise DeploymentError(f"no deployment at {directory} (make one with escrowlab "
                              "deployment init --dir DIR)")
    try:
        with open(root / MANIFEST, "rb") as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise DeploymentError(f"{directory} holds no deployment: cannot read {MANIFEST}: "
                              f"{exc.strerror}") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise DeploymentError(f"{MANIFEST} is too long")
    obj = strictjson.loads(data, what=MANIFEST, error=DeploymentError)
    top = _fields(obj, {"format": str, "custodian_set": dict, "nodes": list, "relay": str,
                        "conversation_id": str, "window": list, "log": dict,
                        "witnesses": list, "judges": dict, "policy": str, "portal": dict},
                  "manifest")
    if top["format"] != FORMAT:
        raise DeploymentError(f"{MANIFEST}: format {top['format']!r}, expected {FORMAT!r}")
    cset = _fields(top["custodian_set"], {"file": str, "fingerprint": str, "threshold": int},
                   "custodian_set")
    log = _fields(top["log"], {"file": str, "key_file": str, "log_key": str, "origin": str,
                               "appenders": str, "quorum": int, "port": int}, "log")
    judges = _fields(top["judges"], {"registry": str, "key_files": dict}, "judges")
    portal = _fields(top["portal"], {"appender": str, "appender_key_file": str, "port": int},
                     "portal")
    window = top["window"]
    if len(window) != 2 or not all(type(t) in (int, float) for t in window):
        raise DeploymentError(f"{MANIFEST}: window is [start, end] in seconds")
    try:
        fingerprint = bytes.fromhex(cset["fingerprint"])
        nodes = tuple(_node(root, n) for n in top["nodes"])
    except ValueError as exc:
        raise DeploymentError(f"{MANIFEST}: {exc}") from None
    witnesses = []
    for w in top["witnesses"]:
        w = _fields(w, {"name": str, "state": str, "key_file": str, "witness_key": str,
                        "port": int}, "witness")
        witnesses.append(WitnessFiles(w["name"], _path(root, w["state"], "a witness state"),
                                      _path(root, w["key_file"], "a witness key"),
                                      w["witness_key"], _port(w["port"], "a witness port")))
    return Manifest(
        root, _path(root, cset["file"], "the set file"), fingerprint, cset["threshold"],
        nodes, _path(root, top["relay"], "the relay"), top["conversation_id"],
        (float(window[0]), float(window[1])), _path(root, log["file"], "the log"),
        _path(root, log["key_file"], "the log key"), log["log_key"], log["origin"],
        _port(log["port"], "the log port"), _path(root, log["appenders"], "the appenders"),
        log["quorum"], tuple(witnesses), _path(root, judges["registry"], "the judges"),
        {name: _path(root, p, "a judge's key file") for name, p in
         judges["key_files"].items()},
        _path(root, top["policy"], "the policy"),
        _path(root, portal["appender_key_file"], "the portal's appender key"),
        _port(portal["port"], "the portal port"))


def _node(root: Path, obj: object) -> Node:
    n = _fields(obj, {"id": str, "keystore": str, "appender_key_file": str, "operator": str,
                      "operator_key": str, "operator_key_file": str, "port": int}, "node")
    return Node(n["id"], _path(root, n["keystore"], "a keystore"),
                _path(root, n["appender_key_file"], "an appender key"), n["operator"],
                bytes.fromhex(n["operator_key"]),
                _path(root, n["operator_key_file"], "an operator's key file"),
                _port(n["port"], "a node port"))
