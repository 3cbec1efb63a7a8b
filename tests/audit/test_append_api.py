"""Appending over HTTP (docs/audit_log.md, "Appending over HTTP"): only registered
appenders, under their own names, each request once, each answer a witnessed receipt; every
refusal appends nothing."""

from __future__ import annotations

import contextlib
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.append_request import (
    MAX_CLOCK_SKEW,
    AppenderRegistry,
    AppenderUnknownError,
    AppendRequestError,
    AppendStaleError,
    parse_request,
    sign_request,
)
from audit.entries import Entry
from audit.http.log_client import HttpLog
from audit.http.log_server import create_log_app, make_log_server
from audit.note import SignedNote, Signer
from audit.receipt import Receipt, verify_receipt
from authority_portal.custodian_node.log_check import NodeLog

NODE = "custodian:c1"


@pytest.fixture
def keys():
    return {NODE: Signer.generate(NODE), "portal": Signer.generate("portal")}


def _registry(keys) -> AppenderRegistry:
    return AppenderRegistry([k.verifier for k in keys.values()])


@pytest.fixture
def client(log, keys):
    return create_log_app(log, _registry(keys)).test_client()


def _serve(server) -> None:
    with contextlib.suppress(OSError, ValueError):  # closed under select() at the end
        server.run()


def _post(client, body: bytes):
    return client.post("/append", data=body, content_type="application/json")


def test_a_registered_appender_gets_a_witnessed_receipt_of_its_entry(client, keys, log,
                                                                     clock, quorum):
    body = sign_request(keys[NODE], "custody.released", {"warrant": "w1"}, clock.now())
    resp = _post(client, body)
    assert resp.status_code == 200, resp.get_json()
    receipt = Receipt.from_json(resp.get_json())
    verify_receipt(receipt, log.signer.verifier, quorum.verifiers, 2)
    entry = Entry.decode(receipt.entry)
    assert (entry.type, entry.actor, dict(entry.payload)) == ("custody.released", NODE,
                                                              {"warrant": "w1"})
    assert log.size == 1
    again = client.get("/receipt?index=0")
    assert Receipt.from_json(again.get_json()).entry == receipt.entry


def test_every_refusal_appends_nothing(client, keys, log, clock):
    now = clock.now()
    good = sign_request(keys[NODE], "custody.released", {}, now)
    assert _post(client, good).status_code == 200
    text, signature = good.split(b"\n\n", 1)
    obj = json.loads(text)
    impostor = Signer.generate(NODE)  # the node's name, another key
    portal_line = sign_request(keys["portal"], "custody.released", {}, now).split(b"\n\n")[1]
    cases = {
        "replay": (good, 409),
        "another's key": (sign_request(impostor, "custody.released", {}, now), 403),
        "another's signature": (text + b"\n\n" + portal_line, 403),
        "unregistered": (sign_request(Signer.generate("intruder"), "x.y", {}, now), 403),
        "altered after signing": (text.replace(b'"payload":{}', b'"payload":{"a":1}')
                                  + b"\n\n" + signature, 403),
        "stale": (sign_request(keys[NODE], "x.y", {}, now - MAX_CLOCK_SKEW - 1), 422),
        "future": (sign_request(keys[NODE], "x.y", {}, now + MAX_CLOCK_SKEW + 1), 422),
        "malformed": (b"{not json", 400),
        "not canonical": (json.dumps(obj, indent=1).encode() + b"\n\n" + signature, 400),
        "unknown field": (json.dumps({**obj, "extra": 1}).encode() + b"\n\n" + signature, 400),
        "huge": (b"{" + b" " * 100_000 + b"}", 413),
    }
    for name, (body, status) in cases.items():
        resp = _post(client, body)
        assert resp.status_code == status, (name, resp.get_json())
        assert "error" in resp.get_json()
    assert log.size == 1
    assert client.get("/receipt?index=1").status_code == 404
    assert client.get("/receipt?index=x").status_code == 400


def test_a_request_signed_before_the_log_started_serving_is_refused(log, keys, clock):
    old = sign_request(keys[NODE], "x.y", {}, clock.now() - 1)
    resp = _post(create_log_app(log, _registry(keys)).test_client(), old)
    assert resp.status_code == 422 and log.size == 0


def test_a_huge_integer_in_the_payload_is_a_clear_refusal(keys, clock):
    # found by `escrowlab fuzz --targets audit.append_request`: RFC 8785 cannot encode it
    text = ('{"actor":"custodian:c1","nonce":"' + "ab" * 16 + '","payload":{"n":'
            + "9" * 30 + '},"time":1,"type":"x.y","v":1}\n')
    note = SignedNote(text, (keys[NODE].sign(text),)).encode().encode()
    with pytest.raises(AppendRequestError, match="canonicalised"):
        parse_request(note)
    with pytest.raises(AppendRequestError, match="2\\^53"):
        parse_request(sign_request(keys[NODE], "x.y", {}, 2.0 ** 60))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_the_parser_refuses_garbage_with_its_own_error(data):
    with contextlib.suppress(AppendRequestError):
        parse_request(data)


def test_registry_files_round_trip_and_refuse_bad_keys(keys, quorum):
    verifiers = [k.verifier for k in keys.values()]
    AppenderRegistry.loads(AppenderRegistry.dumps(verifiers))
    twice = AppenderRegistry.dumps([*verifiers, Signer.generate(NODE).verifier])
    cosigner = AppenderRegistry.dumps([quorum.verifiers[0]])  # a witness key: not Ed25519
    for bad in [b'{"appenders": []}', b'{"appenders": ["x"]}', b'{"appenders": [1]}',
                b'{"other": []}', twice, cosigner]:
        with pytest.raises(AppendRequestError):
            AppenderRegistry.loads(bad)


def test_concurrent_appenders_over_loopback_each_get_their_own_receipt(log, keys, clock,
                                                                       quorum):
    server = make_log_server(log, _registry(keys), threads=8)
    threading.Thread(target=_serve, args=(server,), daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}"
    try:
        remote: NodeLog = HttpLog(url, keys[NODE], clock=clock)
        receipts, errors = [], []

        def work(i: int) -> None:
            try:
                receipts.append(remote.append_event("custody.refused", NODE, {"n": i}))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(i,)) for i in range(12)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
        assert errors == []
        assert sorted(r.index for r in receipts) == list(range(12))
        for r in receipts:
            verify_receipt(r, log.signer.verifier, quorum.verifiers, 2)
        assert remote.consistency_proof(3, 12) == log.store.consistency_proof(3, 12)
        with pytest.raises(AppenderUnknownError):
            remote.append_event("custody.refused", "portal", {})
        intruder = HttpLog(url, Signer.generate("portal"), clock=clock)
        with pytest.raises(AppenderUnknownError):
            intruder.append_event("custody.released", "portal", {})
        assert log.size == 12
        clock.advance(MAX_CLOCK_SKEW * 3)
        with pytest.raises(AppendStaleError):
            HttpLog(url, keys[NODE]).append_event("x.y", NODE, {})  # the system clock
    finally:
        server.close()


def test_the_appender_command_refuses_a_second_key_of_one_name_and_changes_nothing(
        tmp_path, capsys):
    from escrowlab.cli import main

    registry, key = tmp_path / "appenders.json", tmp_path / "k1.key"
    assert main(["audit", "appender", "--name", NODE, "--key-file", str(key), "--registry",
                 str(registry), "--json"]) == 0
    vkey = json.loads(capsys.readouterr().out)["vkey"]
    before = registry.read_bytes()
    assert AppenderRegistry.loads(before).verifiers[0].vkey == vkey
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    for args in (["--name", NODE, "--key-file", str(tmp_path / "k2.key")],  # same name
                 ["--name", "portal", "--key-file", str(key)]):  # existing key file
        assert main(["audit", "appender", *args, "--registry", str(registry)]) == 2
        assert "escrowlab:" in capsys.readouterr().err
    assert registry.read_bytes() == before and not (tmp_path / "k2.key").exists()
    (tmp_path / "bad.json").write_text("{}")
    assert main(["audit", "serve", "--log", str(tmp_path / "none.db"), "--key-file", str(key),
                 "--appenders", str(tmp_path / "bad.json")]) == 2
