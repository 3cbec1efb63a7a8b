"""Signer key files (audit.keyfile): created 0600 and never replaced; a key file others can
read, an oversized or non-UTF-8 one, or a key of the other kind is refused."""

from __future__ import annotations

import os

import pytest

from audit.keyfile import MAX_KEY_FILE_BYTES, KeyFileError, read_signer, write_signer
from audit.note import SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519, Signer


def _now():
    return 1_700_000_000.0


def test_a_written_key_reads_back_and_is_owner_only(tmp_path):
    path = str(tmp_path / "log.key")
    signer = Signer.generate("example.test/log")
    write_signer(path, signer)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert read_signer(path, SIG_TYPE_ED25519, _now).skey == signer.skey
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        write_signer(path, Signer.generate("example.test/log"))
    assert read_signer(path, SIG_TYPE_ED25519, _now).skey == signer.skey


def test_refusals(tmp_path):
    path = str(tmp_path / "log.key")
    write_signer(path, Signer.generate("example.test/log"))
    with pytest.raises(KeyFileError, match="not a witness"):
        read_signer(path, SIG_TYPE_COSIGNATURE_V1, _now)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        read_signer(path, SIG_TYPE_ED25519, _now)
    for name, content in [("big", b"x" * (MAX_KEY_FILE_BYTES + 1)), ("binary", b"\xff\xfe"),
                          ("junk", b"PRIVATE+KEY+nothing\n")]:
        bad = tmp_path / name
        bad.write_bytes(content)
        os.chmod(bad, 0o600)
        with pytest.raises(KeyFileError):
            read_signer(str(bad), SIG_TYPE_ED25519, _now)
    with pytest.raises(KeyFileError, match="cannot read"):
        read_signer(str(tmp_path / "missing"), SIG_TYPE_ED25519, _now)
