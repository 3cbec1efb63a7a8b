"""The warrant as the workflow's authorisation (authority_portal.warrants.authorisation):
the escrow workflow and release_share take it as they are, and each custodian's
WarrantVerifier refuses what its own registry, clock, policy and archive do not support."""

import dataclasses
import math

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from authority_portal.warrants.authorisation import (
    ArchiveScope,
    WarrantAuthorisation,
    WarrantVerifier,
    authorise,
    warrant_window,
)
from authority_portal.warrants.policy import ParticularityPolicy
from authority_portal.warrants.signatures import sign_warrant
from escrow.errors import AuthorisationError
from escrow.workflow import LawfulAccess
from tests.escrow.helpers import DAY, case, mode_of
from tests.portal.warrant_helpers import judge, registry, warrant


@pytest.fixture(scope="module")
def world():
    c = case(n=4, t=3, days=4, per_day=4, ratchet_every=2, window=(1, 3))
    j1 = judge("J1")
    now = c.conv.clock.now()
    w = warrant(window_start=math.floor(c.start), window_end=math.ceil(c.end),
                issued_at=int(now) - 1, expires_at=int(now + 10 * DAY))
    access = LawfulAccess(c.deployment, c.archive, mode_of(c.hook))
    scoped = access.scope(warrant_window(w, "C1"))
    return c, j1, w, access, scoped


def verifier(c, j1, **terms):
    return WarrantVerifier(registry(j1), ParticularityPolicy(**terms),
                           ArchiveScope(c.archive, c.deployment.screen))


def make(world, signer=None, **changes):
    c, j1, w, access, scoped = world
    key = X25519PrivateKey.generate()
    auth = authorise(w, (sign_warrant(signer or j1, w),), "C1", scoped,
                     key.public_key().public_bytes_raw())
    return dataclasses.replace(auth, **changes) if changes else auth, key


def test_a_warrant_authorisation_opens_its_window_through_the_workflow(world):
    c, j1, w, access, scoped = world
    auth, key = make(world)
    attempt = access.open(auth.window, auth, key)
    for party in range(3):
        attempt.submit(attempt.nonce, c.deployment.release(party, auth, verifier(c, j1),
                                                           scoped, c.conv.clock))
    report = attempt.recover()
    assert str(attempt.progress()) == "3/3"
    assert report.chains_recovered == len(scoped) > 0 and report.complete
    assert report.messages_recovered == report.messages_in_scope > 0


def test_the_digest_binds_warrant_conversation_records_and_recovery_key(world):
    auth, _ = make(world)
    other, _ = make(world)
    assert auth.digest != other.digest  # another recovery key
    fewer = dataclasses.replace(auth, records=auth.records[:1])
    assert fewer.digest != auth.digest
    assert WarrantAuthorisation.from_json(auth.to_json()) == auth
    assert auth.issuer == "J1" and auth.authorisation_id == "W-1"


def release(world, auth, v=None, now=None):
    c, j1, *_ = world
    if now is not None:
        return v.verify(auth, now)
    return c.deployment.release(0, auth, v or verifier(c, j1), world[4], c.conv.clock)


def test_an_unknown_judge_is_refused_by_the_custodian(world):
    auth, _ = make(world, signer=judge("J1"))  # same name, another key
    with pytest.raises(AuthorisationError, match="not a judge this registry knows"):
        release(world, auth)


def test_fewer_judges_than_the_custodians_policy_requires_are_refused(world):
    c, j1, *_ = world
    auth, _ = make(world)
    with pytest.raises(AuthorisationError, match="2 are required"):
        release(world, auth, verifier(c, j1, judges_required=2))


def test_the_custodians_own_clock_decides_expiry(world):
    c, j1, w, *_ = world
    auth, _ = make(world)
    v = verifier(c, j1)
    with pytest.raises(AuthorisationError, match="expired"):
        release(world, auth, v, now=w.expires_at)
    with pytest.raises(AuthorisationError, match="not valid yet"):
        release(world, auth, v, now=w.issued_at - 1)


def test_records_outside_the_warrants_scope_are_refused(world):
    c, j1, w, access, scoped = world
    auth, _ = make(world)
    partial = dataclasses.replace(auth, records=auth.records[:-1])
    with pytest.raises(AuthorisationError, match="leaves out 1"):
        release(world, partial)
    wider = access.scope(dataclasses.replace(auth.window, start=float(w.window_start - DAY)))
    assert len(wider) > len(scoped)
    more = dataclasses.replace(auth, records=tuple(s.ref for s in wider))
    with pytest.raises(AuthorisationError, match="outside C1"):
        release(world, more)


def test_a_policy_the_custodian_holds_is_enforced_again(world):
    c, j1, *_ = world
    auth, _ = make(world)
    with pytest.raises(AuthorisationError, match="window of"):
        release(world, auth, verifier(c, j1, max_window=int(DAY)))


def test_a_signed_authorisation_of_another_kind_is_refused(world):
    c, j1, *_ = world
    with pytest.raises(AuthorisationError, match="only judge-signed warrants"):
        verifier(c, j1).verify(c.authorisation, c.conv.clock.now())


def test_a_record_of_another_conversation_or_target_is_refused(world):
    auth, _ = make(world)
    with pytest.raises(AuthorisationError, match="does not name"):
        dataclasses.replace(auth, conversation_id="C2")
