"""``escrowlab custodian serve``: two nodes as separate processes on loopback, each opening
its own ceremony keystore, database, registry, the relay archive and the witnessed log,
release a warrant's shares to the portal; bad options are refused before serving."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.http.witness_client import HttpWitness
from audit.http.witness_server import make_witness_server
from audit.keyfile import write_signer
from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.witness import Witness
from authority_portal.custodian_node.client import HttpClient
from authority_portal.custodian_node.coordinator import execute
from authority_portal.custodian_node.operator import Operator
from authority_portal.warrants.judges import Judge, JudgeRegistry
from authority_portal.warrants.model import Warrant
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from authority_portal.warrants.states import WarrantCase
from escrow.custodian_set import CustodianSet
from escrow.threshold.deployment import CustodianDeployment
from escrow.threshold.hook import ThresholdEscrow
from escrow.workflow import LawfulAccess
from escrowlab.cli import main
from messaging.addresses import direct_conversation_id
from messaging.client import Device
from messaging.clock import SystemClock
from messaging.relay import RelayService
from messaging.relay.inprocess import InProcessTransport
from tests.paths import PROJECT_ROOT


def start_node(args):
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    process = subprocess.Popen([sys.executable, "-m", "escrowlab", "custodian", "serve",
                                *args, "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        pytest.fail(f"node did not start: {process.stderr.read()}")
    return process, json.loads(line)["url"]


@pytest.fixture
def lab(tmp_path):
    clock = SystemClock()
    assert main(["escrow", "ceremony", "--custodians", "3", "--threshold", "2", "--out",
                 str(tmp_path / "cer"), "--generate-passphrases", "--lab-kdf"]) == 0
    cset = CustodianSet.loads((tmp_path / "cer" / "set.json").read_bytes())
    hook = ThresholdEscrow(cset)
    relay = RelayService(f"sqlite:///{tmp_path / 'relay.db'}", clock=clock, init=True)
    transport = InProcessTransport(relay)
    alice, bob = (Device.create(u, 1, transport, hook=hook, clock=clock, one_time_prekeys=2,
                                kem_prekeys=1) for u in ("alice", "bob"))
    for i in range(4):
        (alice if i % 2 == 0 else bob).send_text("bob" if i % 2 == 0 else "alice", f"m{i}")
        (bob if i % 2 == 0 else alice).receive_all()
    log_signer = Signer.generate("audit.escrowlab.test/log")
    write_signer(str(tmp_path / "log.key"), log_signer)
    witnesses = [Witness.generate(f"w{i}.test", [log_signer.verifier], tmp_path / f"w{i}.db",
                                  clock) for i in range(3)]
    servers = [make_witness_server(w) for w in witnesses]
    for s in servers:
        threading.Thread(target=s.run, daemon=True).start()
    urls = [f"http://127.0.0.1:{s.effective_port}" for s in servers]
    clients = [HttpWitness(u, w.verifier) for u, w in zip(urls, witnesses, strict=True)]
    log = AuditLog.open(tmp_path / "audit.db", log_signer, clock=clock,
                        quorum=WitnessQuorum(clients, 2))
    judge = Signer.generate("J1")
    registry = JudgeRegistry([Judge("J1", "JA", judge.verifier)])
    (tmp_path / "registry.json").write_bytes(registry.encode())
    operators = {k: Ed25519PrivateKey.generate() for k in ("K1", "K2")}
    common = ["--registry", str(tmp_path / "registry.json"), "--archive",
              f"sqlite:///{tmp_path / 'relay.db'}", "--log", str(tmp_path / "audit.db"),
              "--log-key-file", str(tmp_path / "log.key"), "--quorum", "2"]
    for url, w in zip(urls, witnesses, strict=True):
        common += ["--witness-url", url, "--witness-key", w.verifier.vkey]
    yield dict(tmp=tmp_path, hook=hook, relay=relay, log=log, judge=judge, registry=registry,
               operators=operators, common=common, now=clock.now())
    log.close()
    for s in servers:
        s.close()


def _release_through(lab, urls, warrant_id):
    """File, approve and execute warrant ``warrant_id`` on the nodes at ``urls``, each
    request signed by its node's operator; (the case, the run)."""
    now = int(lab["now"])
    warrant = Warrant(warrant_id, "Agency A", "JA", "O1",
                      (direct_conversation_id("alice", "bob"),), now - 3600, now + 3600,
                      "Order 8", now - 10, now + 86_400)
    case = WarrantCase.draft(warrant, lab["log"], lab["registry"], ParticularityPolicy(),
                             "officer:O1")
    case.file("officer:O1")
    case.approve("judge:J1", [sign_warrant(lab["judge"], warrant)])
    access = LawfulAccess(CustodianDeployment(lab["hook"]), lab["relay"].archive)
    [run] = execute(case, access, {n: HttpClient(u) for n, u in urls.items()},
                    {n: Operator(n, key).sign for n, key in lab["operators"].items()})
    return case, run


def test_two_served_nodes_release_a_warrant_to_the_portal(lab):
    processes, urls = [], {}
    try:
        for node, key in lab["operators"].items():
            process, url = start_node(["--keystore", str(lab["tmp"] / "cer" / node),
                                       "--operator-key",
                                       key.public_key().public_bytes_raw().hex(),
                                       *lab["common"]])
            processes.append(process)
            urls[node] = url
        case, run = _release_through(lab, urls, "W-1")
        assert run.decisions == {"K1": "released", "K2": "released"}
        assert run.report.complete and run.report.messages_recovered == 4
        assert case.state == "recovered"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.parametrize("change, message", [
    (["--host", "0.0.0.0"], "loopback"),  # noqa: S104 - the refused case
    (["--operator-key", "zz"], "hex"),
    (["--archive", "sqlite:////nonexistent/relay.db"], "--archive"),
])
def test_bad_options_are_refused_before_serving(lab, capsys, change, message):
    key = lab["operators"]["K1"].public_key().public_bytes_raw().hex()
    args = ["custodian", "serve", "--keystore", str(lab["tmp"] / "cer" / "K1"),
            "--operator-key", key, *lab["common"], *change]
    started = time.monotonic()
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert time.monotonic() - started < 30
    assert not (lab["tmp"] / "cer" / "K1" / "node.db").exists()


def _local_log_options(common):
    out, skip = [], 0
    for i, item in enumerate(common):
        if skip:
            skip -= 1
        elif item in ("--log", "--log-key-file"):
            skip = 1
        else:
            out.append(common[i])
    return out


def test_a_node_appends_through_a_served_log_and_never_holds_its_key(lab, capsys):
    registry, keys = lab["tmp"] / "appenders.json", {}
    for node in lab["operators"]:
        keys[node] = lab["tmp"] / f"appender-{node}.key"
        assert main(["audit", "appender", "--name", f"custodian:{node}", "--key-file",
                     str(keys[node]), "--registry", str(registry)]) == 0
    witness_options = _local_log_options(lab["common"])[4:]  # after --registry and --archive
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    served = subprocess.Popen(
        [sys.executable, "-m", "escrowlab", "audit", "serve", "--log", str(lab["tmp"] /
         "audit.db"), "--key-file", str(lab["tmp"] / "log.key"), "--appenders", str(registry),
         "--port", "0", "--json", *witness_options], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env)
    processes = [served]
    try:
        line = served.stdout.readline()
        assert line, served.stderr.read()
        log_url, log_vkey = json.loads(line)["url"], json.loads(line)["log_key"]
        urls = {}
        for node, operator in lab["operators"].items():
            process, urls[node] = start_node([
                "--keystore", str(lab["tmp"] / "cer" / node), "--operator-key",
                operator.public_key().public_bytes_raw().hex(),
                *_local_log_options(lab["common"]), "--log-url", log_url,
                "--appender-key-file", str(keys[node]), "--log-vkey", log_vkey])
            processes.append(process)
        wrong = ["custodian", "serve", "--keystore", str(lab["tmp"] / "cer" / "K1"),
                 "--operator-key", "00" * 32, *_local_log_options(lab["common"]),
                 "--log-url", log_url, "--appender-key-file", str(keys["K2"]),
                 "--log-vkey", log_vkey]
        capsys.readouterr()
        assert main(wrong) == 2 and "custodian:K1" in capsys.readouterr().err
        assert main([*wrong[:-6], "--log", "x.db", "--log-url", log_url]) == 2
        _, run = _release_through(lab, urls, "W-2")
        assert run.decisions == {"K1": "released", "K2": "released"}
        assert run.report.complete
        lab["log"].store.refresh()
        actors = [json.loads(e)["actor"] for e in lab["log"].store.leaves(0, lab["log"].size)]
        assert {"custodian:K1", "custodian:K2"} <= set(actors)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
