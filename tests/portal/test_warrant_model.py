"""The warrant model (authority_portal.warrants.model): checked fields, one canonical
RFC 8785 encoding, its SHA-256, immutability, strict decoding."""

import dataclasses
import hashlib
import json

import pytest
import rfc8785

from authority_portal.warrants.errors import WarrantError
from authority_portal.warrants.model import Warrant
from tests.portal.warrant_helpers import DAY, T0, warrant


def test_the_hash_is_the_sha256_of_the_rfc8785_encoding():
    w = warrant()
    assert w.encode() == rfc8785.dumps(w.to_json())
    assert w.sha256 == hashlib.sha256(w.encode()).digest()


def test_decoding_the_canonical_bytes_gives_the_same_warrant():
    w = warrant(targets=("C2", "C1"), replaces="W-0")
    assert Warrant.decode(w.encode()) == w
    assert w.targets == ("C1", "C2")


def test_the_same_targets_in_another_order_are_the_same_warrant():
    assert warrant(targets=("C2", "C1")).sha256 == warrant(targets=("C1", "C2")).sha256


def test_a_warrant_cannot_be_edited():
    w = warrant()
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.targets = ("C2",)


def test_every_field_changes_the_hash():
    base = warrant().sha256
    for change in (dict(warrant_id="W-2"), dict(agency="Agency B"), dict(jurisdiction="JB"),
                   dict(officer="O2"), dict(targets=("C2",)), dict(window_start=T0),
                   dict(window_end=T0 + 6 * DAY), dict(legal_basis="other"),
                   dict(issued_at=T0 + 1), dict(expires_at=T0 + 11 * DAY),
                   dict(replaces="W-0")):
        assert warrant(**change).sha256 != base, change


def test_non_canonical_bytes_are_refused():
    w = warrant()
    pretty = json.dumps(w.to_json(), indent=2).encode()
    assert Warrant.from_json(json.loads(pretty)) == w
    with pytest.raises(WarrantError, match="canonical"):
        Warrant.decode(pretty)
    unsorted = dict(w.to_json(), targets=["C2", "C1"])
    with pytest.raises(WarrantError, match="canonical"):
        Warrant.decode(rfc8785.dumps(unsorted))


@pytest.mark.parametrize("change, message", [
    (dict(window_end=T0 + 3 * DAY), "window"),
    (dict(expires_at=T0), "expires after"),
    (dict(targets=()), "targets"),
    (dict(targets=("C1", "C1")), "once"),
    (dict(targets=("",)), "target"),
    (dict(warrant_id="W 1"), "warrant id"),
    (dict(officer=""), "officer"),
    (dict(agency=" A"), "agency"),
    (dict(legal_basis="x" * 4001), "legal basis"),
    (dict(issued_at=True), "issued_at"),
    (dict(window_start=1.5), "window start"),
    (dict(replaces="W-1"), "itself"),
])
def test_a_malformed_warrant_is_refused_with_a_clear_error(change, message):
    with pytest.raises(WarrantError, match=message):
        warrant(**change)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(extra=1), "extra"),
    (lambda d: d.update(format="v0"), "format"),
    (lambda d: d.update(issued_at="1"), "issued_at"),
    (lambda d: d["window"].update(start=1.0), "start"),
    (lambda d: d.pop("replaces"), "replaces"),
])
def test_decoding_refuses_unknown_missing_and_mistyped_fields(mutate, message):
    data = warrant().to_json()
    mutate(data)
    with pytest.raises(WarrantError, match=message):
        Warrant.from_json(data)


def test_decoding_refuses_bytes_that_are_not_strict_json():
    encoded = warrant().encode()
    for bad in (b"\xff", encoded[:-1], encoded.replace(b'"O1"', b'"O1","officer":"O2"'),
                b'{"issued_at": NaN}'):
        with pytest.raises(WarrantError):
            Warrant.decode(bad)
