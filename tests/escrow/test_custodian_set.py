"""Custodian sets: canonical encoding, fingerprint, policy (t = 1 and t > n refused), rotation."""

import json

import pytest

from escrow.custodian import CustodianPublic
from escrow.custodian_set import CustodianSet
from escrow.errors import CustodianSetError
from tests.escrow.attack_keys import SMALL_ORDER
from tests.escrow.helpers import make_custodians, make_set


@pytest.fixture(scope="module")
def custodians():
    return make_custodians(5)


def test_the_canonical_encoding_round_trips_and_is_stable(custodians):
    cset = make_set(custodians, 3)
    again = CustodianSet.loads(cset.canonical_bytes())
    assert again == cset
    assert again.canonical_bytes() == cset.canonical_bytes()
    assert again.fingerprint == cset.fingerprint
    # Key order and whitespace of the input do not matter; the canonical bytes do.
    shuffled = json.dumps(dict(reversed(list(cset.to_json().items()))), indent=3)
    assert CustodianSet.loads(shuffled).fingerprint == cset.fingerprint


@pytest.mark.parametrize("change", ["epoch", "threshold", "order", "member"])
def test_every_field_changes_the_fingerprint(custodians, change):
    base = make_set(custodians, 3)
    other = {
        "epoch": lambda: make_set(custodians, 3, epoch=2),
        "threshold": lambda: make_set(custodians, 4),
        "order": lambda: make_set(list(reversed(custodians)), 3),
        "member": lambda: make_set(custodians[:4] + make_custodians(1, "X"), 3),
    }[change]()
    assert other.fingerprint != base.fingerprint


@pytest.mark.parametrize("threshold", [0, 1])
def test_a_threshold_below_two_is_refused(custodians, threshold):
    with pytest.raises(CustodianSetError, match="single custodian"):
        make_set(custodians, threshold)


def test_a_threshold_above_n_is_refused(custodians):
    with pytest.raises(CustodianSetError, match="exceeds"):
        make_set(custodians, 6)


def test_more_than_sixteen_custodians_are_refused():
    with pytest.raises(CustodianSetError, match="2..16"):
        make_set(make_custodians(17), 3)


def test_duplicate_custodians_are_refused(custodians):
    twin = CustodianPublic("K9", "Twin", "JA", custodians[0].public.share_key,
                           custodians[1].public.signing_key)
    with pytest.raises(CustodianSetError, match="share key"):
        CustodianSet(1, 2, (custodians[0].public, twin))


@pytest.mark.parametrize("edit", [
    lambda d: d.update(extra=1),
    lambda d: d.pop("epoch"),
    lambda d: d.update(version=2),
    lambda d: d["members"][0].update(share_key="zz"),
    lambda d: d["members"][0].update(id="bad id"),
    lambda d: d["members"][0].update(signing_key="00" * 31),
    lambda d: d.update(version=True),
    lambda d: d.update(version=1.0),
    lambda d: d.update(threshold=3.0),
    lambda d: d.update(members={}),
    lambda d: d["members"][0].update(name="K\ud800"),
    lambda d: d["members"][0].update(jurisdiction=["JA"]),
    lambda d: d["members"][0].update(share_key=7),
])
def test_malformed_descriptors_are_refused(custodians, edit):
    data = make_set(custodians, 3).to_json()
    edit(data)
    with pytest.raises(CustodianSetError):
        CustodianSet.from_json(data)


def test_an_epoch_must_be_a_natural_number(custodians):
    for epoch in (-1, True, 2**32, "1"):
        with pytest.raises(CustodianSetError, match="epoch"):
            make_set(custodians, 3, epoch=epoch)


def test_not_json_is_refused():
    with pytest.raises(CustodianSetError, match="JSON"):
        CustodianSet.loads(b"\xff{")


def test_rotation_makes_the_next_epoch_with_a_new_fingerprint(custodians):
    first = make_set(custodians, 3)
    fresh = make_custodians(5)
    second = first.rotated(tuple(c.public for c in fresh))
    assert second.epoch == first.epoch + 1
    assert second.threshold == first.threshold
    assert second.fingerprint != first.fingerprint


def test_index_of_names_unknown_custodians(custodians):
    cset = make_set(custodians, 3)
    assert cset.index_of("K4") == 3
    with pytest.raises(CustodianSetError, match="K99"):
        cset.index_of("K99")


@pytest.mark.parametrize(("text", "message"), [
    (b"[" * 30_000 + b"]" * 30_000, "JSON"),
    (b'{"version": 1, "pad": "' + b"x" * 2_000_000 + b'"}', "too large"),
])
def test_hostile_set_files_are_refused_cleanly(text, message):
    with pytest.raises(CustodianSetError, match=message):
        CustodianSet.loads(text)


@pytest.mark.parametrize("point", SMALL_ORDER, ids=lambda p: p.hex()[:8] + p.hex()[-2:])
def test_a_small_order_share_key_is_refused(custodians, point):
    public = custodians[0].public
    with pytest.raises(CustodianSetError, match="small-order"):
        CustodianPublic(public.custodian_id, public.name, public.jurisdiction, point,
                        public.signing_key)


@pytest.mark.parametrize("text", [b'{"version": true, "epoch": 1, "threshold": 2, '
                                  b'"members": []}',
                                  b'{"version": 1.0, "epoch": 1, "threshold": 2, '
                                  b'"members": []}',
                                  b'{"version": 1, "version": 1}'])
def test_set_files_with_loose_versions_or_duplicates_are_refused(text):
    with pytest.raises(CustodianSetError):
        CustodianSet.loads(text)
