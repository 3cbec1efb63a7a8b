"""S12 portal-insider (docs/scenarios.md): secrets at rest, self-promotion, CSRF and
session fixation against a judge, recovery called directly, release requests forged by a
portal whose process and database are the insider's, the local log edited.

Expected: nothing secret at rest after a case closes; a self-promotion is refused by the
portal and by the database, and a judge role written straight into the tables signs
nothing that counts (the portal checks the judge registry, as every node does);
cross-site posts are refused and a planted cookie stays anonymous; direct recovery opens
nothing; no node accepts a request the portal made without its operator (own key, replay,
moved signature, body altered after signing), each refusal is logged and no node's state
changes; an edited log fails verification, and a consistently rewritten shorter log is
caught by the witnesses (local verification alone passes).
"""

import pytest

from escrowlab.scenarios.registry import Params, get


@pytest.fixture(scope="module")
def outcomes():
    return {o.variant: o for o in get("S12").run("threshold", Params(seed=0, full=False))}


def test_no_key_or_plaintext_at_rest_after_the_case_closes(outcomes):
    o = outcomes["secrets-at-rest"]
    assert o.holds and o.metrics["exposed_total"] == 0
    assert o.details["keys_found"] == 0 and o.details["keys_looked_for"] >= 2
    assert o.details["messages_recovered_before_close"] > 0


def test_self_promotion_is_refused_and_a_database_write_opens_nothing(outcomes):
    o = outcomes["self-promotion"]
    assert o.holds
    assert o.details["portal_request"] == 409 and o.details["database_check_refused"]
    assert o.metrics["forged_accepted"] is False  # the judge registry is not the database
    assert o.details["custodian_answers"] == [409, 409, 409]  # nothing approved to release
    assert o.metrics["exposed_total"] == 0
    assert o.details["role_changes_logged"] == []  # the write is invisible in the log


def test_csrf_and_session_fixation_against_a_judge_fail(outcomes):
    o = outcomes["csrf-against-judge"]
    assert o.holds and o.metrics["forged_accepted"] is False and o.metrics["state_unchanged"]
    assert (o.details["form_post"], o.details["json_post"]) == (400, 400)


def test_recovery_called_directly_opens_nothing(outcomes):
    o = outcomes["recovery-direct"]
    assert o.holds and o.metrics["exposed_total"] == 0
    assert o.details["chain_outcomes"]["not_released"] == o.details["chains_reported"] > 0


def test_a_compromised_portal_produces_no_request_any_node_accepts(outcomes):
    o = outcomes["forged-release-requests"]
    assert o.holds and o.metrics["forged_accepted"] is False and o.metrics["state_unchanged"]
    assert o.details["honest_release"] == [200]  # the operator's own signature does work
    assert o.details["requests_accepted"] == o.metrics["exposed_total"] == 0
    assert o.details["requests_tried"] == o.details["refusals_logged"] == 11
    assert o.details["operator_keys_in_portal_files"] == 0
    assert "already used" in o.details["answers"]["replayed"][0]
    assert all("not signed by this node's operator" in a
               for a in o.details["answers"]["altered_in_transit"])


def test_an_edited_log_fails_verification(outcomes):
    o = outcomes["edit-local-audit-in-place"]
    assert o.holds and o.details["verify_before"] is True
    assert o.details["verify_after"]["ok"] is False


def test_a_rewritten_shorter_log_passes_locally_but_the_witnesses_hold_a_larger_tree(outcomes):
    o = outcomes["edit-local-audit-rewritten"]
    assert o.holds and o.metrics["detectable"] == "witness"
    assert o.details["local_verify_after"]["ok"] is True
    assert o.details["witnessed_size"] > o.details["log_size_after"]
