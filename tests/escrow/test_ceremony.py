"""The key ceremony and restore, through the library and the command line."""

import json

import pytest

from escrow import ceremony, keystore
from escrow.custodian_set import CustodianSet
from escrow.errors import CeremonyError
from escrowlab.cli import main

PASSPHRASES = [f"passphrase-{i}" for i in range(3)]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("ceremony") / "set"
    return ceremony.run_ceremony(out, 3, 2, PASSPHRASES, jurisdictions=["JA", "JA", "JB"],
                                 kdf=keystore.FAST_KDF)


def test_the_ceremony_writes_a_pinnable_set_and_working_keystores(result):
    cset = CustodianSet.loads((result.directory / ceremony.SET_FILE).read_bytes())
    assert cset == result.custodian_set
    assert (cset.n, cset.threshold, cset.epoch) == (3, 2, 1)
    assert [m.jurisdiction for m in cset.members] == ["JA", "JA", "JB"]
    for member, passphrase in zip(cset.members, PASSPHRASES, strict=True):
        custodian = keystore.load(result.keystore_path(member.custodian_id), passphrase)
        assert custodian.public == member


@pytest.mark.parametrize("chosen", [(0, 1), (1, 2), (2, 0)])
def test_any_two_of_three_backups_restore_the_custodian(result, chosen):
    paths = result.backup_paths("K2")
    words = [paths[i].read_text() for i in chosen]
    restored = ceremony.restore(words, result.custodian_set, "K2")
    original = keystore.load(result.keystore_path("K2"), PASSPHRASES[1])
    assert restored.keys.private_bytes() == original.keys.private_bytes()


def test_one_backup_is_not_enough(result):
    with pytest.raises(CeremonyError, match="do not combine"):
        ceremony.restore([result.backup_paths("K1")[0].read_text()], result.custodian_set, "K1")


def test_another_custodians_backups_are_refused(result):
    words = [p.read_text() for p in result.backup_paths("K3")[:2]]
    with pytest.raises(CeremonyError, match="not K1's"):
        ceremony.restore(words, result.custodian_set, "K1")
    with pytest.raises(CeremonyError, match="K9"):
        ceremony.restore(words, result.custodian_set, "K9")


def test_bad_parameters_write_nothing(tmp_path):
    for kwargs, message in (
        (dict(custodians=3, threshold=1), "t=1 refused"),
        (dict(custodians=3, threshold=4), "exceeds"),
    ):
        out = tmp_path / message.replace(" ", "_")
        with pytest.raises(CeremonyError, match=message):
            ceremony.run_ceremony(out, passphrases=PASSPHRASES, kdf=keystore.FAST_KDF, **kwargs)
        assert not out.exists()
    with pytest.raises(CeremonyError, match="at least"):
        ceremony.run_ceremony(tmp_path / "short", 3, 2, ["x"] * 3, kdf=keystore.FAST_KDF)
    with pytest.raises(CeremonyError, match="backups need"):
        ceremony.run_ceremony(tmp_path / "b", 3, 2, PASSPHRASES, backup=(1, 3))


def test_a_non_empty_directory_is_refused(result):
    with pytest.raises(CeremonyError, match="not an empty directory"):
        ceremony.run_ceremony(result.directory, 3, 2, PASSPHRASES, kdf=keystore.FAST_KDF)


def test_the_command_line_ceremony_and_restore(tmp_path, capsys):
    out = tmp_path / "set"
    assert main(["escrow", "ceremony", "--custodians", "3", "--threshold", "2", "--out",
                 str(out), "--generate-passphrases", "--lab-kdf", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["threshold"] == 2 and len(summary["custodians"]) == 3
    backups = summary["custodians"][0]["backups"]
    restored = tmp_path / "k1.json"
    assert main(["escrow", "restore", "--set", summary["set_file"], "--custodian", "K1",
                 "--mnemonics", backups[0], backups[2], "--out", str(restored),
                 "--passphrase-file", str(out / "K1" / "passphrase.txt"), "--lab-kdf",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["set_fingerprint"] == summary["set_fingerprint"]
    passphrase = (out / "K1" / "passphrase.txt").read_text().strip()
    assert keystore.load(restored, passphrase).custodian_id == "K1"


def test_the_command_line_refuses_clearly(tmp_path, capsys):
    assert main(["escrow", "ceremony", "--custodians", "3", "--threshold", "1", "--out",
                 str(tmp_path / "x"), "--generate-passphrases", "--lab-kdf"]) == 2
    assert "t=1 refused" in capsys.readouterr().err
    assert main(["escrow", "ceremony", "--custodians", "3", "--threshold", "2", "--out",
                 str(tmp_path / "y"), "--passphrase-file", str(tmp_path / "none")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_an_unwritable_destination_is_a_ceremony_error_and_writes_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CeremonyError, match="cannot write"):
        ceremony.run_ceremony(blocker / "set", 3, 2, PASSPHRASES, kdf=keystore.FAST_KDF)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_failure_half_way_leaves_no_partial_ceremony(tmp_path, monkeypatch):
    calls = []

    def failing_save(path, custodian, passphrase, kdf):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_save(path, custodian, passphrase, kdf)

    real_save = keystore.save
    monkeypatch.setattr(keystore, "save", failing_save)
    out = tmp_path / "deep" / "set"
    with pytest.raises(CeremonyError, match="No space left"):
        ceremony.run_ceremony(out, 3, 2, PASSPHRASES, kdf=keystore.FAST_KDF)
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


def test_an_existing_empty_directory_receives_the_ceremony(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    result = ceremony.run_ceremony(out, 2, 2, PASSPHRASES[:2], kdf=keystore.FAST_KDF)
    assert CustodianSet.loads((out / ceremony.SET_FILE).read_bytes()) == result.custodian_set
    assert keystore.load(result.keystore_path("K2"), PASSPHRASES[1]).custodian_id == "K2"
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]


def test_the_command_line_reports_an_unwritable_destination(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["escrow", "ceremony", "--custodians", "3", "--threshold", "2", "--out",
                 str(tmp_path / "file" / "set"), "--generate-passphrases", "--lab-kdf"]) == 2
    assert "escrowlab: cannot write" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def _restore_args(result, tmp_path, *mnemonic_files, out=None):
    passphrase_file = tmp_path / "pass.txt"
    passphrase_file.write_text("restored passphrase\n")
    files = mnemonic_files or [str(p) for p in result.backup_paths("K1")[:2]]
    return ["escrow", "restore", "--set", str(result.directory / ceremony.SET_FILE),
            "--custodian", "K1", "--mnemonics", *files, "--out",
            str(out or tmp_path / "k1.json"), "--passphrase-file", str(passphrase_file),
            "--lab-kdf"]


def test_restore_into_a_missing_directory_is_a_clear_error(result, tmp_path, capsys):
    assert main(_restore_args(result, tmp_path, out=tmp_path / "nodir" / "k1.json")) == 2
    assert "escrowlab: cannot write keystore" in capsys.readouterr().err
    assert not (tmp_path / "nodir").exists()


def test_restore_refuses_a_binary_mnemonics_file(result, tmp_path, capsys):
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(128, 256)))
    assert main(_restore_args(result, tmp_path, str(binary))) == 2
    assert "escrowlab: " in capsys.readouterr().err
    assert not (tmp_path / "k1.json").exists()
