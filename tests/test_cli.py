"""The console script's own behaviour: mode options, broken pipes, help, and the escrow
commands' refusals of exclusive options, foreign files and existing stores."""

import argparse
import io
import re
import subprocess
import sys

import pytest

from escrowlab.cli import main


@pytest.mark.parametrize("argv, option", [
    (["--escrow", "leaf16", "--custodians", "3"], "--custodians"),
    (["--escrow", "none", "--puzzle-bits", "18"], "--puzzle-bits"),
    (["--escrow", "threshold", "--leaf-width", "24"], "--leaf-width"),
])
def test_a_mode_option_given_to_another_mode_is_refused(capsys, argv, option):
    assert main(["demo", *argv]) == 2
    assert f"escrowlab: {option} applies to --escrow" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly():
    reader = subprocess.Popen([sys.executable, "-c", "pass"], stdin=subprocess.PIPE)
    reader.wait(timeout=30)  # nobody reads the pipe any more
    writer = subprocess.run(
        [sys.executable, "-m", "escrowlab", "demo", "--messages", "2"],
        stdout=reader.stdin, stderr=subprocess.PIPE, timeout=120, check=False)
    reader.stdin.close()
    assert b"Traceback" not in writer.stderr
    assert writer.returncode in (0, 141)


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("audit", "bench", "demo", "escrow", "relay"):
        assert command in out


@pytest.mark.parametrize("argv", [["demo", "--messages", "0"], ["demo", "--messages", "x"],
                                  ["bench", "messaging", "--rounds", "0"],
                                  ["bench", "escrow", "--records", "-3"],
                                  ["bench", "escrow-modes", "--forgeries", "100001"]])
def test_counts_outside_their_range_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "whole number" in capsys.readouterr().err


# ------------------------------------------------------------------ escrow ceremony/restore

PASSPHRASES = [f"passphrase-{i}" for i in range(3)]


@pytest.fixture(scope="module")
def ceremony_dir(tmp_path_factory):
    from escrow import ceremony, keystore

    out = tmp_path_factory.mktemp("cli-ceremony") / "set"
    ceremony.run_ceremony(out, 3, 2, PASSPHRASES, kdf=keystore.FAST_KDF)
    return out


def _snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _restore(ceremony_dir, tmp_path, *, set_file=None, mnemonics=None, out=None,
             passphrase_file=None):
    if passphrase_file is None:
        passphrase_file = tmp_path / "pass.txt"
        if not passphrase_file.exists():
            passphrase_file.write_text("restored passphrase\n")
    mnemonics = mnemonics or [ceremony_dir / "K1" / f"backup-{i}-of-3.txt" for i in (1, 2)]
    return main(["escrow", "restore", "--set", str(set_file or ceremony_dir / "set.json"),
                 "--custodian", "K1", "--mnemonics", *map(str, mnemonics),
                 "--out", str(out or tmp_path / "k1.json"),
                 "--passphrase-file", str(passphrase_file), "--lab-kdf"])


def test_ceremony_passphrase_file_and_generated_passphrases_are_exclusive(tmp_path, capsys):
    passphrases = tmp_path / "pass.txt"
    passphrases.write_text("\n".join(PASSPHRASES) + "\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["escrow", "ceremony", "--custodians", "3", "--threshold", "2", "--out",
              str(tmp_path / "set"), "--passphrase-file", str(passphrases),
              "--generate-passphrases", "--lab-kdf"])
    assert exit_info.value.code == 2
    assert "not allowed with argument --passphrase-file" in capsys.readouterr().err
    assert not (tmp_path / "set").exists()


def _options_of(argv):
    """Every option string the parser of ``argv`` (a sub-command path) accepts."""
    from escrowlab.cli import build_parser

    parser = build_parser()
    for word in argv:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return {option for action in parser._actions for option in action.option_strings}


def test_every_option_an_escrow_error_suggests_is_accepted_by_that_command(
        ceremony_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: no prompts
    assert main(["escrow", "restore", "--set", str(ceremony_dir / "set.json"), "--custodian",
                 "K1", "--mnemonics", *[str(ceremony_dir / "K1" / f"backup-{i}-of-3.txt")
                                        for i in (1, 2)],
                 "--out", str(tmp_path / "k1.json"), "--lab-kdf"]) == 2
    restore_error = capsys.readouterr().err
    assert main(["escrow", "ceremony", "--custodians", "3", "--threshold", "2", "--out",
                 str(tmp_path / "set"), "--lab-kdf"]) == 2
    ceremony_error = capsys.readouterr().err
    for argv, error in ((["escrow", "restore"], restore_error),
                        (["escrow", "ceremony"], ceremony_error)):
        suggested = set(re.findall(r"--[a-z][a-z-]+", error))
        assert "--passphrase-file" in suggested, error
        assert suggested <= _options_of(argv), (argv, error)
    assert "--generate-passphrases" in ceremony_error
    assert not (tmp_path / "k1.json").exists() and not (tmp_path / "set").exists()


def _foreign_files(tmp_path, ceremony_dir):
    """Files that are not a set descriptor: an SQLite database, an empty file, random
    bytes, a keystore, a truncated descriptor, JSON of another kind, an oversized file."""
    import sqlite3

    database = tmp_path / "audit.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE leaves (idx INTEGER PRIMARY KEY, data BLOB)")
    files = {"sqlite": database, "empty": tmp_path / "empty", "random": tmp_path / "random",
             "keystore": ceremony_dir / "K1" / "keystore.json",
             "truncated": tmp_path / "truncated.json", "other-json": tmp_path / "other.json",
             "oversized": tmp_path / "big.json", "directory": ceremony_dir / "K2"}
    (tmp_path / "pass.txt").write_text("restored passphrase\n")
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(bytes(range(256)) * 4)
    descriptor = (ceremony_dir / "set.json").read_bytes()
    files["truncated"].write_bytes(descriptor[: len(descriptor) // 2])
    files["other-json"].write_text('{"format": "something else", "v": 1}')
    files["oversized"].write_bytes(b" " * (1 << 20) + descriptor)
    return files


FOREIGN = ["sqlite", "empty", "random", "keystore", "truncated", "other-json", "oversized",
           "directory"]


@pytest.mark.parametrize("kind", FOREIGN)
def test_restore_refuses_a_foreign_or_corrupt_set_descriptor_and_changes_nothing(
        ceremony_dir, tmp_path, capsys, kind):
    foreign = _foreign_files(tmp_path, ceremony_dir)[kind]
    before, ceremony_before = _snapshot(tmp_path), _snapshot(ceremony_dir)
    assert _restore(ceremony_dir, tmp_path, set_file=foreign) == 2
    err = capsys.readouterr().err
    assert err.startswith("escrowlab: ") and "Traceback" not in err
    assert ("is not a custodian set descriptor" in err) or ("cannot read" in err), err
    assert _snapshot(tmp_path) == before and _snapshot(ceremony_dir) == ceremony_before
    assert not (tmp_path / "k1.json").exists()


@pytest.mark.parametrize("kind", FOREIGN)
def test_restore_refuses_foreign_mnemonics_files_and_changes_nothing(
        ceremony_dir, tmp_path, capsys, kind):
    foreign = _foreign_files(tmp_path, ceremony_dir)[kind]
    before = _snapshot(tmp_path)
    good = ceremony_dir / "K1" / "backup-1-of-3.txt"
    assert _restore(ceremony_dir, tmp_path, mnemonics=[good, foreign]) == 2
    err = capsys.readouterr().err
    assert err.startswith("escrowlab: ") and "Traceback" not in err
    assert _snapshot(tmp_path) == before and not (tmp_path / "k1.json").exists()


@pytest.mark.parametrize("kind", ["sqlite", "random", "oversized", "directory"])
def test_a_foreign_passphrase_file_is_refused_and_nothing_is_written(
        ceremony_dir, tmp_path, capsys, kind):
    foreign = _foreign_files(tmp_path, ceremony_dir)[kind]
    before = _snapshot(tmp_path)
    assert _restore(ceremony_dir, tmp_path, passphrase_file=foreign) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert main(["escrow", "ceremony", "--custodians", "3", "--threshold", "2", "--out",
                 str(tmp_path / "set"), "--passphrase-file", str(foreign), "--lab-kdf"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("escrowlab: ") and "Traceback" not in err
    assert _snapshot(tmp_path) == before and not (tmp_path / "set").exists()


def test_restore_never_overwrites_an_existing_keystore(ceremony_dir, tmp_path, capsys):
    existing = tmp_path / "k1.json"
    existing.write_bytes((ceremony_dir / "K1" / "keystore.json").read_bytes())
    before = existing.read_bytes()
    assert _restore(ceremony_dir, tmp_path, out=existing) == 2
    assert "already exists" in capsys.readouterr().err
    assert existing.read_bytes() == before


@pytest.mark.parametrize("what", ["ceremony output", "file"])
def test_ceremony_never_writes_into_an_existing_store(ceremony_dir, tmp_path, capsys, what):
    target = ceremony_dir if what == "ceremony output" else tmp_path / "audit.sqlite"
    if what == "file":
        target.write_bytes(b"SQLite format 3\x00" + bytes(100))
    before = _snapshot(target) if target.is_dir() else target.read_bytes()
    assert main(["escrow", "ceremony", "--custodians", "3", "--threshold", "2", "--out",
                 str(target), "--generate-passphrases", "--lab-kdf"]) == 2
    assert "is not an empty directory" in capsys.readouterr().err
    assert (_snapshot(target) if target.is_dir() else target.read_bytes()) == before


@pytest.mark.parametrize("argv", [["--custodians", "17"], ["--custodians", "1"],
                                  ["--threshold", "0"], ["--epoch", "-1"],
                                  ["--backup", "1/3"], ["--backup", "3/2"],
                                  ["--backup", "2/17"], ["--backup", "two"]])
def test_ceremony_ranges_are_usage_errors(tmp_path, capsys, argv):
    base = {"--custodians": "3", "--threshold": "2"}
    base.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    with pytest.raises(SystemExit) as exit_info:
        main(["escrow", "ceremony", *[x for kv in base.items() for x in kv], "--out",
              str(tmp_path / "set"), "--generate-passphrases", "--lab-kdf"])
    assert exit_info.value.code == 2
    assert argv[0] in capsys.readouterr().err
    assert not (tmp_path / "set").exists()


def _parsers(parser, path=()):
    """(command path, parser) for every parser under ``parser``."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


@pytest.mark.parametrize("command", ["bench", "demo", "escrow"])
def test_every_numeric_option_of_every_bench_demo_and_escrow_command_is_range_checked(command):
    from escrowlab.cli import build_parser

    unchecked = []
    for path, parser in _parsers(build_parser()):
        if path[:1] != (command,):
            continue
        for action in parser._actions:
            if action.type in (int, float) and not action.choices:
                unchecked.append((" ".join(path), action.option_strings))
    assert unchecked == []
