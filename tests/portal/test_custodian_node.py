"""The custodian node's own checks (authority_portal.custodian_node.node): each refusal is
logged with its reason, releases nothing and leaves the node's database unchanged; a
release happens only after its decision is in the witnessed log."""

import dataclasses
import itertools
import json

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.entries import Entry
from audit.note import Signer
from authority_portal.custodian_node.client import InProcessClient
from authority_portal.custodian_node.errors import NodeError, Refused
from authority_portal.custodian_node.node import CustodianNode
from authority_portal.custodian_node.store import NodeStore
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from escrowlab.scenarios._warrant_world import DAY, WarrantWorld
from tests.portal.warrant_helpers import FailingLog

_ids = itertools.count(100)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with WarrantWorld(tmp_path_factory.mktemp("nodes")) as w:
        yield w


def prepared(world, **changes):
    """An approved case of a new warrant, its authorisation, an open attempt's nonce and the
    approval receipt."""
    warrant = world.warrant(warrant_id=f"W-{next(_ids)}", **changes)
    case = world.case(warrant)
    auth, key = world.authorisation(warrant, case.signatures)
    attempt = world.access.open(auth.window, auth, key)
    return case, auth, attempt.nonce, case.receipt("approved")


def refused(world, node, request, match):
    before, size = world.node_state(), world.log.size
    with pytest.raises(Refused, match=match) as info:
        world.nodes[node].handle(request)
    assert world.node_state() == before
    entry = Entry.decode(world.log.store.leaf(size))
    assert (entry.type, entry.actor) == ("custodian.refused", f"custodian:{node}")
    assert info.value.receipt is not None and info.value.receipt.index == size
    assert entry.payload["reason"] == info.value.reason
    return entry


def test_a_warrant_case_is_released_by_t_nodes_and_every_step_is_logged(world):
    start = world.log.size
    case = world.case(world.warrant(warrant_id="W-ok"))
    [run] = world.execute(case)
    assert run.decisions == {"K1": "released", "K2": "released", "K3": "released"}
    assert run.report.complete and run.report.messages_recovered == \
        run.report.messages_in_scope > 0
    assert case.state == "recovered"
    assert world.log_types(start) == ["warrant.draft", "warrant.filed", "warrant.approved",
                                      "warrant.releasing"] + ["custodian.released"] * 3 + \
        ["warrant.recovered"]


def test_a_request_not_signed_by_the_nodes_operator_is_refused(world):
    _, auth, nonce, approval = prepared(world)
    portal = Ed25519PrivateKey.generate()
    refused(world, "K1", world.request("K1", auth, nonce, approval, operator=portal),
            "not signed by this node's operator")
    other_operator = world.operators["K2"]
    refused(world, "K1", world.request("K1", auth, nonce, approval, operator=other_operator),
            "not signed by this node's operator")


def test_a_request_for_another_node_is_refused(world):
    _, auth, nonce, approval = prepared(world)
    refused(world, "K1", world.request("K2", auth, nonce, approval), "addressed to 'K2'")


def test_a_judge_the_node_does_not_list_is_refused(world):
    _, auth, nonce, approval = prepared(world)
    stranger = Signer.generate("J1")  # the same name, another key
    forged = dataclasses.replace(auth, signatures=(sign_warrant(stranger, auth.warrant),))
    refused(world, "K1", world.request("K1", forged, nonce, approval),
            "not a judge this registry knows")


def test_the_nodes_own_clock_decides_expiry_whatever_the_portal_says(world):
    _, auth, nonce, approval = prepared(world)
    world.node_clocks["K1"].offset = 11 * DAY
    try:
        refused(world, "K1", world.request("K1", auth, nonce, approval), "expired")
    finally:
        world.node_clocks["K1"].offset = 0


def test_records_beyond_the_warrants_conversation_and_window_are_refused(world):
    case, auth, nonce, approval = prepared(world)
    wider = world.access.scope(dataclasses.replace(auth.window,
                                                   end=auth.window.end + DAY))
    more = dataclasses.replace(auth, records=tuple(s.ref for s in wider))
    refused(world, "K1", world.request("K1", more, nonce, approval), "outside")
    fewer = dataclasses.replace(auth, records=auth.records[1:])
    refused(world, "K1", world.request("K1", fewer, nonce, approval), "leaves out 1")


def test_a_node_enforces_its_own_particularity_policy(world, tmp_path):
    _, auth, nonce, approval = prepared(world)
    strict = node_like(world, "K1", tmp_path, policy=ParticularityPolicy(max_window=DAY))
    before, size = strict.store.releases(), world.log.size
    with pytest.raises(Refused, match="window of 2 days") as info:
        strict.handle(world.request("K1", auth, nonce, approval))
    assert strict.store.releases() == before
    assert info.value.receipt.index == size
    assert Entry.decode(world.log.store.leaf(size)).type == "custodian.refused"


def node_like(world, node, tmp_path, **changes):
    n = world.nodes[node]
    terms = dict(custodian=n.custodian, custodian_set=n.custodian_set, registry=n.registry,
                 policy=n.policy, archive=n.archive, log=n.log, trust=n.trust,
                 operator_key=n.operator_key, clock=n.clock,
                 store=NodeStore(tmp_path / f"{node}-copy.db", node))
    terms.update(changes)
    return CustodianNode(**terms)


def test_an_approval_that_is_not_in_the_witnessed_log_is_refused(world):
    case, auth, nonce, approval = prepared(world)
    filed = case.receipt("filed")
    refused(world, "K1", world.request("K1", auth, nonce, filed), "not the warrant's approval")
    bare = dataclasses.replace(approval, checkpoint=approval.checkpoint.split("\n\n")[0]
                               + "\n\n" + approval.checkpoint.split("\n\n")[1].splitlines()[0]
                               + "\n")
    refused(world, "K1", world.request("K1", auth, nonce, bare), "not proven")
    if approval.proof:
        bent = dataclasses.replace(approval, proof=(bytes(32),) + approval.proof[1:])
        refused(world, "K1", world.request("K1", auth, nonce, bent), "not proven")
    other_case, *_ = prepared(world)
    other = other_case.receipt("approved")
    refused(world, "K1", world.request("K1", auth, nonce, other), "another warrant")


def test_a_replayed_nonce_and_a_second_attempt_on_the_same_target_are_refused(world):
    case, auth, nonce, approval = prepared(world)
    request = world.request("K4", auth, nonce, approval)
    assert world.ask("K4", request)[0] == "released"
    refused(world, "K4", request, "already used: a replayed request")
    again, key = world.authorisation(case.warrant, case.signatures)
    attempt = world.access.open(again.window, again, key)
    refused(world, "K4", world.request("K4", again, attempt.nonce, approval),
            "already released")


def test_when_the_decision_cannot_be_logged_nothing_is_released(world, tmp_path):
    _, auth, nonce, approval = prepared(world)
    node = node_like(world, "K5", tmp_path)
    node.log = FailingLogWithProofs(world.nodes["K5"].log)
    with pytest.raises(Refused, match="could not be logged, so nothing is released"):
        node.handle(world.request("K5", auth, nonce, approval))
    assert node.store.releases() == []


class FailingLogWithProofs(FailingLog):
    """A node log that proves consistency but whose appends fail (a crash before the ack)."""

    def __init__(self, log):
        self.consistency_proof = log.consistency_proof


@pytest.mark.parametrize("mangle, match", [
    (lambda b: b[:-2], "not valid JSON"),
    (lambda b: b"[]", "expected"),
    (lambda b: json.dumps({**json.loads(b), "extra": 1}).encode(), "extra"),
    (lambda b: json.dumps({**json.loads(b), "nonce": "x"}).encode(), "nonce"),
])
def test_malformed_requests_are_refused_and_logged(world, mangle, match):
    _, auth, nonce, approval = prepared(world)
    refused(world, "K1", mangle(world.request("K1", auth, nonce, approval)), match)


def test_a_non_canonical_warrant_text_is_refused(world):
    _, auth, nonce, approval = prepared(world)
    pretty = json.dumps(auth.warrant.to_json(), indent=1)
    refused(world, "K1", world.request("K1", auth, nonce, approval, warrant_text=pretty),
            "canonical")


def test_the_operators_signature_covers_every_field(world):
    _, auth, nonce, approval = prepared(world)
    data = json.loads(world.request("K1", auth, nonce, approval))
    data["recovery_key"] = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    refused(world, "K1", rfc8785.dumps(data), "not signed by this node's operator")


def test_a_node_database_of_another_node_is_refused(world, tmp_path):
    path = tmp_path / "k.db"
    NodeStore(path, "K1").close()
    with pytest.raises(NodeError, match="database of node 'K1'"):
        NodeStore(path, "K2")


class LyingNode:
    """A node client that answers with releases made for another warrant."""

    def __init__(self, releases):
        self.releases = releases

    def release(self, request):
        return self.releases


def test_a_node_answering_with_foreign_releases_is_recorded_and_the_others_still_count(world):
    other = world.case(world.warrant(warrant_id="W-other"))
    auth, key = world.authorisation(other.warrant, other.signatures)
    attempt = world.access.open(auth.window, auth, key)
    made = world.nodes["K5"].handle(world.request("K5", auth, attempt.nonce,
                                                  other.receipt("approved"))).releases
    case = world.case(world.warrant(warrant_id="W-lied-to"))
    clients = {"K5": LyingNode(made), **{n: InProcessClient(world.nodes[n])
                                         for n in ("K1", "K2", "K3")}}
    [run] = world.execute(case, clients=clients)
    assert "not of authorisation" in run.decisions["K5"]
    assert [n for n, d in run.decisions.items() if d == "released"] == ["K1", "K2", "K3"]
    assert run.report.complete and case.state == "recovered"


class Killed(BaseException):
    """The node process dying at this point (not an error any code path catches)."""


def kill_during_release(monkeypatch):
    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr("authority_portal.custodian_node.node.release_share", die)


def restarted(world, node, tmp_path):
    """``node`` as a new process on the same database file (the old connection is left
    open, as a killed process leaves its file)."""
    return node_like(world, node.node_id, tmp_path, store=NodeStore(node.store.path,
                                                                     node.node_id))


def test_a_node_killed_after_logging_resumes_only_the_same_attempt(world, tmp_path,
                                                                   monkeypatch):
    case, auth, nonce, approval = prepared(world)
    node = node_like(world, "K2", tmp_path)
    request = world.request("K2", auth, nonce, approval)
    size = world.log.size
    with monkeypatch.context() as patch:
        kill_during_release(patch)
        with pytest.raises(Killed):
            node.handle(request)
    assert node.store.releases() == [] and len(node.store.pending()) == 1
    assert world.log_types(size) == ["custodian.released"]
    node = restarted(world, node, tmp_path)

    again, key = world.authorisation(case.warrant, case.signatures)
    other = world.access.open(again.window, again, key)
    before = world.log.size
    with pytest.raises(Refused, match=f"to attempt {nonce} was interrupted"):
        node.handle(world.request("K2", again, other.nonce, approval))
    assert node.store.releases() == [] and len(node.store.pending()) == 1
    assert world.log_types(before) == ["custodian.refused"]

    decision = node.handle(request)
    assert len(decision.releases) == len(auth.records) > 0
    resumed = world.entries(decision.receipt.index)[0]
    assert resumed.type == "custodian.released" and resumed.payload["resumed"] is True
    assert resumed.payload["nonce"] == nonce
    assert [row[0] for row in node.store.releases()] == [nonce] and node.store.pending() == []
    with pytest.raises(Refused, match="already used: a replayed request"):
        node.handle(request)


def test_a_node_killed_before_logging_resumes_and_logs_before_releasing(world, tmp_path,
                                                                        monkeypatch):
    _, auth, nonce, approval = prepared(world)
    node = node_like(world, "K3", tmp_path)
    request = world.request("K3", auth, nonce, approval)
    size = world.log.size

    class DiesOnAppend:
        consistency_proof = node.log.consistency_proof

        def append_event(self, *args):
            raise Killed

    node.log = DiesOnAppend()
    with pytest.raises(Killed):
        node.handle(request)
    assert world.log.size == size and len(node.store.pending()) == 1
    node = restarted(world, node, tmp_path)
    decision = node.handle(request)
    assert world.log_types(size) == ["custodian.released"]
    assert decision.receipt.index == size and decision.releases


def test_a_release_that_cannot_be_logged_leaves_no_reservation(world, tmp_path):
    case, auth, nonce, approval = prepared(world)
    node = node_like(world, "K4", tmp_path)
    real_log = node.log
    node.log = FailingLogWithProofs(real_log)
    with pytest.raises(Refused, match="could not be logged"):
        node.handle(world.request("K4", auth, nonce, approval))
    assert node.store.pending() == [] and node.store.releases() == []
    node.log = real_log
    again, key = world.authorisation(case.warrant, case.signatures)
    other = world.access.open(again.window, again, key)
    assert node.handle(world.request("K4", again, other.nonce, approval)).releases
