"""HTTP forms: the log's read API blueprint, witnesses over loopback (waitress), and
``escrowlab audit witness serve`` as a subprocess."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import threading

import pytest
from flask import Flask

from audit.errors import QuorumError, WitnessInconsistencyError, WitnessRollbackError
from audit.http.read_api import read_api_blueprint
from audit.http.witness_api import witness_blueprint
from audit.http.witness_client import HttpWitness
from audit.http.witness_server import make_witness_server
from audit.log import AuditLog
from audit.note import SignedNote, Verifier
from audit.proof import verify_consistency, verify_inclusion
from audit.quorum import WitnessQuorum, verify_checkpoint
from audit.receipt import Receipt, verify_receipt
from audit.rfc9162 import hash_leaf
from audit.storage import LogStore
from audit.witness import Witness
from escrowlab.cli import main
from tests.audit.test_witness import _forked_note
from tests.paths import PROJECT_ROOT


def _b(s):
    return base64.b64decode(s)


@pytest.fixture
def plain_log(tmp_path, log_signer, clock):
    log = AuditLog.open(tmp_path / "plain.db", log_signer, clock=clock)
    log.append_batch([b"entry %d" % i for i in range(12)])
    log.sign_checkpoint()
    yield log
    log.close()


def test_read_api(plain_log):
    app = Flask("t")
    reader = LogStore(plain_log.store.path)
    app.register_blueprint(read_api_blueprint(reader), url_prefix="/log")
    client = app.test_client()
    note = client.get("/log/checkpoint").get_data(as_text=True)
    cp = verify_checkpoint(note, plain_log.signer.verifier)
    entries = client.get("/log/entries?start=2&end=5").get_json()["entries"]
    assert [_b(e) for e in entries] == [b"entry 2", b"entry 3", b"entry 4"]
    proof = client.get("/log/proof/inclusion?index=7&size=12").get_json()["proof"]
    verify_inclusion(7, 12, hash_leaf(b"entry 7"), [_b(p) for p in proof], cp.root)
    plain_log.append(b"entry 12")  # another handle appends: the API sees it
    plain_log.sign_checkpoint()
    new = verify_checkpoint(client.get("/log/checkpoint").get_data(as_text=True),
                            plain_log.signer.verifier)
    proof = client.get("/log/proof/consistency?old=12&new=13").get_json()["proof"]
    verify_consistency(12, 13, [_b(p) for p in proof], cp.root, new.root)
    for bad in ["/log/entries?start=x", "/log/entries?start=0&end=5000",
                "/log/proof/inclusion?index=13", "/log/proof/consistency?old=0&new=3",
                "/log/proof/consistency?old=5&new=99", "/log/entries?start=-1"]:
        resp = client.get(bad)
        assert resp.status_code == 400 and "error" in resp.get_json()
    reader.close()


def _run_until_closed(server) -> None:
    # the fixture closes the listening socket under select()
    with contextlib.suppress(OSError, ValueError):
        server.run()


@pytest.fixture
def served_witnesses(tmp_path, log_signer, clock):
    servers, witnesses = [], []
    for i in range(3):
        w = Witness.generate(f"http-witness-{i}.test", [log_signer.verifier],
                             tmp_path / f"hw{i}.db", clock)
        server = make_witness_server(w, "127.0.0.1", 0, threads=2)
        threading.Thread(target=_run_until_closed, args=(server,), daemon=True).start()
        servers.append(server)
        witnesses.append((w, f"http://127.0.0.1:{server.effective_port}"))
    yield witnesses
    for server in servers:
        server.close()
    for w, _ in witnesses:
        w.close()


def test_quorum_over_http_on_loopback(plain_log, served_witnesses, log_signer):
    clients = [HttpWitness(url, w.verifier) for w, url in served_witnesses]
    quorum = WitnessQuorum(clients, 2)
    note = quorum.cosign(plain_log.sign_checkpoint().encode(), plain_log.store.consistency_proof)
    verify_checkpoint(note, log_signer.verifier, quorum.verifiers, 3)
    plain_log.append_batch([b"x", b"y"])
    note = quorum.cosign(plain_log.sign_checkpoint().encode(), plain_log.store.consistency_proof)
    verify_checkpoint(note, log_signer.verifier, quorum.verifiers, 3)
    assert served_witnesses[0][0].latest(log_signer.name)[0] == 14

    with pytest.raises(WitnessRollbackError):
        clients[0].add_checkpoint(14, [], _forked_note(log_signer, 3))
    with pytest.raises(WitnessInconsistencyError):
        clients[0].add_checkpoint(14, [], _forked_note(log_signer, 14))
    fork = _forked_note(log_signer, 20)
    with pytest.raises(QuorumError):
        WitnessQuorum(clients, 2).cosign(fork, lambda m, n: [b"\x00" * 32])


def test_malformed_witness_requests_get_400(served_witnesses):
    import urllib.error
    import urllib.request

    url = served_witnesses[0][1] + "/add-checkpoint"
    for body in [b"nonsense", b"old x\n\nnote", b"\xff\xfe", b"old 1\n!!!\n\nnote"]:
        req = urllib.request.Request(url, data=body, method="POST")  # noqa: S310
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=5)  # noqa: S310 - loopback test server
        assert info.value.code == 400


def test_witness_serve_command_and_cli_append_through_it(tmp_path, plain_log, log_signer,
                                                          capsys):
    log, key = str(tmp_path / "cli.db"), str(tmp_path / "cli.key")
    assert main(["audit", "init", "--log", log, "--origin", "cli.test/log", "--key-file", key,
                 "--json"]) == 0
    cli_log_key = json.loads(capsys.readouterr().out)["log_key"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "escrowlab", "audit", "witness", "serve", "--state",
         str(tmp_path / "ws.db"), "--key-file", str(tmp_path / "ws.key"), "--name",
         "cli-witness.test", "--log-key", log_signer.vkey, "--log-key", cli_log_key,
         "--port", "0", "--json", "--init"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        hello = json.loads(proc.stdout.readline())
        client = HttpWitness(hello["url"], Verifier.from_vkey(hello["witness_key"]))
        note = plain_log.sign_checkpoint()
        sig = client.add_checkpoint(0, [], note.encode())
        verify_checkpoint(SignedNote(note.text, (*note.signatures, sig)).encode(),
                          log_signer.verifier, [client.verifier], 1)
        witness = ["--witness-url", hello["url"], "--witness-key", hello["witness_key"]]
        for i in range(3):
            assert main(["audit", "append", "--log", log, "--key-file", key, "--type", "a.b",
                         "--actor", f"x{i}", *witness, "--quorum", "1", "--json"]) == 0
            receipt = Receipt.from_json(json.loads(capsys.readouterr().out))
            assert receipt.index == i
            verify_receipt(receipt, Verifier.from_vkey(cli_log_key), [client.verifier], 1)
        assert main(["audit", "verify", "--log", log, "--log-key", cli_log_key,
                     "--witness-key", hello["witness_key"], "--quorum", "1"]) == 0
        assert "cosigned by cli-witness.test" in capsys.readouterr().out
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert oct((tmp_path / "ws.key").stat().st_mode & 0o777) == "0o600"


def _body(old, proof, note):
    return (f"old {old}\n" + "".join(base64.b64encode(p).decode() + "\n" for p in proof)
            + "\n" + note).encode()


@pytest.fixture
def witness_app(tmp_path, plain_log, log_signer, clock):
    w = Witness.generate("status.test", [log_signer.verifier], tmp_path / "st.db", clock)
    app = Flask("status")
    app.register_blueprint(witness_blueprint(w))
    first = plain_log.sign_checkpoint().encode()  # size 12
    assert app.test_client().post("/add-checkpoint", data=_body(0, [], first)).status_code == 200
    yield app.test_client(), w
    w.close()


def test_add_checkpoint_answers_the_status_codes_of_c2sp_tlog_witness(
        witness_app, plain_log, log_signer):
    """https://c2sp.org/tlog-witness, "add-checkpoint": one case per status code."""
    from audit.note import Signer

    client, w = witness_app
    plain_log.append_batch([b"more 1", b"more 2"])
    grown = plain_log.sign_checkpoint().encode()  # size 14
    proof = plain_log.store.consistency_proof(12, 14)
    stranger = Signer.generate("other.test/log")
    impostor = Signer.generate(log_signer.name)

    def post(old, proof, note):
        return client.post("/add-checkpoint", data=_body(old, proof, note))

    def signed(signer, size, root):
        from audit.checkpoint import Checkpoint

        body = Checkpoint(signer.name, size, root).body()
        return SignedNote(body, (signer.sign(body),)).encode()

    resp = post(12, proof, signed(stranger, 14, plain_log.store.root()))
    assert resp.status_code == 404 and resp.mimetype == "text/plain"
    resp = post(12, proof, signed(impostor, 14, plain_log.store.root()))
    assert resp.status_code == 403
    resp = post(15, [], grown)  # old size larger than the checkpoint's
    assert resp.status_code == 400 and "X-Witness-Error" not in resp.headers
    resp = post(5, proof, grown)  # old size that is not the witness's latest
    assert resp.status_code == 409 and resp.mimetype == "text/x.tlog.size"
    assert resp.get_data() == b"12\n"
    resp = post(12, [], _forked_note(log_signer, 12))  # same size, different root
    assert resp.status_code == 409 and resp.mimetype == "text/plain"
    assert not resp.get_data(as_text=True).strip().isdigit()
    resp = post(12, [bytes(32)] * len(proof), grown)  # a proof that does not verify
    assert resp.status_code == 422
    for malformed in [b"old 012\n\n" + grown.encode(), b"old 12\nAAAA\n\n" + grown.encode(),
                      b"old -1\n\n" + grown.encode(), b"old 12\n" + grown.encode()]:
        assert client.post("/add-checkpoint", data=malformed).status_code == 400
    assert w.latest(log_signer.name)[0] == 12  # nothing above changed the state
    resp = post(12, proof, grown)
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    assert resp.get_data(as_text=True).startswith("\u2014 status.test ")
    resp = post(14, [], grown)
    assert resp.status_code == 200  # the same checkpoint again: cosigned again
    smaller = signed(log_signer, 12, plain_log.store.root(12))
    resp = post(14, [], smaller)  # the witness's own latest as old size: a rollback
    assert resp.status_code == 400 and resp.headers["X-Witness-Error"] == "rollback"
    assert resp.headers["X-Witness-Latest-Size"] == "14"


def test_the_http_client_maps_each_status_back_to_its_error(plain_log, served_witnesses,
                                                            log_signer):
    from audit.checkpoint import Checkpoint
    from audit.errors import (
        WitnessConflictError,
        WitnessForkError,
        WitnessRequestError,
        WitnessSignatureError,
        WitnessUnknownLogError,
    )
    from audit.note import Signer

    w, url = served_witnesses[0]
    client = HttpWitness(url, w.verifier)
    note = plain_log.sign_checkpoint().encode()
    client.add_checkpoint(0, [], note)
    stranger = Signer.generate("other.test/log")
    body = Checkpoint(stranger.name, 12, plain_log.store.root()).body()
    with pytest.raises(WitnessUnknownLogError):
        client.add_checkpoint(12, [], SignedNote(body, (stranger.sign(body),)).encode())
    impostor = Signer.generate(log_signer.name)
    body = Checkpoint(log_signer.name, 12, plain_log.store.root()).body()
    with pytest.raises(WitnessSignatureError):
        client.add_checkpoint(12, [], SignedNote(body, (impostor.sign(body),)).encode())
    with pytest.raises(WitnessRequestError):
        client.add_checkpoint(13, [], note)
    with pytest.raises(WitnessConflictError) as info:
        client.add_checkpoint(3, [], note)
    assert info.value.latest_size == 12
    with pytest.raises(WitnessForkError):
        client.add_checkpoint(12, [], _forked_note(log_signer, 12))
    plain_log.append(b"one more")
    grown = plain_log.sign_checkpoint().encode()
    with pytest.raises(WitnessInconsistencyError) as bad:
        client.add_checkpoint(12, [bytes(32)] * 3, grown)
    assert not isinstance(bad.value, WitnessForkError)


@pytest.mark.parametrize("header", ["\u00b9", "6\u00b96", "", "1" * 30])
def test_a_rollback_answer_with_a_malformed_latest_size_is_a_witness_error(header):
    """``str.isdigit`` accepts superscript digits that ``int`` refuses: the header is read as
    ASCII decimal or as unknown (-1), never a ValueError."""
    import email.message
    import io
    import urllib.error

    from audit.note import Signer

    headers = email.message.Message()
    headers["X-Witness-Error"] = "rollback"
    headers["X-Witness-Latest-Size"] = header
    answer = urllib.error.HTTPError("http://127.0.0.1/", 400, "Bad Request", headers,
                                    io.BytesIO(b"rollback\n"))
    client = HttpWitness("http://127.0.0.1:9/", Signer.generate("w").verifier)
    error = client._refusal(answer, 0, "not a note")
    assert isinstance(error, WitnessRollbackError) and error.latest_size == -1


def test_the_witness_server_reports_a_taken_port_as_an_audit_error(tmp_path, log_signer, clock):
    import socket

    from audit.errors import AuditError

    w = Witness.generate("w.test", [log_signer.verifier], tmp_path / "w.db", clock)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(AuditError, match="cannot listen on 127.0.0.1:"):
            make_witness_server(w, "127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()
        w.close()
