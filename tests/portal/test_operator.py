"""The operator's side of a release (authority_portal.custodian_node.operator and
``escrowlab custodian operator-key|sign-request``): the operator signs the exact body the
portal serves, with a key file only they hold; the node accepts that request and refuses
one altered after signing, another node's, or a body that is not the canonical one."""

import base64
import hashlib
import json

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from authority_portal.custodian_node.errors import Refused, RequestError
from authority_portal.custodian_node.operator import Operator, key_file, load_key
from authority_portal.custodian_node.request import attach_signature, unsigned_request
from escrowlab.cli import main
from escrowlab.scenarios._warrant_world import WarrantWorld


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with WarrantWorld(tmp_path_factory.mktemp("operators")) as w:
        yield w


def _body(world, warrant_id, node="K1"):
    case = world.case(world.warrant(warrant_id=warrant_id))
    auth, key = world.authorisation(case.warrant, case.signatures)
    attempt = world.access.open(auth.window, auth, key)
    return unsigned_request(node, auth, attempt.nonce, case.receipt("approved"))


def _key_file(world, tmp_path, node="K1", mode=0o600):
    path = tmp_path / f"{node}.pem"
    path.write_bytes(key_file(world.operators[node]))
    path.chmod(mode)
    return path


def _jwk(key, **changes):
    def b64(data):
        return base64.urlsafe_b64encode(data).decode().rstrip("=")
    return json.dumps({"kty": "OKP", "crv": "Ed25519", "d": b64(key.private_bytes_raw()),
                       "x": b64(key.public_key().public_bytes_raw()), **changes}).encode()


def test_sign_request_makes_a_request_the_node_accepts_and_refuses_once_altered(
        world, tmp_path, capsys):
    body = _body(world, "W-cli")
    (tmp_path / "request.json").write_bytes(body + b"\n")  # as saved from the page
    key = _key_file(world, tmp_path)
    assert main(["custodian", "sign-request", "--key", str(key), "--request",
                 str(tmp_path / "request.json"), "--out", str(tmp_path / "signed.json"),
                 "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["node"], shown["warrant_id"]) == ("K1", "W-cli")
    assert shown["request_sha256"] == hashlib.sha256(body).hexdigest()
    assert base64.b64decode(shown["signature"]) == world.operators["K1"].sign(body)
    signed = json.loads((tmp_path / "signed.json").read_bytes())
    altered = {**signed, "recovery_key": X25519PrivateKey.generate().public_key()
               .public_bytes_raw().hex()}
    before = world.node_state()
    with pytest.raises(Refused, match="not signed by this node's operator"):
        world.nodes["K1"].handle(rfc8785.dumps(altered))
    assert world.node_state() == before
    assert world.nodes["K1"].handle((tmp_path / "signed.json").read_bytes()).releases
    with pytest.raises(Refused, match="already used"):  # the same signed request replayed
        world.nodes["K1"].handle((tmp_path / "signed.json").read_bytes())


def test_sign_request_takes_the_portals_answer_and_refuses_what_it_must(
        world, tmp_path, capsys):
    body = _body(world, "W-cli-2")
    key = _key_file(world, tmp_path)
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"reference": "w-1", "custodian": "K1", "sha256": "x",
                                  "request": base64.b64encode(body).decode()}))
    assert main(["custodian", "sign-request", "--key", str(key), "--request", str(answer),
                 "--json"]) == 0
    assert base64.b64decode(json.loads(capsys.readouterr().out)["signature"]) == \
        world.operators["K1"].sign(body)
    reencoded = tmp_path / "reencoded.json"
    reencoded.write_text(json.dumps(json.loads(body), indent=1))
    loose = _key_file(world, tmp_path, "K2", mode=0o644)
    for args, message in [
        (["--request", str(answer), "--node", "K2"], "addressed to 'K1', not to K2"),
        (["--request", str(reencoded)], "not in its RFC 8785 encoding"),
        (["--request", str(answer), "--key", str(loose)], "readable by others"),
    ]:
        assert main(["custodian", "sign-request", "--key", str(key), *args,
                     "--out", str(tmp_path / "never.json")]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "never.json").exists()


def test_operator_key_creates_a_private_file_once(tmp_path, capsys):
    path = tmp_path / "operator.pem"
    assert main(["custodian", "operator-key", "--key-file", str(path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_key(path.read_bytes()).public_key().public_bytes_raw().hex() == \
        shown["operator_key"]
    assert main(["custodian", "operator-key", "--key-file", str(path)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err


def test_a_jwk_key_signs_as_the_pem_does_and_the_operator_reads_before_signing(world):
    body = _body(world, "W-jwk")
    key = world.operators["K1"]
    assert Operator("K1", load_key(_jwk(key))).sign(body) == key.sign(body)
    other = world.operators["K2"].public_key().public_bytes_raw()
    with pytest.raises(RequestError, match="x is not the public key"):
        load_key(_jwk(key, x=base64.urlsafe_b64encode(other).decode().rstrip("=")))
    with pytest.raises(RequestError, match="addressed to 'K1', not to K2"):
        Operator("K2", world.operators["K2"]).sign(body)
    with pytest.raises(RequestError, match="without a signature"):
        Operator("K1", key).sign(attach_signature(body, key.sign(body)))
