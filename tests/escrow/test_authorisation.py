"""Signed release authorisations: canonical, strict, verified against trusted issuers only."""

import dataclasses
import hashlib
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from escrow.authorisation import (
    RecordRef,
    ReleaseAuthorisation,
    SignedAuthorisation,
    TrustedIssuers,
)
from escrow.errors import AuthorisationError
from tests.escrow.attack_keys import SMALL_ORDER

NOW = 1_700_000_000.0
RECOVERY_KEY = X25519PrivateKey.generate().public_key().public_bytes_raw()


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def authorisation(key):
    refs = (RecordRef("C1", "alice:1", "bob:1", 0, os.urandom(32), os.urandom(32)),
            RecordRef("C1", "bob:1", "alice:1", 0, os.urandom(32), os.urandom(32)))
    return SignedAuthorisation.issue("judge-1", key, "A-1", refs, RECOVERY_KEY, NOW + 100)


def trusted(key):
    return TrustedIssuers({"judge-1": key.public_key().public_bytes_raw()})


def test_a_signed_authorisation_verifies_and_round_trips(key, authorisation):
    assert isinstance(authorisation, ReleaseAuthorisation)
    trusted(key).verify(authorisation, NOW)
    again = SignedAuthorisation.from_json(json.loads(json.dumps(authorisation.to_json())))
    assert again == authorisation
    trusted(key).verify(again, NOW)


def test_an_expired_authorisation_is_refused(key, authorisation):
    with pytest.raises(AuthorisationError, match="expired"):
        trusted(key).verify(authorisation, NOW + 100)


def test_an_untrusted_issuer_is_refused(authorisation):
    other = TrustedIssuers({"judge-2": Ed25519PrivateKey.generate().public_key()
                            .public_bytes_raw()})
    with pytest.raises(AuthorisationError, match="not trusted"):
        other.verify(authorisation, NOW)


def test_a_signature_by_another_key_is_refused(authorisation):
    impostor = TrustedIssuers({"judge-1": Ed25519PrivateKey.generate().public_key()
                               .public_bytes_raw()})
    with pytest.raises(AuthorisationError, match="does not verify"):
        impostor.verify(authorisation, NOW)


@pytest.mark.parametrize("edit", [
    lambda d: d.update(not_after=d["not_after"] + 1e6),
    lambda d: d["records"].pop(),
    lambda d: d["records"][0].update(chain_number=7),
    lambda d: d.update(recovery_key="11" * 32),
])
def test_an_authorisation_edited_after_signing_is_refused(key, authorisation, edit):
    data = authorisation.to_json()
    data["records"] = [dict(r) for r in data["records"]]
    edit(data)
    with pytest.raises(AuthorisationError, match="does not verify"):
        trusted(key).verify(SignedAuthorisation.from_json(data), NOW)


@pytest.mark.parametrize("edit", [
    lambda d: d.update(extra=1),
    lambda d: d.update(format="v0"),
    lambda d: d.update(records=[]),
    lambda d: d.update(id="has space"),
    lambda d: d.update(recovery_key="00"),
    lambda d: d.update(signature="zz"),
    lambda d: d.update(not_after=True),
    lambda d: d.update(not_after=float("nan")),
    lambda d: d.update(not_after=float("inf")),
    lambda d: d.update(not_after=10**400),
    lambda d: d["records"][0].update(chain_number=True),
    lambda d: d["records"][0].update(chain_number=2**32),
    lambda d: d["records"].append(d["records"][0]),
    lambda d: d["records"][0].update(record_sha256="00"),
    lambda d: d["records"][0].update(context_sha256="00" * 31),
    lambda d: d["records"][0].update(sender="alice\ud800"),
    lambda d: d["records"][0].update(conversation_id="\udfff"),
    lambda d: d["records"][0].update(recipient=7),
    lambda d: d.update(id="A-\ud800"),
    lambda d: d.update(issuer=["judge-1"]),
    lambda d: d.update(format=1),
    lambda d: d.update(records={}),
    lambda d: d.update(recovery_key="00" * 32),
])
def test_malformed_authorisations_are_refused(authorisation, edit):
    data = authorisation.to_json()
    data["records"] = [dict(r) for r in data["records"]]
    edit(data)
    with pytest.raises(AuthorisationError):
        SignedAuthorisation.from_json(data)


def test_only_signed_authorisations_are_accepted(key, authorisation):
    class Unsigned:
        authorisation_id = "A-1"
        issuer = "judge-1"
        digest = authorisation.digest
        records = authorisation.records
        recovery_key = authorisation.recovery_key
        not_after = NOW + 100

    with pytest.raises(AuthorisationError, match="only signed"):
        trusted(key).verify(Unsigned(), NOW)


@pytest.mark.parametrize("not_after", [float("nan"), float("inf"), 10**400])
def test_an_authorisation_that_could_never_expire_is_not_issued(key, authorisation, not_after):
    with pytest.raises(AuthorisationError, match="not_after"):
        SignedAuthorisation.issue("judge-1", key, "A-2", authorisation.records,
                                  authorisation.recovery_key, not_after)


def test_the_digest_is_the_sha256_of_the_signed_bytes(authorisation):
    assert authorisation.digest == hashlib.sha256(authorisation.signed_bytes()).digest()
    other = dataclasses.replace(authorisation, not_after=authorisation.not_after + 1)
    assert other.digest != authorisation.digest


@pytest.mark.parametrize("bad_id", ["A-\ud800", "", "has space", 7, None])
def test_an_authorisation_built_in_python_with_a_bad_id_is_refused(authorisation, bad_id):
    with pytest.raises(AuthorisationError, match="authorisation id"):
        dataclasses.replace(authorisation, authorisation_id=bad_id)
    with pytest.raises(AuthorisationError):
        SignedAuthorisation.issue("judge-1", Ed25519PrivateKey.generate(), bad_id,
                                  authorisation.records, RECOVERY_KEY, NOW + 100)


@pytest.mark.parametrize("bad", ["alice\ud800", "\udc00", "", "a\nb", b"alice:1"])
def test_a_record_reference_built_in_python_with_a_bad_id_is_refused(bad):
    with pytest.raises(AuthorisationError):
        RecordRef("C1", bad, "bob:1", 0, bytes(32), bytes(32))
    with pytest.raises(AuthorisationError):
        RecordRef(bad, "alice:1", "bob:1", 0, bytes(32), bytes(32))


def test_the_small_order_list_is_every_encoding_x25519_refuses():
    assert len(set(SMALL_ORDER)) == 14
    private = X25519PrivateKey.generate()
    for point in SMALL_ORDER:
        with pytest.raises(ValueError):
            private.exchange(X25519PublicKey.from_public_bytes(point))


@pytest.mark.parametrize("point", SMALL_ORDER, ids=lambda p: p.hex()[:8] + p.hex()[-2:])
def test_a_small_order_recovery_key_is_refused_at_issuance(key, authorisation, point):
    with pytest.raises(AuthorisationError, match="small-order"):
        SignedAuthorisation.issue("judge-1", key, "A-2", authorisation.records, point,
                                  NOW + 100)
    data = authorisation.to_json()
    data["recovery_key"] = point.hex()
    with pytest.raises(AuthorisationError, match="small-order"):
        SignedAuthorisation.from_json(data)
