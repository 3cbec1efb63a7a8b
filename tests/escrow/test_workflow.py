"""The lawful-access workflow (escrow.workflow): one attempt per authorisation with its own
nonce, progress k/t, idempotent submissions, refused foreign ones, cancel, and the per-chain
recovery report, for threshold, crumple and leaf16 through the same API."""

import dataclasses
import functools

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.crumple.hook import CrumpleEscrow
from escrow.crumple.recovery import CrumpleRecoveryReport
from escrow.errors import EscrowError, WorkflowError
from escrow.leaf16.unit import EscrowAgent, UnitKeyRelease
from escrow.modes import get_mode
from escrow.scope import NOT_ESCROWED, NOT_RELEASED, RECOVERED, Window
from escrow.workflow import CANCELLED, EXECUTED, OPEN, LawfulAccess
from tests.escrow.helpers import DAY, Issuer, case, relay_world
from tests.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def c():
    return case(n=4, t=3, days=3, per_day=4, ratchet_every=2, window=(1, 2))


def fresh(c):
    """A new attempt of the case's authorisation, nothing submitted."""
    return c.attempt(custodians=())


def releases_of(c, party, authorisation=None):
    return c.deployment.release(party, authorisation or c.authorisation, c.issuer.verifier(),
                                c.scoped, c.conv.clock)


def test_every_attempt_has_its_own_random_nonce(c):
    nonces = {fresh(c).nonce for _ in range(5)}
    assert len(nonces) == 5 and all(len(n) == 32 for n in nonces)


def test_a_submission_with_another_nonce_is_refused_and_changes_nothing(c):
    attempt, other = fresh(c), fresh(c)
    with pytest.raises(WorkflowError, match="wrong nonce"):
        attempt.submit(other.nonce, releases_of(c, 0))
    with pytest.raises(WorkflowError, match="wrong nonce"):
        attempt.submit(None, releases_of(c, 0))
    assert attempt.progress().progress == 0 and attempt.progress().releases == 0


def test_progress_counts_distinct_custodians_up_to_t(c):
    attempt = fresh(c)
    assert str(attempt.progress()) == "0/3"
    for k in (1, 2, 3):
        progress = attempt.submit(attempt.nonce, releases_of(c, k - 1))
        assert (progress.progress, progress.required) == (k, 3)
        assert progress.complete == (k == 3)
    assert attempt.progress().parties == ("K1", "K2", "K3")
    assert attempt.progress().releases == 3 * len(c.scoped)
    assert attempt.progress().to_json()["complete"] is True


def test_the_same_release_submitted_twice_counts_once(c):
    attempt = fresh(c)
    made = releases_of(c, 0)
    attempt.submit(attempt.nonce, made)
    again = attempt.submit(attempt.nonce, made + made)
    assert (again.progress, again.releases) == (1, len(c.scoped))


def test_another_release_of_what_a_custodian_already_released_is_refused(c):
    attempt = fresh(c)
    attempt.submit(attempt.nonce, releases_of(c, 0))
    remade = releases_of(c, 0)  # the same records, sealed afresh: other bytes
    with pytest.raises(WorkflowError, match="already submitted another release"):
        attempt.submit(attempt.nonce, remade)
    assert attempt.progress().releases == len(c.scoped)


def test_a_release_of_another_authorisation_is_refused_and_nothing_of_its_batch_counts(c):
    attempt = fresh(c)
    other = c.issuer.authorise(c.scoped, c.recovery_key, c.conv.clock.now() + DAY, "A-2")
    foreign = releases_of(c, 1, other)
    with pytest.raises(WorkflowError, match="not of authorisation A-1"):
        attempt.submit(attempt.nonce, releases_of(c, 0) + foreign[:1])
    assert attempt.progress().progress == 0


def test_a_release_edited_to_name_this_authorisation_is_still_refused(c):
    attempt = fresh(c)
    edited = dataclasses.replace(releases_of(c, 0)[0], issuer="judge-2")
    with pytest.raises(WorkflowError, match="digest, id and issuer"):
        attempt.submit(attempt.nonce, [edited])


def test_releases_of_another_set_or_mode_are_refused(c):
    attempt = fresh(c)
    stranger = case(n=3, t=2, days=2, per_day=2, window=(0, 1))
    with pytest.raises(WorkflowError):
        attempt.submit(attempt.nonce, stranger.releases(stranger.custodians[:1]))
    agent_release = UnitKeyRelease(EscrowAgent("NIST"), c.authorisation.authorisation_id,
                                   c.authorisation.issuer, c.authorisation.digest)
    with pytest.raises(WorkflowError, match="share releases"):
        attempt.submit(attempt.nonce, [agent_release])
    assert isinstance(WorkflowError("x"), EscrowError)


def test_below_t_the_report_says_so_per_chain_and_the_attempt_stays_open(c):
    attempt = c.attempt(custodians=(0, 1))
    report = attempt.recover()
    assert report.chains_recovered == 0 and report.messages_recovered == 0
    assert {ch.outcome for ch in report.chains} == {NOT_RELEASED}
    assert all("2 authentic release(s)" in ch.reason for ch in report.chains)
    assert attempt.state == OPEN
    attempt.submit(attempt.nonce, releases_of(c, 3))
    assert attempt.recover().chains_recovered == len(c.scoped)


def test_at_t_the_final_report_is_the_recovery_report_and_the_attempt_is_executed(c):
    attempt = c.attempt(custodians=(0, 1, 2))
    report = attempt.recover()
    direct = c.recover(c.releases(c.custodians[:3]))
    assert report.to_json() == direct.to_json()
    assert report.messages_recovered == report.messages_in_scope > 0
    assert report.custodians_used == ("K1", "K2", "K3")
    assert attempt.state == EXECUTED and attempt.recover() is report
    with pytest.raises(WorkflowError, match="executed"):
        attempt.submit(attempt.nonce, releases_of(c, 3))
    with pytest.raises(WorkflowError, match="cannot be cancelled"):
        attempt.cancel()


def test_cancel_drops_the_attempt_and_what_was_submitted(c):
    access = LawfulAccess(c.deployment, c.archive)
    attempt = access.open(c.window, c.authorisation, c.recovery_key)
    attempt.submit(attempt.nonce, releases_of(c, 0))
    with pytest.raises(WorkflowError, match="already has an attempt"):
        access.open(c.window, c.authorisation, c.recovery_key)
    progress = attempt.cancel()
    assert (progress.state, progress.progress, progress.releases) == (CANCELLED, 0, 0)
    with pytest.raises(WorkflowError, match="cancelled"):
        attempt.submit(attempt.nonce, releases_of(c, 1))
    with pytest.raises(WorkflowError, match="cancelled"):
        attempt.recover()
    again = access.open(c.window, c.authorisation, c.recovery_key)
    assert again.nonce != attempt.nonce and access.attempt(again.nonce) is again
    with pytest.raises(WorkflowError, match="no attempt"):
        access.attempt("0" * 32)


def test_an_executed_authorisation_is_not_executed_twice(c):
    access = LawfulAccess(c.deployment, c.archive)
    attempt = access.open(c.window, c.authorisation, c.recovery_key)
    for party in range(3):
        attempt.submit(attempt.nonce, releases_of(c, party))
    attempt.recover()
    with pytest.raises(WorkflowError, match="executed"):
        access.open(c.window, c.authorisation, c.recovery_key)


def test_an_attempt_needs_the_recovery_key_its_authorisation_names(c):
    access = LawfulAccess(c.deployment, c.archive)
    with pytest.raises(WorkflowError, match="recovery key"):
        access.open(c.window, c.authorisation, X25519PrivateKey.generate())
    with pytest.raises(WorkflowError, match="ReleaseAuthorisation"):
        access.open(c.window, "A-1", c.recovery_key)


def test_crumple_recovers_through_the_same_attempt_api():
    c = case(n=3, t=2, days=2, per_day=3, window=(0, 1),
             hook_class=functools.partial(CrumpleEscrow, puzzle_bits=6))
    attempt = c.attempt(custodians=(0, 1))
    report = attempt.recover()
    assert isinstance(report, CrumpleRecoveryReport)
    assert report.messages_recovered == report.messages_in_scope > 0
    assert len(report.chain_work) == report.chains_recovered


def _leaf_world():
    deployment = get_mode("leaf16").deployment(leaf_width=8)
    w = relay_world(deployment.hook_for, users=("alice", "bob"))
    dm = w.talk("alice", "bob", 6, 2)
    window = Window(dm, 0, w.clock.now() + 1)
    access = LawfulAccess(deployment, w.archive)
    scoped = access.scope(window)
    issuer, key = Issuer(), X25519PrivateKey.generate()
    authorisation = issuer.authorise(scoped, key, w.clock.now() + DAY, "W-1")
    return deployment, w, access, window, scoped, issuer, authorisation, key


def test_leaf16_agents_release_through_the_same_attempt_api():
    deployment, w, access, window, scoped, issuer, authorisation, key = _leaf_world()
    attempt = access.open(window, authorisation, key)
    first = deployment.release(0, authorisation, issuer.verifier(), scoped, w.clock)
    assert str(attempt.submit(attempt.nonce, first)) == "1/2"
    below = attempt.recover()
    assert below.messages_recovered == 0
    assert {ch.outcome for ch in below.chains} == {NOT_RELEASED}
    assert deployment.agents[0].releases == []  # nothing left either agent
    assert str(attempt.submit(attempt.nonce, first)) == "1/2"
    attempt.submit(attempt.nonce, deployment.release(1, authorisation, issuer.verifier(),
                                                     scoped, w.clock))
    report = attempt.recover()
    assert report.messages_recovered == report.messages_in_scope == 6
    assert {ch.outcome for ch in report.chains} == {RECOVERED}
    assert attempt.state == EXECUTED


def test_leaf16_refuses_a_foreign_agent_and_another_authorisation():
    deployment, w, access, window, scoped, issuer, authorisation, key = _leaf_world()
    attempt = access.open(window, authorisation, key)
    stranger = EscrowAgent("agent-1 (NIST)")
    with pytest.raises(WorkflowError, match="not an escrow agent of this family"):
        attempt.submit(attempt.nonce, [stranger.release_for(authorisation, issuer.verifier(),
                                                            w.clock.now())])
    other = issuer.authorise(scoped, key, w.clock.now() + DAY, "W-2")
    with pytest.raises(WorkflowError, match="not of authorisation W-1"):
        attempt.submit(attempt.nonce, deployment.release(0, other, issuer.verifier(), scoped,
                                                         w.clock))
    with pytest.raises(EscrowError):  # an agent checks the authorisation itself
        deployment.release(0, authorisation, Issuer("judge-2").verifier(), scoped, w.clock)
    assert attempt.progress().progress == 0


def test_under_none_nothing_is_in_scope_and_every_chain_is_not_escrowed(c):
    deployment = get_mode("none").deployment()
    w = relay_world(deployment.hook_for, users=("alice", "bob"))
    dm = w.talk("alice", "bob", 4, 2)
    window = Window(dm, 0, w.clock.now() + 1)
    assert LawfulAccess(deployment, w.archive).scope(window) == ()
    report = get_mode("none").recover(deployment, w.archive, window, c.authorisation, [],
                                      c.recovery_key)
    assert report.messages_recovered == 0 and report.chains
    assert {ch.outcome for ch in report.chains} == {NOT_ESCROWED}
    with pytest.raises(WorkflowError):
        deployment.admit(releases_of(c, 0)[0])


def test_one_module_walks_the_archive():
    """Only escrow/scope.py reads archive entries; every recovery goes through it."""
    readers = sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "escrow")
                     .rglob("*.py") if ".entries(" in p.read_text())
    assert readers == ["escrow/scope.py"]
