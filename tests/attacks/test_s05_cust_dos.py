"""S05 cust-dos (docs/scenarios.md): k custodians refuse or are offline; m return bad shares
(flipped bits, random well-formed values), signed with their own keys.

Expected: recovery succeeds exactly when n - k - m >= t good shares exist; every
bad share is detected and its custodian named.
"""

import dataclasses
import os

import pytest

from escrow.context import RecordContext
from escrow.release import open_own_share, seal_release
from escrow.scope import FORGED, NOT_RELEASED
from messaging.wire import parse_envelope
from tests.escrow.helpers import case

N, T = 5, 3
BAD = {
    "flipped": lambda value: bytes([value[0] ^ 0x80]) + value[1:],
    "random": lambda value: os.urandom(len(value)),
}


@pytest.fixture(scope="module")
def c():
    return case(n=N, t=T, days=4, per_day=3, ratchet_every=2, window=(1, 3))


def bad_releases(c, custodian, kind):
    out = []
    for scoped in c.scoped:
        digest, index, value = open_own_share(custodian, c.hook.custodian_set, scoped.envelope)
        context = RecordContext.of_envelope(parse_envelope(scoped.envelope))
        out.append(seal_release(custodian, c.hook.custodian_set, c.authorisation, digest,
                                index, BAD[kind](value), context))
    return out


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("refusing,bad", [
    (k, m) for k in range(N + 1) for m in range(N + 1 - k)
])
def test_recovery_succeeds_iff_t_good_shares_and_names_the_culprits(c, refusing, bad, kind):
    present = c.custodians[refusing:]
    liars, honest = present[:bad], present[bad:]
    releases = [r for liar in liars for r in bad_releases(c, liar, kind)] + c.releases(honest)
    report = c.recover(releases)
    if len(honest) >= T:
        assert report.messages_recovered == report.messages_in_scope > 0
        assert report.culprits == tuple(liar.custodian_id for liar in liars)
        assert set(report.custodians_used) <= {h.custodian_id for h in honest}
        assert report.complete
    else:
        assert report.messages_recovered == report.chains_recovered == 0
        outcome = NOT_RELEASED if len(present) < T else FORGED
        assert all(chain.outcome == outcome and f"{T}" in chain.reason
                   for chain in report.chains)


def test_a_release_altered_in_transit_is_ignored_not_blamed(c):
    releases = c.releases(c.custodians[:T + 1])
    first = releases[0]
    altered = dataclasses.replace(first, sealed=dataclasses.replace(
        first.sealed, ciphertext=bytes([first.sealed.ciphertext[0] ^ 1])
        + first.sealed.ciphertext[1:]))
    report = c.recover([altered] + releases[1:])
    assert report.ignored_releases == 1
    assert report.culprits == ()
    assert report.messages_recovered == report.messages_in_scope
