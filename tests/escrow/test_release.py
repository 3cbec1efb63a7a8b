"""Release: one function, checks before keys, refuses other sets, unnamed records and
mismatched contexts; the result is signed and opens only under the recovery key."""

import dataclasses
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import RecordRef
from escrow.context import RecordContext
from escrow.custodian import Custodian
from escrow.errors import AuthorisationError, ReleaseRefusedError
from escrow.record import parse_record, record_digest
from escrow.release import ShareRelease, open_own_share, release_share
from escrow.scope import ScopedRecord
from messaging.wire import parse_envelope
from tests.escrow.attack_keys import SMALL_ORDER
from tests.escrow.helpers import DAY, Issuer, case, make_set


@pytest.fixture(scope="module")
def c():
    return case(days=3, window=(1, 2))


def release(c, custodian=None, authorisation=None, envelope=None, cset=None):
    return release_share(custodian or c.custodians[0], cset or c.hook.custodian_set,
                         authorisation or c.authorisation, c.issuer.verifier(),
                         envelope or c.scoped[0].envelope, c.conv.clock)


def test_a_release_is_signed_and_opens_only_under_the_recovery_key(c):
    result = release(c)
    assert result.verify(c.custodians[0].public)
    assert not result.verify(c.custodians[1].public)
    assert result.open(c.recovery_key) is not None
    assert result.open(X25519PrivateKey.generate()) is None
    forged = dataclasses.replace(result, custodian_index=1)
    assert not forged.verify(c.custodians[0].public)
    assert forged.open(c.recovery_key) is None


def test_an_expired_or_forged_authorisation_releases_nothing(c):
    expired = c.issuer.authorise(c.scoped, c.recovery_key, c.conv.clock.now() - 1)
    with pytest.raises(AuthorisationError, match="expired"):
        release(c, authorisation=expired)
    rogue = Issuer("judge-1").authorise(c.scoped, c.recovery_key, c.conv.clock.now() + DAY)
    with pytest.raises(AuthorisationError, match="does not verify"):
        release(c, authorisation=rogue)


def test_a_record_the_authorisation_does_not_name_is_refused(c):
    outside = next(e.envelope for e in c.conv.archive if e.received_at < c.start)
    with pytest.raises(ReleaseRefusedError, match="not named"):
        release(c, envelope=outside)


def test_a_context_that_does_not_match_the_authorisation_is_refused(c):
    ref = c.scoped[0].ref
    lying = dataclasses.replace(ref, chain_number=ref.chain_number + 1)
    other_conv = dataclasses.replace(ref, conversation_id="C2")
    for bad in (lying, other_conv):
        auth = c.issuer.authorise([type(c.scoped[0])(bad, c.scoped[0].envelope)],
                                  c.recovery_key, c.conv.clock.now() + DAY)
        with pytest.raises(ReleaseRefusedError, match="context does not match"):
            release(c, authorisation=auth)


def test_an_envelope_whose_header_was_edited_does_not_open_the_share(c):
    envelope = parse_envelope(c.scoped[0].envelope)
    edited = dataclasses.replace(envelope, header=dataclasses.replace(
        envelope.header, chain_time=envelope.header.chain_time + 3600)).encode()
    with pytest.raises(ReleaseRefusedError, match="under this context is not named"):
        release(c, envelope=edited)
    context = RecordContext.of_envelope(parse_envelope(edited))
    ref = dataclasses.replace(c.scoped[0].ref, context_digest=context.digest())
    naming_it = c.issuer.authorise([ScopedRecord(ref, edited)], c.recovery_key,
                                   c.conv.clock.now() + DAY)
    with pytest.raises(ReleaseRefusedError, match="does not open"):
        release(c, authorisation=naming_it, envelope=edited)


def test_a_custodian_of_another_epoch_refuses(c):
    fresh = [Custodian.generate(f"K{i + 1}", "New", "JA") for i in range(5)]
    next_set = make_set(fresh, 3, epoch=2)
    with pytest.raises(ReleaseRefusedError, match="epoch 1.*serves epoch 2"):
        release(c, custodian=fresh[0], cset=next_set)


def test_a_non_member_and_a_member_without_its_key_refuse(c):
    outsider = Custodian.generate("K9", "Outsider", "JA")
    with pytest.raises(ReleaseRefusedError, match="not a member"):
        release(c, custodian=outsider)
    impostor = Custodian.generate("K1", "Impostor", "JA")
    with pytest.raises(ReleaseRefusedError, match="holds no key"):
        release(c, custodian=impostor)


def test_an_envelope_without_a_record_is_refused(c):
    envelope = parse_envelope(c.scoped[0].envelope)
    stripped = dataclasses.replace(envelope, header=dataclasses.replace(
        envelope.header, record=b"")).encode()
    with pytest.raises(ReleaseRefusedError, match="missing"):
        release(c, envelope=stripped)
    with pytest.raises(ReleaseRefusedError, match="not an escrowed envelope"):
        release(c, envelope=b"garbage")


def test_record_refs_are_checked():
    with pytest.raises(AuthorisationError):
        RecordRef("C1", "a", "b", -1, bytes(32), bytes(32))


def test_a_release_round_trips_through_json_and_bad_json_is_refused(c):
    result = release(c)
    again = ShareRelease.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result and again.verify(c.custodians[0].public)
    for edit in (lambda d: d.update(extra=1), lambda d: d.update(format="v0"),
                 lambda d: d.update(ciphertext="zz"), lambda d: d.update(set_epoch=-1),
                 lambda d: d.update(custodian_index=True), lambda d: d.update(custodian_id="")):
        data = result.to_json()
        edit(data)
        with pytest.raises(ReleaseRefusedError):
            ShareRelease.from_json(data)


def test_a_record_with_fewer_shares_than_the_set_is_refused_not_crashed(c):
    envelope = parse_envelope(c.scoped[0].envelope)
    record = parse_record(envelope.header.record)
    short = dataclasses.replace(record, threshold=2, shares=record.shares[:2]).encode()
    forged = dataclasses.replace(envelope, header=dataclasses.replace(envelope.header,
                                                                      record=short)).encode()
    context = RecordContext.of_envelope(parse_envelope(forged))
    ref = RecordRef("C1", context.sender, context.recipient, context.chain_number,
                    record_digest(short), context.digest())
    authorisation = c.issuer.authorise([ScopedRecord(ref, forged)], c.recovery_key,
                                       c.conv.clock.now() + DAY)
    for custodian in (c.custodians[0], c.custodians[4]):
        with pytest.raises(ReleaseRefusedError, match="2-of-2"):
            release(c, custodian, authorisation, forged)
        with pytest.raises(ReleaseRefusedError, match="2-of-2"):
            open_own_share(custodian, c.hook.custodian_set, forged)


def test_a_release_names_and_binds_its_context_and_recovery_key(c):
    result = release(c)
    context = RecordContext.of_envelope(parse_envelope(c.scoped[0].envelope))
    statement = result.to_json()
    assert statement["context_sha256"] == context.digest().hex()
    assert statement["recovery_key"] == c.recovery_key.public_key().public_bytes_raw().hex()
    other_key = X25519PrivateKey.generate().public_key().public_bytes_raw()
    other_context = dataclasses.replace(context, chain_number=context.chain_number + 1)
    for lifted in (dataclasses.replace(result, recovery_key=other_key),
                   dataclasses.replace(result, context_digest=other_context.digest())):
        assert not lifted.verify(c.custodians[0].public)
        assert lifted.open(c.recovery_key) is None


@pytest.mark.parametrize("edit", [
    lambda d: d.update(custodian_index=256),
    lambda d: d.update(set_epoch=2**32),
    lambda d: d.update(set_fingerprint="00"),
    lambda d: d.update(record_sha256="00" * 33),
    lambda d: d.update(context_sha256=""),
    lambda d: d.update(recovery_key="00" * 31),
    lambda d: d.update(ephemeral_public="00"),
    lambda d: d.update(signature="00" * 63),
    lambda d: d.update(authorisation_sha256="00" * 31),
    lambda d: d.update(authorisation_id="A-\ud800"),
    lambda d: d.update(issuer="judge\udfff"),
    lambda d: d.update(custodian_id="K\ud800"),
    lambda d: d.update(custodian_index=1.0),
    lambda d: d.update(set_epoch=True),
    lambda d: d.update(format=True),
    lambda d: d.update(ciphertext="00" * 65),
    lambda d: d.pop("issuer"),
])
def test_release_fields_out_of_range_are_refused_when_parsed(c, edit):
    data = release(c).to_json()
    edit(data)
    with pytest.raises(ReleaseRefusedError):
        ShareRelease.from_json(data)


@pytest.mark.parametrize("changes", [
    {"authorisation_id": "A-\ud800"}, {"issuer": "judge 1"}, {"custodian_id": "K\udc00"},
    {"custodian_id": ""}, {"custodian_index": True}, {"set_epoch": 2**32},
    {"authorisation_digest": bytes(31)}, {"record_digest": "00" * 32},
])
def test_a_release_built_in_python_with_a_bad_field_is_refused(c, changes):
    with pytest.raises(ReleaseRefusedError):
        dataclasses.replace(release(c), **changes)


def test_a_release_names_the_digest_and_issuer_of_its_authorisation(c):
    result = release(c)
    assert result.authorisation_digest == c.authorisation.digest
    assert result.issuer == c.authorisation.issuer
    for lifted in (dataclasses.replace(result, authorisation_digest=bytes(32)),
                   dataclasses.replace(result, issuer="judge-2")):
        assert not lifted.verify(c.custodians[0].public)
        assert lifted.open(c.recovery_key) is None


@pytest.mark.parametrize("point", SMALL_ORDER, ids=lambda p: p.hex()[:8] + p.hex()[-2:])
def test_a_small_order_recovery_key_is_refused_at_release(c, point):
    """An authorisation from another implementation that did not check its key: the
    custodian refuses with its own error, never a bare ValueError, and releases nothing."""

    class Unchecked:
        authorisation_id = c.authorisation.authorisation_id
        issuer = c.authorisation.issuer
        digest = c.authorisation.digest
        records = c.authorisation.records
        recovery_key = point
        not_after = c.authorisation.not_after

    class Accepting:
        def verify(self, authorisation, now):
            return None

    with pytest.raises(ReleaseRefusedError, match="small-order"):
        release_share(c.custodians[0], c.hook.custodian_set, Unchecked(), Accepting(),
                      c.scoped[0].envelope, c.conv.clock)
