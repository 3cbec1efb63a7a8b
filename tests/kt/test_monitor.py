"""A user's monitor sees every device added to its account (docs/key_transparency.md,
"Monitoring")."""

from audit.kt.monitor import SelfMonitor
from tests.kt.helpers import identity, populated, trust_of


def test_an_unapproved_device_raises_an_alert_in_the_epoch_it_appears(log, log_signer,
                                                                      witnesses):
    directory, lists = populated(log)
    monitor = SelfMonitor(directory, "user1", trust_of(log_signer, witnesses))
    assert monitor.check(lists["user1"]) == []
    directory.publish_epoch()
    directory.stage("user1", {**lists["user1"], "user1:7": identity()})
    directory.publish_epoch()
    alerts = monitor.check(lists["user1"])
    assert [(a.epoch, a.added, a.removed) for a in alerts] == [(2, ("user1:7",), ())]
    assert monitor.lookups == 3


def test_an_approved_device_raises_none(log, log_signer, witnesses):
    directory, lists = populated(log)
    monitor = SelfMonitor(directory, "user1", trust_of(log_signer, witnesses))
    approved = {**lists["user1"], "user1:2": identity()}
    directory.stage("user1", approved)
    directory.publish_epoch()
    assert monitor.check(approved) == []
