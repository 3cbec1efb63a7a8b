"""S03 key-theft (docs/scenarios.md): a thief copies t custodian keys and the archive and decrypts
offline.

Expected: ``none``: 0 past messages (forward secrecy: nothing in the archive
is escrowed); escrow modes: the whole archive, and ``detectable`` = none (the
offline rate is ``recovery_msgs_per_s`` of ``escrowlab bench escrow``). The
thief steals keystores and their passphrases (a custodian's store), loads them
with the real keystore code, and runs the real recovery on a copy of the
relay's archive (``escrowlab.scenarios.custodians``).
"""

import pytest

from tests.attacks.records import outcome


@pytest.mark.parametrize("mode", ["threshold", "leaf16", "crumple"])
def test_the_thief_reads_the_whole_archive_offline(mode):
    theft = outcome("S03", mode, "keys and archive stolen")
    assert theft.metrics["exposed_total"] == theft.details["archived"] == 26
    # detectable = none: the archive and the users' devices are untouched
    assert theft.metrics["detectable"] == "none"
    assert theft.metrics["state_unchanged"] is True


def test_none_the_same_theft_exposes_no_past_message():
    theft = outcome("S03", "none", "3 keystores stolen")
    assert theft.metrics["exposed_total"] == 0
    assert theft.details["records_in_archive"] == 0


@pytest.mark.parametrize("mode", ["threshold", "crumple"])
def test_the_store_alone_without_its_passphrase_is_not_enough(mode):
    alone = outcome("S03", mode, "store without passphrase")
    assert alone.details["refused"] == ["file", "passphrase"]
