"""A multi-process deployment (docs/portal.md, "Running it: one process per party"):
``escrowlab deployment init`` writes it, every service is started with exactly the command
``escrowlab deployment commands`` prints, each as its own process (three witnesses, the
log, three of the five custodian nodes, the portal given those three), and one warrant goes
through the portal's JSON API over HTTP to releases by the three external nodes and a
recovered view; the log holds each node's own decision and verifies, and the portal's
events are its appender's, naming who acted. A URL that is not a
node of the deployment's set, a node of another ceremony or with another operator, a
foreign log, a missing deployment and an existing one are refused."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import random
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from audit.clock import SystemClock
from audit.entries import Entry
from audit.errors import AuditError
from audit.http.log_client import HttpLog
from audit.keyfile import read_signer
from audit.note import SIG_TYPE_ED25519, Signer, Verifier
from audit.storage import LogStore
from authority_portal.app.auditing import PortalLog
from authority_portal.custodian_node.operator import load_key
from escrow.custodian_set import CustodianSet
from escrowlab.cli import main
from escrowlab.portal.deployment import DeploymentError, load, ports_needed
from escrowlab.portal.external import check_log, check_nodes
from escrowlab.portal.session import Credentials, PortalSession
from tests.paths import PROJECT_ROOT

CUSTODIANS = 5
RUNNING = ("K1", "K2", "K3")
SPARE = ("node-K4", "node-K5")  # t = 3 of the 5: these two are not started
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def _free_base_port(count: int) -> int:
    """A base port below the ephemeral range with ``count`` free ports from it."""
    for _ in range(50):
        base = random.randrange(20000, 30000 - count)  # noqa: S311 - not a secret
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    pytest.fail("no block of free ports")


def _start(argv: list[str]) -> tuple[subprocess.Popen, str]:
    return subprocess.Popen([sys.executable, "-m", "escrowlab", *argv[1:], "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, cwd=PROJECT_ROOT), argv[1]


def _started(process: subprocess.Popen) -> dict:
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=30)
        pytest.fail(f"a service did not start: {process.stderr.read()}")
    return json.loads(line)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    root = tmp_path_factory.mktemp("deployment")
    directory = root / "dep"
    base = _free_base_port(ports_needed(CUSTODIANS))
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["deployment", "init", "--dir", str(directory), "--lab-kdf", "--messages",
                     "3", "--base-port", str(base), "--json"]) == 0
    listed = io.StringIO()
    with contextlib.redirect_stdout(listed):
        assert main(["deployment", "commands", "--dir", str(directory), "--json"]) == 0
    services = {s["service"]: s for s in json.loads(listed.getvalue())["services"]}
    names = [name for name in services if name != "portal" and name not in SPARE]
    processes = []
    try:
        # none of them needs another to start (a node reaches the log, and the log its
        # witnesses, only when asked to append), so they all start at once
        processes += [_start(services[name]["argv"])[0] for name in names]
        for name, process in zip(names, processes, strict=True):
            assert _started(process)["url"] == services[name]["url"]
        yield {"dir": directory, "root": root, "services": services}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def _session(url: str, account: dict) -> PortalSession:
    return PortalSession(url, Credentials(account["email"], account["password"],
                                          account["totp"]))


def test_a_warrant_through_the_portal_is_released_by_three_external_nodes(deployment):
    directory, services = deployment["dir"], deployment["services"]
    manifest = json.loads((directory / "manifest.json").read_bytes())
    argv = list(services["portal"]["argv"])
    argv[argv.index("--custodians") + 1] = ",".join(services[f"node-{n}"]["url"]
                                                    for n in RUNNING)
    portal, _ = _start([*argv, "--dir", str(deployment["root"] / "portal")])
    try:
        started = _started(portal)
        url = started["url"]
        assert url == services["portal"]["url"]
        accounts = {a["name"]: a for a in started["accounts"]}
        assert {a["custodian"] for a in accounts.values() if a["custodian"]} == set(RUNNING)
        officer = _session(url, accounts["officer-1"])
        start, end = manifest["window"]
        filed = officer.call("POST", "/api/v1/officer/warrants", {
            "agency": "Agency A", "jurisdiction": "JA", "legal_basis": "s. 8, case 42",
            "validity_days": 10, "conversation_id": manifest["conversation_id"],
            "window_start": start, "window_end": end})
        reference = filed["reference"]
        judge = _session(url, accounts["judge-1"])
        path = f"/api/v1/judge/warrants/{reference}"
        statement = base64.b64decode(judge.call("GET", path + "/statement")["statement"])
        key = serialization.load_pem_private_key(
            (directory / manifest["judges"]["key_files"]["judge-1"]).read_bytes(), None)
        judge.call("POST", path + "/signature",
                   {"signature": base64.b64encode(key.sign(statement)).decode()})
        for node in manifest["nodes"][:3]:
            operator = _session(url, accounts[node["operator"]])
            path = f"/api/v1/custodian/warrants/{reference}"
            request = base64.b64decode(operator.call("GET", path + "/request")["request"])
            signer = load_key((directory / node["operator_key_file"]).read_bytes())
            operator.call("POST", path + "/approval",
                          {"signature": base64.b64encode(signer.sign(request)).decode()})
        status = officer.call("GET", f"/api/v1/officer/warrants/{reference}")
        assert status["status"] == "recovered", status
        view = officer.call("GET", f"/api/v1/officer/warrants/{reference}/recovered")
        assert len(view["messages"]) == view["messages_recovered"] == \
            view["messages_in_scope"] > 0
        auditor = _session(url, accounts["auditor-1"])
        verified = auditor.call("POST", "/api/v1/auditor/verification")
        assert verified["ok"], verified
    finally:
        portal.terminate()
        portal.wait(timeout=10)
    store = LogStore(directory / manifest["log"]["file"])
    try:
        entries = [Entry.decode(e) for e in store.leaves(0, store.refresh())]
    finally:
        store.close()
    released = {e.actor for e in entries if e.type == "custodian.released"
                and e.payload.get("warrant_id") == reference}
    assert released == {"custodian:K1", "custodian:K2", "custodian:K3"}
    portal_events = [e for e in entries if e.type.startswith("warrant.")]
    assert portal_events and all(e.actor == "portal" for e in portal_events)
    assert {e.payload["on_behalf_of"] for e in portal_events} >= {"officer-1", "judge-1"}


def _portal(capsys, directory: Path, urls: list[str], *extra: str) -> str:
    code = main(["portal", "--deployment", str(directory), "--custodians", ",".join(urls),
                 "--port", "0", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    return err


def test_urls_that_are_not_the_deployments_nodes_are_refused(deployment, capsys, tmp_path):
    directory, services = deployment["dir"], deployment["services"]
    nodes = [services[f"node-K{i}"]["url"] for i in range(1, 4)]
    log = services["log"]["url"]
    assert "is not a custodian node" in _portal(capsys, directory, [*nodes[:2], log])
    assert "cannot be reached" in _portal(capsys, directory,
                                          [*nodes[:2], services["portal"]["url"]])
    assert "given twice" in _portal(capsys, directory, [*nodes[:2], nodes[0]])
    assert "a recovery needs 3" in _portal(capsys, directory, nodes[:2])
    assert "checkpoint" in _portal(capsys, directory, nodes, "--log-url",
                                   services["witness-1"]["url"])
    assert "no deployment" in _portal(capsys, tmp_path / "nowhere", nodes)
    assert "built-in world" in _portal(capsys, directory, nodes, "--messages", "3")
    code = main(["portal", "--custodians", nodes[0], "--port", "0"])
    assert code == 2 and "go together" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_a_node_with_another_operator_or_a_foreign_log_is_refused(deployment):
    """The checks ``escrowlab portal`` runs, against a manifest that registered another
    operator key for K1, and a log key that is not the served log's."""
    manifest = load(deployment["dir"])
    cset = CustodianSet.loads(manifest.set_file.read_bytes())
    urls = [deployment["services"][f"node-{n}"]["url"] for n in RUNNING]
    assert set(check_nodes(manifest, cset, urls)) == set(RUNNING)
    other = replace(manifest, nodes=tuple(
        replace(n, operator_key=bytes(32)) if n.id == "K1" else n for n in manifest.nodes))
    with pytest.raises(DeploymentError, match="another operator key"):
        check_nodes(other, cset, urls)
    check_log(manifest.log_url, Verifier.from_vkey(manifest.log_key))
    with pytest.raises(DeploymentError, match="not this deployment's"):
        check_log(manifest.log_url, Signer.generate(manifest.log_origin).verifier)
    with pytest.raises(DeploymentError, match="cannot be reached"):
        check_log(deployment["services"]["portal"]["url"], Verifier.from_vkey(manifest.log_key))


def test_the_portal_appends_as_itself_and_names_who_acted(deployment):
    """Through the served log, an event is the appender ``portal``'s, with the account in
    ``on_behalf_of``; a payload that already names one is refused and appends nothing."""
    manifest = load(deployment["dir"])
    appender = read_signer(str(manifest.portal_appender_key_file), SIG_TYPE_ED25519,
                           SystemClock().now)
    store = LogStore(manifest.log_file)
    log = PortalLog.served(store, HttpLog(manifest.log_url, appender),
                           Verifier.from_vkey(manifest.log_key),
                           [Verifier.from_vkey(w.witness_key) for w in manifest.witnesses],
                           manifest.quorum)
    try:
        receipt = log.append("portal.test", "admin-1", {"note": "x"})
        entry = receipt.event()
        assert (entry.actor, dict(entry.payload)) == ("portal", {"note": "x",
                                                                "on_behalf_of": "admin-1"})
        size = log.size
        with pytest.raises(AuditError, match="on_behalf_of"):
            log.append("portal.test", "admin-1", {"on_behalf_of": "judge-1"})
        assert log.size == size
        assert log.entries(size - 1)[0].entry.type == "portal.test"
    finally:
        store.close()


def test_a_node_of_another_ceremony_is_refused(deployment, capsys, tmp_path):
    services = deployment["services"]
    assert main(["escrow", "ceremony", "--custodians", "2", "--threshold", "2", "--out",
                 str(tmp_path / "other"), "--generate-passphrases", "--lab-kdf",
                 "--json"]) == 0
    argv = list(services["node-K1"]["argv"])
    argv[argv.index("--keystore") + 1] = str(tmp_path / "other" / "K1")
    argv[argv.index("--port") + 1] = "0"
    process, _ = _start(argv)
    try:
        stranger = _started(process)["url"]
        err = _portal(capsys, deployment["dir"], [services["node-K2"]["url"],
                                                  services["node-K3"]["url"], stranger])
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "another custodian set" in err


def test_an_existing_deployment_is_never_written_over(deployment, capsys):
    directory = deployment["dir"]
    before = (directory / "manifest.json").read_bytes()
    assert main(["deployment", "init", "--dir", str(directory), "--lab-kdf"]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert (directory / "manifest.json").read_bytes() == before
    assert main(["deployment", "commands", "--dir", str(directory / "ceremony")]) == 2
    assert "no deployment" in capsys.readouterr().err
