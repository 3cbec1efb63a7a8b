"""Custodian keys at rest: Argon2id + AES-GCM; wrong passphrase, edits and bad files refused."""

import json

import pytest

from escrow import keystore
from escrow.custodian import Custodian
from escrow.errors import KeystoreError

PASSPHRASE = "correct horse battery"


@pytest.fixture(scope="module")
def custodian():
    return Custodian.generate("K1", "Custodian 1", "JA")


@pytest.fixture(scope="module")
def sealed(custodian):
    return keystore.seal(custodian, PASSPHRASE, keystore.FAST_KDF)


def test_a_sealed_key_opens_with_its_passphrase(custodian, sealed):
    opened = keystore.open_keystore(sealed, PASSPHRASE)
    assert opened.public == custodian.public
    assert opened.keys.private_bytes() == custodian.keys.private_bytes()


def test_the_file_holds_no_private_key_in_the_clear(custodian, sealed):
    private = custodian.keys.private_bytes()
    assert private.hex() not in sealed.decode()
    assert private not in sealed


def test_a_wrong_passphrase_is_refused(sealed):
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        keystore.open_keystore(sealed, "incorrect horse")


@pytest.mark.parametrize("edit", [
    lambda d: d["custodian"].update(name="Mallory"),
    lambda d: d["kdf"].update(time_cost=2),
    lambda d: d.update(nonce="00" * 12),
])
def test_an_edited_file_does_not_open(sealed, edit):
    doc = json.loads(sealed)
    edit(doc)
    with pytest.raises(KeystoreError, match="altered"):
        keystore.open_keystore(json.dumps(doc).encode(), PASSPHRASE)


@pytest.mark.parametrize("edit", [
    lambda d: d.update(extra=1),
    lambda d: d.update(format="other"),
    lambda d: d["kdf"].update(name="pbkdf2"),
    lambda d: d["kdf"].update(memory_kib=1 << 30),
    lambda d: d["kdf"].update(salt="00"),
    lambda d: d.update(ciphertext="not hex"),
    lambda d: d.update(format=True),
    lambda d: d["kdf"].update(time_cost=3.0),
    lambda d: d["kdf"].update(parallelism=True),
    lambda d: d["custodian"].update(name="K\ud800"),
    lambda d: d.update(nonce=None),
    lambda d: d.update(kdf=[]),
])
def test_malformed_files_are_refused(sealed, edit):
    doc = json.loads(sealed)
    edit(doc)
    with pytest.raises(KeystoreError):
        keystore.open_keystore(json.dumps(doc).encode(), PASSPHRASE)


def test_not_json_is_refused():
    with pytest.raises(KeystoreError, match="JSON"):
        keystore.open_keystore(b"\x00\x01", PASSPHRASE)


def test_short_passphrases_are_refused(custodian):
    with pytest.raises(KeystoreError, match="at least"):
        keystore.seal(custodian, "short", keystore.FAST_KDF)


def test_save_refuses_to_overwrite_and_destroy_deletes(tmp_path, custodian):
    path = tmp_path / "k.json"
    keystore.save(path, custodian, PASSPHRASE, keystore.FAST_KDF)
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(KeystoreError, match="refusing to overwrite"):
        keystore.save(path, custodian, PASSPHRASE, keystore.FAST_KDF)
    assert keystore.load(path, PASSPHRASE).public == custodian.public
    keystore.destroy(path)
    assert not path.exists()
    with pytest.raises(KeystoreError, match="cannot read"):
        keystore.load(path, PASSPHRASE)


def test_a_failed_write_is_a_keystore_error_and_leaves_no_file(custodian, tmp_path):
    with pytest.raises(KeystoreError, match="cannot write keystore"):
        keystore.save(tmp_path / "missing" / "k.json", custodian, PASSPHRASE, keystore.FAST_KDF)
    assert list(tmp_path.iterdir()) == []


def test_deeply_nested_json_is_refused_cleanly():
    with pytest.raises(KeystoreError):
        keystore.open_keystore(b"[" * 30_000 + b"]" * 30_000, PASSPHRASE)
