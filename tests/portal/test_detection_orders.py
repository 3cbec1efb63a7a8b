"""Detection orders (authority_portal.warrants.detection): issued through the warrant
machinery (signed by judges, within a policy, every step logged first), and verified by
the client, which refuses a forged, expired, over-broad or replayed order and changes
nothing when it does."""

import pytest

from authority_portal.warrants import states
from authority_portal.warrants.detection import (
    DetectionOrderVerifier,
    OrderCase,
    OrderTerms,
    decode_signed,
    encode_signed,
)
from authority_portal.warrants.errors import PolicyError, TransitionError, WarrantError
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from authority_portal.warrants.states import WarrantCase
from escrow.css.orders import OrderError
from tests.portal.warrant_helpers import DAY, T0, FailingLog, judge, registry, warrant

# ruff: noqa: F811 - the shared audit fixtures are imported by name

POLICY = ParticularityPolicy(max_targets=3, max_window=7 * DAY, max_validity=10 * DAY)


def terms(**changes) -> OrderTerms:
    fields = dict(order_id="D-1", agency="Agency A", jurisdiction="JA", officer="O1",
                  users=("bob", "alice"), window_start=T0 + DAY, window_end=T0 + 3 * DAY,
                  database_version=2, legal_basis="Article 7 detection order, file 12.",
                  issued_at=T0, expires_at=T0 + 5 * DAY)
    fields.update(changes)
    return OrderTerms(**fields)


@pytest.fixture
def j1():
    return judge("J1")


def issue(log, j1, **changes) -> OrderCase:
    case = OrderCase.draft(terms(**changes), log, registry(j1), POLICY, "officer:O1")
    case.file("officer:O1")
    case.approve("judge:J1", [sign_warrant(j1, case.terms, OrderCase.APPROVAL_HEADER)])
    return case


def test_an_issued_order_is_logged_then_verified_by_the_client(log, j1):
    case = issue(log, j1)
    assert [e.type for e in (r.event() for _, r in case.receipts)] == [
        "detection_order.draft", "detection_order.filed", "detection_order.approved"]
    assert case.receipt("approved").event().payload["detection_order_sha256"] == \
        case.terms.sha256.hex()
    order = DetectionOrderVerifier(registry(j1), POLICY).verify(case.signed(), T0 + DAY)
    assert order.users == ("alice", "bob") and order.database_version == 2
    assert order.covers("alice", T0 + DAY, 2) and not order.covers("alice", T0 + 3 * DAY, 2)


def test_an_order_has_no_release_state_and_is_signed_only_once_approved(log, j1):
    case = OrderCase.draft(terms(), log, registry(j1), POLICY, "officer:O1")
    with pytest.raises(TransitionError, match="only an approved order"):
        case.signed()
    case.file("officer:O1")
    case.approve("judge:J1", [sign_warrant(j1, case.terms, OrderCase.APPROVAL_HEADER)])
    with pytest.raises(TransitionError, match="unknown detection order state"):
        case.transition(states.RELEASING, "portal")
    case.transition(states.EXPIRED, "portal")
    with pytest.raises(TransitionError, match="is expired"):
        case.signed()


def test_an_unacknowledged_issuance_changes_nothing(log, j1):
    case = OrderCase.draft(terms(), log, registry(j1), POLICY, "officer:O1")
    case.file("officer:O1")
    case.log = FailingLog()
    with pytest.raises(OSError):
        case.approve("judge:J1", [sign_warrant(j1, case.terms, OrderCase.APPROVAL_HEADER)])
    assert (case.state, case.signatures) == (states.FILED, ())
    with pytest.raises(TransitionError):
        case.signed()


def test_an_over_broad_order_is_refused_at_filing_and_by_the_client(log, j1):
    broad = terms(users=("a", "b", "c", "d"), window_start=T0 - 3 * DAY, window_end=T0 + 5 * DAY)
    case = OrderCase.draft(broad, log, registry(j1), POLICY, "officer:O1")
    size = log.size
    with pytest.raises(PolicyError, match="names 4 targets.*window of 8 days"):
        case.file("officer:O1")
    assert (log.size, case.state) == (size, states.DRAFT)
    signed = encode_signed(broad, [sign_warrant(j1, broad, OrderCase.APPROVAL_HEADER)])
    with pytest.raises(OrderError, match="detection order D-1 is not particular enough"):
        DetectionOrderVerifier(registry(j1), POLICY).verify(signed, T0 + DAY)


@pytest.mark.parametrize("users", [("*",), ("al%",), ("group:",), ("dm:alice",)])
def test_a_wildcard_user_is_refused_whatever_the_policy(users):
    with pytest.raises(WarrantError, match="name each user"):
        terms(users=users)


def test_a_window_past_the_expiry_is_refused():
    with pytest.raises(WarrantError, match="cannot end after the order expires"):
        terms(window_end=T0 + 6 * DAY)


def test_forged_orders_are_refused(log, j1):
    verifier = DetectionOrderVerifier(registry(j1), POLICY)
    genuine = issue(log, j1)
    widened = terms(users=("alice", "bob", "carol"))
    stolen = encode_signed(widened, genuine.signatures)
    with pytest.raises(OrderError, match="does not verify over this detection order's hash"):
        verifier.verify(stolen, T0 + DAY)
    outsider = judge("J1")
    with pytest.raises(OrderError, match="is not a judge this registry knows"):
        verifier.verify(encode_signed(widened, [sign_warrant(
            outsider, widened, OrderCase.APPROVAL_HEADER)]), T0 + DAY)
    as_warrant = encode_signed(widened, [sign_warrant(j1, widened)])
    with pytest.raises(OrderError, match="does not verify"):
        verifier.verify(as_warrant, T0 + DAY)
    with pytest.raises(OrderError, match="carries no judge signature"):
        verifier.verify(encode_signed(widened, []), T0 + DAY)
    assert verifier.verify(genuine.signed(), T0 + DAY).order_id == "D-1", \
        "the refusals changed nothing"


def test_an_order_signature_is_not_a_warrant_approval(log, j1):
    w = warrant()
    case = WarrantCase.draft(w, log, registry(j1), ParticularityPolicy(), "officer:O1")
    case.file("officer:O1")
    with pytest.raises(WarrantError, match="does not verify over this warrant's hash"):
        case.approve("judge:J1", [sign_warrant(j1, w, OrderCase.APPROVAL_HEADER)])


def test_expiry_and_not_yet_valid_are_by_the_clients_clock(log, j1):
    signed = issue(log, j1).signed()
    verifier = DetectionOrderVerifier(registry(j1), POLICY)
    with pytest.raises(OrderError, match="not valid yet"):
        verifier.verify(signed, T0 - 1)
    with pytest.raises(OrderError, match="expired at"):
        verifier.verify(signed, T0 + 5 * DAY)
    assert verifier.verify(signed, T0 + 5 * DAY - 1).order_id == "D-1"


def test_a_replayed_order_is_refused(log, j1):
    signed = issue(log, j1).signed()
    verifier = DetectionOrderVerifier(registry(j1), POLICY)
    verifier.verify(signed, T0 + DAY)
    with pytest.raises(OrderError, match="already accepted.*replayed"):
        verifier.verify(signed, T0 + 2 * DAY)


def test_k_of_m_judges(log, j1):
    j2 = judge("J2")
    two = ParticularityPolicy(max_targets=3, max_window=7 * DAY, max_validity=10 * DAY,
                              judges_required=2)
    t = terms()
    one = encode_signed(t, [sign_warrant(j1, t, OrderCase.APPROVAL_HEADER)])
    with pytest.raises(OrderError, match="approved by 1 judge"):
        DetectionOrderVerifier(registry(j1, j2), two).verify(one, T0 + DAY)
    both = encode_signed(t, [sign_warrant(j, t, OrderCase.APPROVAL_HEADER) for j in (j1, j2)])
    assert DetectionOrderVerifier(registry(j1, j2), two).verify(both, T0 + DAY).users == \
        ("alice", "bob")


def test_the_signed_bytes_are_read_strictly(j1):
    t = terms()
    signed = encode_signed(t, [sign_warrant(j1, t, OrderCase.APPROVAL_HEADER)])
    assert decode_signed(signed)[0] == t
    for bad, message in [(signed.replace(b'{"format"', b'{ "format"', 1), "canonical"),
                         (signed.replace(b'"database_version":2', b'"database_version":2.0'),
                          "fractional"),
                         (signed[:-1], "signed detection order"),
                         (signed.replace(b'"users":["alice","bob"]',
                                         b'"users":["bob","alice"]'), "canonical")]:
        with pytest.raises(OrderError, match=message):
            DetectionOrderVerifier(registry(j1), POLICY).verify(bad, T0 + DAY)


def test_a_logged_order_with_an_unencodable_receipt_is_a_clear_refusal():
    # found by `escrowlab fuzz --targets css.logged_order`: RFC 8785 cannot encode 2^64
    import json

    from authority_portal.warrants.detection import LOGGED_FORMAT, decode_logged
    from authority_portal.warrants.errors import WarrantError

    bundle = json.dumps({"format": LOGGED_FORMAT, "receipt": {
        "checkpoint": "x", "entry": "", "index": 2**64, "proof": []}, "signed": ""},
        separators=(",", ":"), sort_keys=True).encode()
    with pytest.raises(WarrantError, match="canonicalised"):
        decode_logged(bundle)
