"""Safety numbers reproduce libsignal's numeric fingerprint bit for bit."""

from __future__ import annotations

import json

import pytest

from messaging import safety


@pytest.fixture(scope="module")
def vector(vectors_dir):
    return json.loads((vectors_dir / "libsignal" / "vectors.json").read_text())["safety_number"]


def test_each_side_matches_libsignal_fingerprint_bytes(vector):
    for side in ("alice", "bob"):
        key = bytes.fromhex(vector[f"{side}_identity"])
        digest = safety.fingerprint(key, vector[f"{side}_stable_id"])
        assert len(digest) == 64
        assert digest[:32].hex() == vector[f"{side}_fingerprint_first_32_bytes"]


def test_displayable_matches_libsignal_from_both_ends(vector):
    alice = (bytes.fromhex(vector["alice_identity"]), vector["alice_stable_id"])
    bob = (bytes.fromhex(vector["bob_identity"]), vector["bob_stable_id"])
    from_alice = safety.safety_number(*alice, *bob)
    from_bob = safety.safety_number(*bob, *alice)
    assert from_alice.digits == vector["displayable"]
    assert from_bob.digits == vector["displayable"]
    assert from_alice.local == from_bob.remote


def test_formatted_is_twelve_groups_of_five_and_matches_itself(vector):
    number = safety.safety_number(
        bytes.fromhex(vector["alice_identity"]), vector["alice_stable_id"],
        bytes.fromhex(vector["bob_identity"]), vector["bob_stable_id"],
    )
    groups = number.formatted().split(" ")
    assert len(groups) == 12 and all(len(g) == 5 and g.isdigit() for g in groups)
    assert number.matches(number.formatted())
    last = (int(number.digits[-1]) + 1) % 10
    assert not number.matches(number.digits[:-1] + str(last))


def test_a_changed_key_or_stable_id_changes_the_number(vector):
    key_a, key_b = bytes.fromhex(vector["alice_identity"]), bytes.fromhex(vector["bob_identity"])
    base = safety.safety_number(key_a, "alice:1", key_b, "bob:1", iterations=10)
    flipped = bytes([key_b[0] ^ 1]) + key_b[1:]
    assert safety.safety_number(key_a, "alice:1", flipped, "bob:1", iterations=10) != base
    assert safety.safety_number(key_a, "alice:1", key_b, "bob:2", iterations=10) != base


def test_half_digits_are_chunks_mod_100000():
    digest = bytes(range(64))
    expected = "".join(
        f"{int.from_bytes(digest[i:i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5)
    )
    assert safety.displayable_digits(digest) == expected


@pytest.mark.parametrize(
    ("key", "stable_id", "iterations"),
    [(b"", "a", 1), ("text", "a", 1), (b"k", "", 1), (b"k", b"x" * 257, 1), (b"k", "a", 0)],
)
def test_bad_arguments_are_rejected(key, stable_id, iterations):
    with pytest.raises(ValueError):
        safety.fingerprint(key, stable_id, iterations)


def test_short_fingerprint_is_rejected():
    with pytest.raises(ValueError):
        safety.displayable_digits(b"\x00" * 29)


def test_identity_convenience_uses_the_128_byte_encoding():
    from messaging.identity import IdentityKeyPair

    alice, bob = IdentityKeyPair.generate().public, IdentityKeyPair.generate().public
    number = safety.safety_number_for(alice, "alice:1", bob, "bob:1")
    assert number == safety.safety_number(alice.encode(), "alice:1", bob.encode(), "bob:1")
    assert number.digits == safety.safety_number_for(bob, "bob:1", alice, "alice:1").digits
