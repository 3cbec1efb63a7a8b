"""A custodian node over HTTP on loopback (authority_portal.custodian_node.app, .client):
the same decisions as in-process, refusals with their logged receipt, bad bodies refused."""

import json
import threading
import urllib.request

import pytest

from authority_portal.custodian_node.app import make_node_server, server_port
from authority_portal.custodian_node.client import HttpClient
from authority_portal.custodian_node.errors import NodeError, Refused
from escrowlab.scenarios._warrant_world import WarrantWorld


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with WarrantWorld(tmp_path_factory.mktemp("http")) as w:
        servers = {name: make_node_server(node) for name, node in w.nodes.items()}
        threads = [threading.Thread(target=s.run, daemon=True) for s in servers.values()]
        for t in threads:
            t.start()
        urls = {name: f"http://127.0.0.1:{server_port(s)}" for name, s in servers.items()}
        yield w, urls
        for s in servers.values():
            s.close()


def test_a_warrant_is_released_through_http_nodes(served):
    w, urls = served
    case = w.case(w.warrant(warrant_id="W-http"))
    [run] = w.execute(case, clients={n: HttpClient(u) for n, u in urls.items()})
    assert list(run.decisions.values()) == ["released"] * 3
    assert run.report.complete and run.report.messages_recovered > 0
    assert case.state == "recovered"


def test_a_refusal_over_http_carries_the_reason_and_the_logged_receipt(served):
    w, urls = served
    case = w.case(w.warrant(warrant_id="W-http-2"))
    auth, key = w.authorisation(case.warrant, case.signatures)
    attempt = w.access.open(auth.window, auth, key)
    request = w.request("K2", auth, attempt.nonce, case.receipt("approved"))
    before = w.node_state()
    with pytest.raises(Refused, match="addressed to 'K2'") as info:
        HttpClient(urls["K1"]).release(request)
    assert info.value.receipt.event().type == "custodian.refused"
    assert w.node_state() == before


def test_malformed_and_oversized_bodies_are_refused(served):
    w, urls = served
    before = w.node_state()
    with pytest.raises(Refused, match="not valid JSON"):
        HttpClient(urls["K1"]).release(b"{")
    post = urllib.request.Request(urls["K1"] + "/v1/release",  # noqa: S310 - loopback
                                  data=b"x" * (9 << 20), method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(post)  # noqa: S310
    assert info.value.code == 413
    assert w.node_state() == before


def test_the_node_describes_itself(served):
    w, urls = served
    with urllib.request.urlopen(urls["K3"] + "/v1/node") as answer:  # noqa: S310
        data = json.loads(answer.read())
    assert data["node"] == "K3"
    assert data["operator_key"] == w.nodes["K3"].operator_key.hex()
    assert [j["id"] for j in data["judges"]] == ["J1", "J2", "J3", "JF"]


def test_an_unreachable_node_or_a_bad_url_is_a_node_error():
    with pytest.raises(NodeError, match="http"):
        HttpClient("file:///etc/passwd")
    with pytest.raises(NodeError, match="cannot be reached"):
        HttpClient("http://127.0.0.1:9", timeout=2).release(b"{}")
