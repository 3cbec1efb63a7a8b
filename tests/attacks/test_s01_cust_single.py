"""S01 cust-single (docs/scenarios.md): one custodian's key and store stolen; also t-1 custodians.

Expected: 0 messages exposed below t; t = 1 configurations refused. The thief
runs the real code with the stolen keys: it opens its shares of every archived
record and hands them to the real recovery.
"""

import pytest

from escrow import ceremony, keystore
from escrow.errors import CeremonyError, CustodianSetError
from escrow.release import open_own_share
from escrow.scope import NOT_RELEASED
from tests.escrow.helpers import coalition_read, custodian_world, make_custodians, make_set

N, T = 5, 3


@pytest.fixture(scope="module")
def world():
    return custodian_world(N, T, [("alice", "bob", 12, 3), ("alice", "carol", 8, 2),
                                 ("carol", "dave", 6, 3)])


def exposed(hook, stolen, w, conversations) -> int:
    return sum(coalition_read(hook, stolen, w.archive, conversation).messages_recovered
               for conversation in conversations)


@pytest.mark.parametrize("stolen", range(1, T))
def test_fewer_than_t_stolen_custodians_expose_nothing(world, stolen):
    hook, custodians, w, conversations = world
    assert exposed(hook, custodians[:stolen], w, conversations) == 0


def test_a_stolen_share_is_not_the_chain_key(world):
    hook, custodians, w, _ = world
    entry = w.entries()[0]
    _, index, value = open_own_share(custodians[0], hook.custodian_set, entry.envelope)
    assert index == 0 and len(value) == 32
    # the thief has its share, yet the real recovery with it alone reads nothing
    report = coalition_read(hook, custodians[:1], w.archive, w.entries()[0].conversation_id)
    assert report.messages_recovered == 0
    assert all(c.outcome == NOT_RELEASED and "1 authentic release" in c.reason
               for c in report.chains)


def test_the_threshold_is_exactly_t(world):
    hook, custodians, w, conversations = world
    assert exposed(hook, custodians[:T], w, conversations) == len(w.entries())


def test_t_equal_one_is_refused_everywhere(tmp_path):
    with pytest.raises(CustodianSetError, match="t=1 refused"):
        make_set(make_custodians(3), 1)
    with pytest.raises(CeremonyError, match="t=1 refused"):
        ceremony.run_ceremony(tmp_path / "c", 3, 1, ["passphrase"] * 3, kdf=keystore.FAST_KDF)
    assert not (tmp_path / "c").exists()
