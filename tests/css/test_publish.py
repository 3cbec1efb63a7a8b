"""Published table roots: a witnessed log entry per version, and a device accepts only the
table whose root is that entry's."""

import dataclasses

import pytest

from audit.log import AuditLog
from audit.note import Signer
from audit.quorum import WitnessQuorum
from audit.rfc9162 import hash_leaf, root_from_leaf_hashes
from audit.trust import Trust
from audit.witness import Witness
from escrow.css import psi
from escrowlab.css import publish
from messaging.clock import ManualClock
from tests.css.helpers import small_world


@pytest.fixture
def witnessed():
    clock = ManualClock(1_767_261_600.0)
    signer = Signer.generate("css.escrowlab.test/database")
    witnesses = [Witness.generate(f"w{i}.css.test", [signer.verifier], ":memory:", clock)
                 for i in range(3)]
    log = AuditLog.open(":memory:", signer, clock=clock, quorum=WitnessQuorum(witnesses, 2))
    return log, Trust(signer.verifier, tuple(w.verifier for w in witnesses), 2)


def test_a_device_accepts_the_published_table_and_refuses_any_other(witnessed):
    log, trust = witnessed
    db, secret, table = small_world()
    publisher = publish.DatabasePublisher(log)
    published = publisher.publish(table)
    assert published.root == root_from_leaf_hashes([hash_leaf(x) for x in table.leaves()])
    assert publish.check_table(table, publisher.receipt(1), trust) == published.root
    points = list(table.points)
    points[5] = secret.blind(b"political-standin")
    altered = dataclasses.replace(table, points=tuple(points))
    with pytest.raises(publish.TableRootError):
        publish.check_table(altered, publisher.receipt(1), trust)
    other_version = psi.build_table(dataclasses.replace(db, version=2), secret)
    with pytest.raises(publish.TableRootError):
        publish.check_table(other_version, publisher.receipt(1), trust)
    with pytest.raises(publish.TableRootError):
        publisher.publish(table)


def test_an_unwitnessed_receipt_is_refused(witnessed):
    log, trust = witnessed
    _, _, table = small_world(common=5)
    clock = ManualClock(1_767_261_600.0)
    rogue = AuditLog.open(":memory:", Signer.generate("css.escrowlab.test/database"),
                          clock=clock)
    receipt = publish.DatabasePublisher(rogue).publish(table).receipt
    with pytest.raises(publish.TableRootError):
        publish.check_table(table, receipt, trust)
    with pytest.raises(publish.TableRootError):
        publish.DatabasePublisher(log).receipt(1)


def test_every_device_of_the_css_world_takes_its_table_only_under_the_witnessed_root():
    from escrow.css import database, psi
    from escrowlab.css.publish import TableRootError, check_table, table_root
    from escrowlab.css.world import build

    world = build(("alice",), listed=2, innocent=1)
    table = world.provider.table
    assert world.table_root == table_root(table)
    receipt = world.publisher.receipt(table.version)
    assert check_table(table, receipt, world.trust) == world.table_root
    entries = {"a": [*world.provider.database.hashes, b"\x07" * 32],
               "b": [*world.provider.database.hashes, b"\x07" * 32]}
    crept = psi.build_table(database.build(table.version, entries), world.provider.secret)
    with pytest.raises(TableRootError):
        check_table(crept, receipt, world.trust)  # one more hash: another root
