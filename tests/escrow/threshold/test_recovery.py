"""Recovery: exactly the window's messages from t releases, judged by receipt time; culprits
named; fewer than t reported per chain; over-collection measured; rotation and key
destruction."""

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow import keystore
from escrow.context import RecordContext
from escrow.errors import KeystoreError, RecoveryError, ReleaseRefusedError
from escrow.record import record_digest
from escrow.release import open_own_share, release_share, seal_release
from escrow.scope import NOT_RELEASED, RECOVERED, ListArchive, records_in_scope
from escrow.threshold.hook import ThresholdEscrow
from escrow.threshold.recovery import recover
from messaging.wire import parse_envelope
from tests.escrow.helpers import DAY, Entry, Issuer, case, conversation, make_custodians, make_set


@pytest.fixture(scope="module")
def c():
    return case(n=5, t=3, days=6, per_day=4, ratchet_every=3, window=(3, 5))


def run(c, releases, entries=None, start=None, end=None):
    archive = None if entries is None else ListArchive(entries, c.conv.identities)
    return c.recover(releases, archive, start=c.start if start is None else start,
                     end=c.end if end is None else end)


def not_released(report, reason):
    assert report.messages_recovered == 0
    assert report.outcome_counts()[NOT_RELEASED] == len(report.chains) > 0
    assert all(reason in chain.reason for chain in report.chains), report.chains


def test_t_releases_recover_exactly_the_window(c):
    report = run(c, c.releases(c.custodians[1:4]))
    expected = [e for e in c.conv.archive if c.start <= e.received_at < c.end]
    assert report.messages_in_scope == len(expected) == report.messages_recovered
    for message, entry in zip(report.messages, expected, strict=True):
        assert message.received_at == entry.received_at
        assert message.plaintext.startswith(b"day 3") or message.plaintext.startswith(b"day 4")
    assert report.custodians_used == ("K2", "K3", "K4")
    assert report.culprits == ()


def test_over_collection_counts_the_other_messages_of_the_recovered_chains(c):
    report = run(c, c.releases(c.custodians[:3]))
    digests = {s.ref.record_digest for s in c.scoped}
    outside = [e for e in c.conv.archive if not c.start <= e.received_at < c.end
               and record_digest(parse_envelope(e.envelope).header.record) in digests]
    assert report.out_of_scope_recoverable == len(outside) > 0
    assert report.to_json()["out_of_scope_recoverable"] == len(outside)


def test_fewer_than_t_releases_are_reported_per_chain(c):
    report = run(c, c.releases(c.custodians[:2]))
    not_released(report, "2 authentic release(s) of this chain under the authorisation, "
                         "3 needed")
    assert not report.complete


def test_a_wrong_share_is_named_and_t_good_ones_still_suffice(c):
    good = c.releases(c.custodians[1:4])
    bad_custodian = c.custodians[0]
    bad = []
    for scoped in c.scoped:
        value = bytes(32)
        bad.append(seal_release(bad_custodian, c.hook.custodian_set, c.authorisation,
                                scoped.ref.record_digest, 0, value,
                                RecordContext.of_envelope(parse_envelope(scoped.envelope))))
    report = run(c, bad + good)
    assert report.culprits == ("K1",)
    assert report.messages_recovered == report.messages_in_scope
    assert len(report.custodians_used) == 3


def test_releases_that_are_not_authentic_are_ignored(c):
    releases = c.releases(c.custodians[:3])
    to_other_key = dataclasses.replace(releases[0], custodian_id="K2")
    wrong_index = dataclasses.replace(releases[1], custodian_index=7)
    report = run(c, [to_other_key, wrong_index] + releases)
    assert report.ignored_releases == 2


def test_a_recovery_key_the_authorisation_does_not_name_is_refused(c):
    with pytest.raises(RecoveryError, match="not the one authorisation A-1 names"):
        c.recover(c.releases(c.custodians[:3]), recovery_key=X25519PrivateKey.generate())


def test_windows_are_judged_by_receipt_time_not_the_senders_claim(c):
    shifted = [Entry(e.envelope, e.received_at + 100 * DAY) for e in c.conv.archive]
    releases = c.releases(c.custodians[:3])
    moved = run(c, releases, shifted, c.start + 100 * DAY, c.end + 100 * DAY)
    original = run(c, releases)
    assert [m.plaintext for m in moved.messages] == [m.plaintext for m in original.messages]
    # the chains claim times inside the original window, but nothing was received then
    empty = run(c, releases, shifted)
    assert empty.messages_in_scope == 0 and empty.messages_recovered == 0


def test_an_empty_window_is_refused(c):
    with pytest.raises(RecoveryError, match="empty"):
        run(c, [], start=c.end, end=c.start)


def test_rotation_and_destruction_of_old_keys(tmp_path):
    """Epoch 1 records stay recoverable with epoch 1 keys until those keys are destroyed;
    epoch 2 custodians refuse them; epoch 2 records recover with epoch 2 keys."""
    old = make_custodians(3)
    old_set = make_set(old, 2, epoch=1)
    new = make_custodians(3)
    new_set = old_set.rotated(tuple(m.public for m in new))
    paths = []
    for custodian in old:
        path = tmp_path / f"{custodian.custodian_id}.json"
        keystore.save(path, custodian, "passphrase-1", keystore.FAST_KDF)
        paths.append(path)

    issuer = Issuer()
    results = {}
    for label, cset in (("old", old_set), ("new", new_set)):
        conv = conversation(ThresholdEscrow(cset), conversation_id="C1")
        for i in range(4):
            conv.send("alice" if i % 2 else "bob", f"{label} {i}".encode())
        scoped = records_in_scope(ThresholdEscrow(cset).check_record, conv.relay_archive(),
                                  "C1", 0, 2e9)
        key = X25519PrivateKey.generate()
        results[label] = (conv, scoped, key,
                          issuer.authorise(scoped, key, conv.clock.now() + DAY))

    def releases(label, custodians, cset):
        conv, scoped, _, auth = results[label]
        return [release_share(k, cset, auth, issuer.verifier(), s.envelope, conv.clock)
                for k in custodians for s in scoped]

    def recover_old(custodians):
        conv, _, key, auth = results["old"]
        return recover(ThresholdEscrow(old_set), conv.relay_archive(), "C1", 0, 2e9,
                       releases("old", custodians, old_set), key, authorisation=auth)

    # before destruction: the old keys, reloaded from their keystores, still recover
    reloaded = [keystore.load(p, "passphrase-1") for p in paths]
    assert recover_old(reloaded[:2]).messages_recovered == 5
    # epoch 2 custodians refuse epoch 1 records
    with pytest.raises(ReleaseRefusedError, match="epoch 1"):
        releases("old", new[:1], new_set)
    # epoch 2 records recover with epoch 2 keys
    conv, _, key, auth = results["new"]
    report = recover(ThresholdEscrow(new_set), conv.relay_archive(), "C1", 0, 2e9,
                     releases("new", new[:2], new_set), key, authorisation=auth)
    assert report.messages_recovered == 5

    # destroy two of the three old keys: fewer than t remain, nothing old can be recovered
    for path in paths[:2]:
        keystore.destroy(path)
    survivors = []
    for path in paths:
        try:
            survivors.append(keystore.load(path, "passphrase-1"))
        except KeystoreError:
            continue
    assert len(survivors) == 1
    not_released(recover_old(survivors), "1 authentic release(s)")


def _lifted_releases(c, context_of):
    """Honestly opened shares, signed into releases for the context ``context_of`` names."""
    out = []
    for custodian in c.custodians[:3]:
        for scoped in c.scoped:
            digest, index, value = open_own_share(custodian, c.hook.custodian_set,
                                                  scoped.envelope)
            context = RecordContext.of_envelope(parse_envelope(scoped.envelope))
            out.append(seal_release(custodian, c.hook.custodian_set, c.authorisation, digest,
                                    index, value, context_of(context)))
    return out


def test_releases_made_for_another_context_do_not_count(c):
    honest = _lifted_releases(c, lambda context: context)
    assert run(c, honest).messages_recovered > 0
    lifted = _lifted_releases(c, lambda context: dataclasses.replace(
        context, chain_number=context.chain_number + 1))
    not_released(run(c, lifted), "0 authentic")


def test_only_releases_of_the_executed_authorisation_count(c):
    other = c.issuer.authorise(c.scoped, c.recovery_key, c.conv.clock.now() + DAY, "A-2")
    releases = [release_share(custodian, c.hook.custodian_set, other, c.issuer.verifier(),
                              s.envelope, c.conv.clock)
                for custodian in c.custodians[:3] for s in c.scoped]
    assert c.recover(releases, authorisation=other).chains_recovered == len(c.scoped)
    report = c.recover(releases)
    not_released(report, "0 authentic")
    assert report.ignored_releases == len(releases)
    assert report.to_json()["authorisation_sha256"] == c.authorisation.digest.hex()


def test_a_release_is_bound_to_the_digest_and_issuer_of_its_authorisation(c):
    """Same id, another statement (another expiry, another issuer): its releases do not count
    towards this authorisation, and editing the binding breaks the signature."""
    same_id = c.issuer.authorise(c.scoped, c.recovery_key, c.conv.clock.now() + 2 * DAY)
    assert same_id.authorisation_id == c.authorisation.authorisation_id
    assert same_id.digest != c.authorisation.digest
    releases = [release_share(k, c.hook.custodian_set, same_id, c.issuer.verifier(),
                              s.envelope, c.conv.clock) for k in c.custodians[:3]
                for s in c.scoped]
    not_released(c.recover(releases), "0 authentic")
    edited = [dataclasses.replace(r, authorisation_digest=c.authorisation.digest)
              for r in releases]
    assert not any(r.verify(c.custodians[r.custodian_index].public) for r in edited)
    not_released(c.recover(edited), "0 authentic")
    statement = releases[0].to_json()
    assert statement["authorisation_sha256"] == same_id.digest.hex()
    assert statement["issuer"] == c.issuer.name


def test_recovery_needs_the_authorisation_it_executes(c):
    with pytest.raises(TypeError):
        recover(c.hook, c.archive, "C1", c.start, c.end, c.releases(c.custodians[:3]),
                c.recovery_key)
    with pytest.raises(RecoveryError, match="executes one authorisation"):
        c.recover(c.releases(c.custodians[:3]), authorisation="A-1")


def test_every_chain_is_reported_recovered_with_its_reason(c):
    report = run(c, c.releases(c.custodians[:3]))
    data = report.to_json()
    assert data["chain_outcomes"][RECOVERED] == len(c.scoped) == report.chains_recovered
    assert sum(data["chain_outcomes"].values()) == len(data["chains"]) == len(c.scoped)
    assert all(chain["outcome"] == RECOVERED and chain["reason"] for chain in data["chains"])
    assert report.complete
