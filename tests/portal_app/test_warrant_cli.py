"""``escrowlab warrant file|sign|status|recover --portal`` (docs/portal.md, "The command
line"): the lifecycle scripted against a served portal over HTTP, the judge's key used on
the client side only; a wrong account, a wrong key or a stranger's warrant is refused with
the portal's reason."""

from __future__ import annotations

import base64
import json

import pytest

from authority_portal.custodian_node.operator import load_key
from escrowlab.cli import main
from escrowlab.portal.server import PortalServer
from escrowlab.portal.session import Credentials, PortalSession
from tests.portal_app.helpers import make_world


@pytest.fixture
def served(tmp_path):
    world = make_world(tmp_path / "world")
    server = PortalServer(world.app, threads=4)
    accounts = {}
    for name, account in world.accounts.items():
        accounts[name] = tmp_path / f"{name}.json"
        accounts[name].write_text(json.dumps({"email": account.email, "password":
                                              account.password, "totp": account.totp}))
    yield world, server.url, accounts
    server.stop()
    world.close()


def _run(capsys, *args) -> tuple[int, dict | str]:
    code = main(["warrant", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and "--json" in args else err)


def _approve(world, url, name, reference):
    """A custodian operator's approval through the portal's API: the node's release request
    signed with the operator's own key file, outside the portal."""
    account = world.accounts[name]
    session = PortalSession(url, Credentials(account.email, account.password, account.totp))
    path = f"/api/v1/custodian/warrants/{reference}"
    request = base64.b64decode(session.call("GET", path + "/request")["request"])
    key = load_key(world.operator_key_files[name].read_bytes())
    session.call("POST", path + "/approval",
                 {"signature": base64.b64encode(key.sign(request)).decode()})


def test_the_whole_lifecycle_from_the_command_line(served, capsys):
    world, url, accounts = served
    portal = ["--portal", url]
    start, end = world.archive_times
    code, filed = _run(capsys, "file", *portal, "--account", str(accounts["officer-1"]),
                       "--agency", "Agency A", "--jurisdiction", "JA", "--conversation",
                       world.conversation_id, "--window-start", str(int(start)),
                       "--window-end", str(int(end) + 1), "--legal-basis", "s. 8", "--json")
    assert code == 0 and filed["status"] == "filed", filed
    reference = filed["reference"]
    code, signed = _run(capsys, "sign", *portal, "--account", str(accounts["judge-1"]),
                        "--reference", reference, "--key-file",
                        str(world.judge_key_files["judge-1"]), "--json")
    assert code == 0 and signed["status"] == "approved", signed
    for operator in ("operator-1", "operator-2", "operator-3"):
        _approve(world, url, operator, reference)
    code, status = _run(capsys, "status", *portal, "--account", str(accounts["officer-1"]),
                        reference, "--json")
    assert code == 0 and status["status"] == "recovered"
    code, view = _run(capsys, "recover", *portal, "--account", str(accounts["officer-1"]),
                      reference, "--json")
    assert code == 0 and len(view["messages"]) == view["messages_recovered"] == \
        view["messages_in_scope"] > 0


def test_refusals_carry_the_portals_reason(served, capsys):
    world, url, accounts = served
    portal = ["--portal", url]
    code, err = _run(capsys, "status", *portal, "--account", str(accounts["judge-1"]), "W-404")
    assert code == 2 and "403" in err
    code, err = _run(capsys, "status", *portal, "--account", str(accounts["officer-1"]),
                     "W-404")
    assert code == 2 and "escrowlab:" in err
    wrong = accounts["officer-1"].with_name("wrong.json")
    wrong.write_text(json.dumps({"email": world.accounts["officer-1"].email,
                                 "password": "not it", "totp": None}))
    code, err = _run(capsys, "status", *portal, "--account", str(wrong), "W-1")
    assert code == 2 and "sign-in" in err
    code, err = _run(capsys, "sign", *portal, "--account", str(accounts["judge-1"]),
                     "--reference", "W-1", "--key-file", str(accounts["judge-1"]))
    assert code == 2 and "PKCS#8" in err
    code, err = _run(capsys, "sign", "--account", str(accounts["judge-1"]), "--key-file",
                     str(world.judge_key_files["judge-1"]))
    assert code == 2 and "--portal" in err
