"""S03 key-theft (docs/scenarios.md): a thief copies t custodian keys and the archive and decrypts
offline.

Expected: ``none``: 0 past messages (forward secrecy: nothing in the archive
is escrowed); ``threshold``: the whole archive, and ``detectable`` = none
(the offline rate is ``recovery_msgs_per_s`` of ``escrowlab bench escrow``).
The thief steals keystores and their passphrases (a custodian's store), loads
them with the real keystore code, and runs the real recovery on a copy of the
relay's archive.
"""

import pytest

from escrow import keystore
from escrow.custodian import Custodian
from escrow.errors import KeystoreError, ReleaseRefusedError
from escrow.release import open_own_share
from escrow.scope import ListArchive
from escrow.threshold.hook import ThresholdEscrow
from messaging.hooks import NoEscrow
from tests.escrow.helpers import coalition_read, make_custodians, make_set, relay_world

N, T = 5, 3
PASSPHRASE = "custodian passphrase"


def run_world(hook):
    w = relay_world(hook)
    conversations = [w.talk("alice", "bob", 10, 3), w.talk("alice", "carol", 6, 2),
                     w.talk("carol", "dave", 6, 3)]
    return w, conversations


def steal(custodians: list[Custodian], tmp_path) -> list[Custodian]:
    """The custodians' stores on disk; the thief copies T of them and opens them."""
    paths = []
    for custodian in custodians:
        path = tmp_path / f"{custodian.custodian_id}.json"
        keystore.save(path, custodian, PASSPHRASE, keystore.FAST_KDF)
        paths.append(path)
    copies = [path.read_bytes() for path in paths[:T]]
    return [keystore.open_keystore(copy, PASSPHRASE) for copy in copies]


def test_threshold_the_thief_reads_the_whole_archive_offline(tmp_path):
    custodians = make_custodians(N)
    hook = ThresholdEscrow(make_set(custodians, T))
    w, conversations = run_world(hook)
    stolen = steal(custodians, tmp_path)
    archive_copy = list(w.entries())  # offline from here on: the relay is not asked again
    identities = {a: w.identity_of(a) for a in ("alice:1", "bob:1", "carol:1", "dave:1")}
    offline = ListArchive(archive_copy, identities)
    exposed = sum(coalition_read(hook, stolen, offline, c).messages_recovered
                  for c in conversations)
    assert exposed == len(archive_copy) == 22
    # detectable = none: the archive and the users' devices are untouched
    assert [e.envelope for e in w.entries()] == [e.envelope for e in archive_copy]


def test_none_the_same_theft_exposes_no_past_message(tmp_path):
    custodians = make_custodians(N)
    hook = ThresholdEscrow(make_set(custodians, T))
    w, _ = run_world(NoEscrow())
    stolen = steal(custodians, tmp_path)
    exposed = 0
    for entry in w.entries():
        for custodian in stolen:
            try:
                open_own_share(custodian, hook.custodian_set, entry.envelope)
            except ReleaseRefusedError:
                continue
            exposed += 1
    assert exposed == 0
    assert all(entry.record == b"" for entry in w.entries())


@pytest.mark.parametrize("wrong", ["passphrase", "file"])
def test_the_store_alone_without_its_passphrase_is_not_enough(tmp_path, wrong):
    custodian = make_custodians(1)[0]
    sealed = keystore.seal(custodian, PASSPHRASE, keystore.FAST_KDF)
    if wrong == "file":
        sealed = sealed.replace(b'"name": "Custodian 1"', b'"name": "Custodian X"')
    with pytest.raises(KeystoreError):
        keystore.open_keystore(sealed, "guessed passphrase" if wrong == "passphrase"
                               else PASSPHRASE)
