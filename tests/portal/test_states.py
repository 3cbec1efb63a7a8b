"""A warrant's case (authority_portal.warrants.states): legal transitions only, each one an
audit-log entry whose receipt the case keeps, and nothing changed when a step is refused
or the log does not acknowledge it."""

import pytest

from audit.receipt import verify_receipt
from authority_portal.warrants import states
from authority_portal.warrants.errors import PolicyError, SignatureError, TransitionError
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from authority_portal.warrants.states import WarrantCase
from tests.portal.warrant_helpers import FailingLog, judge, registry, warrant

# ruff: noqa: F811 - the shared audit fixtures are imported by name


@pytest.fixture
def j1():
    return judge("J1")


def new_case(log, j1, **changes):
    return WarrantCase.draft(warrant(**changes), log, registry(j1), ParticularityPolicy(),
                             "officer:O1")


def test_the_whole_lifecycle_is_logged_with_a_receipt_per_transition(log, j1, quorum):
    case = new_case(log, j1)
    case.file("officer:O1")
    case.approve("judge:J1", [sign_warrant(j1, case.warrant)])
    case.transition(states.RELEASING, "portal", {"nonce": "ab" * 16})
    case.transition(states.RECOVERED, "portal", {"recovered_chains": 2})
    case.transition(states.CLOSED, "officer:O1")
    assert [s for s, _ in case.receipts] == ["draft", "filed", "approved", "releasing",
                                             "recovered", "closed"]
    for state, receipt in case.receipts:
        verify_receipt(receipt, log.signer.verifier, quorum.verifiers, 2)
        entry = receipt.event()
        assert entry.type == f"warrant.{state}"
        assert entry.payload["warrant_sha256"] == case.warrant.sha256.hex()
    approved = case.receipt("approved").event().payload
    assert approved["judges"] == ["J1"] and approved["from"] == "filed"


@pytest.mark.parametrize("path", [
    [states.APPROVED], [states.RELEASING], [states.CLOSED],
    [states.FILED, states.RELEASING], [states.FILED, states.DENIED, states.APPROVED],
])
def test_an_illegal_transition_is_refused_and_not_logged(log, j1, path):
    case = new_case(log, j1)
    *ok, bad = path
    for step in ok:
        case.transition(step, "x")
    size, state = log.size, case.state
    with pytest.raises(TransitionError, match=f"not {bad}"):
        case.transition(bad, "x")
    assert (log.size, case.state) == (size, state)


def test_a_closed_case_goes_nowhere(log, j1):
    case = new_case(log, j1)
    for step in (states.FILED, states.DENIED, states.CLOSED):
        case.transition(step, "x")
    for step in states.STATES:
        with pytest.raises(TransitionError):
            case.transition(step, "x")


def test_filing_outside_the_policy_is_refused_and_changes_nothing(log, j1):
    case = new_case(log, j1, targets=("dm:alice:*",))
    size = log.size
    with pytest.raises(PolicyError, match="wildcard"):
        case.file("officer:O1")
    assert (case.state, log.size, len(case.receipts)) == ("draft", size, 1)


def test_an_approval_that_does_not_verify_is_refused_and_changes_nothing(log, j1):
    case = new_case(log, j1)
    case.file("officer:O1")
    size = log.size
    with pytest.raises(SignatureError):
        case.approve("judge:J9", [sign_warrant(judge("J9"), case.warrant)])
    with pytest.raises(SignatureError):
        case.approve("officer:O1", [])
    assert (case.state, log.size, case.judges) == ("filed", size, ())


def test_when_the_log_does_not_acknowledge_nothing_changes(log, j1):
    case = new_case(log, j1)
    case.log = FailingLog()
    with pytest.raises(OSError):
        case.file("officer:O1")
    assert case.state == "draft" and [s for s, _ in case.receipts] == ["draft"]
    with pytest.raises(OSError):
        WarrantCase.draft(warrant(), FailingLog(), registry(j1), ParticularityPolicy(), "O1")


def test_an_unknown_state_is_refused(log, j1):
    with pytest.raises(TransitionError, match="unknown"):
        new_case(log, j1).transition("opened", "x")


def test_approving_or_filing_out_of_order_is_refused_and_not_logged(log, j1):
    case = new_case(log, j1)
    size = log.size
    with pytest.raises(TransitionError, match="not approved"):
        case.approve("judge:J1", [sign_warrant(j1, case.warrant)])
    case.file("officer:O1")
    with pytest.raises(TransitionError, match="not filed"):
        case.file("officer:O1")
    assert (case.state, log.size, case.judges) == ("filed", size + 1, ())
