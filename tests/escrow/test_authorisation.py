"""Signed release authorisations: canonical, strict, verified against trusted issuers only."""

import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from escrow.authorisation import (
    RecordRef,
    ReleaseAuthorisation,
    SignedAuthorisation,
    TrustedIssuers,
)
from escrow.errors import AuthorisationError

NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def authorisation(key):
    refs = (RecordRef("C1", "alice:1", "bob:1", 0, os.urandom(32)),
            RecordRef("C1", "bob:1", "alice:1", 0, os.urandom(32)))
    return SignedAuthorisation.issue("judge-1", key, "A-1", refs, os.urandom(32), NOW + 100)


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
