"""S02 cust-collude (docs/scenarios.md): t custodians collude without a warrant, bypassing the
portal.

Expected: everything escrowed is exposed; nothing in the protocol notices;
``min_coalition`` = t custodians + the archive. The coalition signs releases to
its own key with no judge involved and runs the real recovery.
"""

import pytest

from messaging.events import ReceiveFailed
from tests.escrow.helpers import coalition_read, custodian_world

N, T = 5, 3


@pytest.fixture(scope="module")
def world():
    return custodian_world(N, T, [("alice", "bob", 10, 3), ("alice", "carol", 6, 2),
                                 ("carol", "dave", 6, 3)])


def test_t_colluding_custodians_read_every_escrowed_message(world):
    hook, custodians, w, conversations = world
    recovered = sum(coalition_read(hook, custodians[-T:], w.archive, c).messages_recovered
                    for c in conversations)
    assert recovered == len(w.entries())


def test_min_coalition_is_t_custodians_plus_the_archive(world):
    hook, custodians, w, conversations = world
    min_coalition = None
    for size in range(1, N + 1):
        if coalition_read(hook, custodians[:size], w.archive, conversations[0]).complete:
            min_coalition = size
            break
    assert min_coalition == T


def test_nothing_in_the_protocol_notices(world):
    hook, custodians, w, conversations = world
    alice, bob = w.devices["alice"], w.devices["bob"]

    def sessions():
        return (alice.session_with(conversations[0], "bob:1").serialize(),
                bob.session_with(conversations[0], "alice:1").serialize())

    before = sessions()
    archive_before = [(e.id, e.envelope) for e in w.entries()]
    coalition_read(hook, custodians[:T], w.archive, conversations[0])
    assert [(e.id, e.envelope) for e in w.entries()] == archive_before
    assert sessions() == before
    # the users keep talking, escrowed as before, and see nothing unusual
    alice.drain_events()
    bob.drain_events()
    w.talk("alice", "bob", 2, 1)
    for device in (alice, bob):
        assert not any(isinstance(e, ReceiveFailed) for e in device.drain_events())
