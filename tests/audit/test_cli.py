"""``escrowlab audit`` on bad input: a clear ``escrowlab: ...`` message, exit 2, no
traceback, and no file created or changed."""

from __future__ import annotations

import socket

import pytest

from escrowlab.cli import main


def _files(path):
    return sorted(p.name for p in path.iterdir())


def test_init_with_an_unwritable_key_path_creates_nothing(tmp_path, capsys):
    code = main(["audit", "init", "--log", str(tmp_path / "a.db"), "--origin", "o.test/log",
                 "--key-file", str(tmp_path / "missing-dir" / "log.key")])
    assert code == 2
    assert "escrowlab: cannot write key file" in capsys.readouterr().err
    assert _files(tmp_path) == []


def test_init_with_an_unusable_log_path_leaves_no_key_behind(tmp_path, capsys):
    code = main(["audit", "init", "--log", str(tmp_path / "missing-dir" / "a.db"),
                 "--origin", "o.test/log", "--key-file", str(tmp_path / "log.key")])
    assert code == 2
    assert "escrowlab: audit log" in capsys.readouterr().err
    assert _files(tmp_path) == []


@pytest.mark.parametrize("bad", ["port_in_use", "key_dir", "log_key"])
def test_witness_serve_failures_create_nothing(tmp_path, capsys, log_signer, bad):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1] if bad == "port_in_use" else 0
    key = tmp_path / ("no-dir/w.key" if bad == "key_dir" else "w.key")
    vkey = "junk" if bad == "log_key" else log_signer.vkey
    try:
        code = main(["audit", "witness", "serve", "--state", str(tmp_path / "w.db"), "--init",
                     "--key-file", str(key), "--log-key", vkey, "--port", str(port)])
    finally:
        taken.close()
    assert code == 2
    assert capsys.readouterr().err.startswith("escrowlab: ")
    assert _files(tmp_path) == []


@pytest.fixture
def cli_log(tmp_path):
    log, key = str(tmp_path / "a.db"), str(tmp_path / "log.key")
    assert main(["audit", "init", "--log", log, "--origin", "o.test/log", "--key-file", key]) == 0
    for i in range(3):
        assert main(["audit", "append", "--log", log, "--key-file", key, "--type", "a.b",
                     "--actor", f"x:{i}"]) == 0
    return log, key


@pytest.mark.parametrize("quorum", ["-1", "1"])
def test_verify_refuses_a_quorum_it_cannot_check_as_a_usage_error(cli_log, capsys, quorum):
    log, _ = cli_log
    capsys.readouterr()
    assert main(["audit", "verify", "--log", log, "--quorum", quorum]) == 2
    assert "escrowlab: --quorum" in capsys.readouterr().err


def _db_rows(path):
    import sqlite3

    with sqlite3.connect(path) as db:
        return [db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("meta", "leaves", "nodes", "checkpoints")]


def test_append_with_a_witness_that_is_down_changes_nothing(cli_log, capsys):
    from audit.note import SIG_TYPE_COSIGNATURE_V1, Signer

    log, key = cli_log
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    wkey = Signer.generate("w.test", SIG_TYPE_COSIGNATURE_V1, lambda: 0).vkey
    before = _db_rows(log)
    capsys.readouterr()
    code = main(["audit", "append", "--log", log, "--key-file", key, "--type", "a.b",
                 "--actor", "x", "--witness-url", url, "--witness-key", wkey, "--quorum", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("escrowlab: ") and "unreachable" in err and "nothing" in err
    assert _db_rows(log) == before


@pytest.mark.parametrize("what", [["--index", "1"], ["--old", "1"]])
def test_prove_never_prints_a_proof_that_does_not_verify(cli_log, capsys, what):
    import sqlite3

    from audit.rfc9162 import hash_leaf

    log, _ = cli_log
    forged = b'{"actor":"x:9","payload":{},"time":0,"type":"a.b","v":1}'
    idx = 1 if what[0] == "--index" else 0
    with sqlite3.connect(log) as db:  # a consistent-looking edit: bytes and leaf hash
        db.execute("UPDATE leaves SET data=?, hash=? WHERE idx=?", (forged, hash_leaf(forged), idx))
    capsys.readouterr()
    assert main(["audit", "prove", "--log", log, *what, "--json"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "does not match its signed checkpoint" in out.err


def test_a_witness_key_is_not_taken_for_the_log_key(cli_log, tmp_path, capsys):
    log, _ = cli_log
    wkey = str(tmp_path / "w.key")
    from audit.note import SIG_TYPE_COSIGNATURE_V1, Signer

    (tmp_path / "w.key").write_text(Signer.generate("o.test/log", SIG_TYPE_COSIGNATURE_V1,
                                                    lambda: 0).skey)
    (tmp_path / "w.key").chmod(0o600)
    before = _db_rows(log)
    capsys.readouterr()
    assert main(["audit", "append", "--log", log, "--key-file", wkey, "--type", "a.b",
                 "--actor", "x"]) == 2
    assert "is a witness (cosignature/v1) key, not a log key" in capsys.readouterr().err
    assert _db_rows(log) == before


@pytest.mark.parametrize("text", ["garbage\n", "", "o.test/log\n1\n\n\u2014 x AAAA\n", "\ud800"])
def test_verify_with_a_malformed_trusted_checkpoint_is_a_usage_error(cli_log, tmp_path,
                                                                     capsys, text):
    log, _ = cli_log
    bad = tmp_path / "bad.cp"
    bad.write_bytes(text.encode("utf-8", "surrogatepass"))
    capsys.readouterr()
    assert main(["audit", "verify", "--log", log, "--checkpoint", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"escrowlab: {bad}: ")


def test_verify_reports_an_unwritable_evidence_path_without_a_traceback(cli_log, tmp_path,
                                                                        capsys):
    from audit.checkpoint import Checkpoint
    from audit.note import SignedNote, Signer

    log, key = cli_log
    signer = Signer.from_skey((tmp_path / "log.key").read_text())
    body = Checkpoint(signer.name, 2, bytes(32)).body()  # the log key signs a forked tree
    (tmp_path / "fork.cp").write_text(SignedNote(body, (signer.sign(body),)).encode())
    capsys.readouterr()
    code = main(["audit", "verify", "--log", log, "--checkpoint", str(tmp_path / "fork.cp"),
                 "--evidence", str(tmp_path / "no-dir" / "e.json")])
    assert code == 1
    err = capsys.readouterr().err
    assert "inconsistent with the trusted checkpoint of size 2" in err
    assert "could not write the proof of misbehaviour" in err


def test_show_with_a_negative_count_names_the_right_option(cli_log, capsys):
    log, _ = cli_log
    capsys.readouterr()
    assert main(["audit", "show", "--log", log, "--count", "-3"]) == 2
    assert "escrowlab: --count" in capsys.readouterr().err


def test_key_files_are_0600_and_others_readable_keys_are_refused(cli_log, tmp_path, capsys):
    import os
    import stat

    log, key = cli_log
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    os.chmod(key, 0o644)
    before = _db_rows(log)
    capsys.readouterr()
    assert main(["audit", "append", "--log", log, "--key-file", key, "--type", "a.b",
                 "--actor", "x"]) == 2
    err = capsys.readouterr().err
    assert "readable by others" in err and "PRIVATE" not in err
    assert _db_rows(log) == before


@pytest.mark.parametrize("what", [["--index", "0"], ["--old", "1"]])
def test_prove_on_an_empty_log_says_so(tmp_path, capsys, what):
    log = str(tmp_path / "a.db")
    assert main(["audit", "init", "--log", log, "--origin", "o.test/log", "--key-file",
                 str(tmp_path / "k")]) == 0
    capsys.readouterr()
    assert main(["audit", "prove", "--log", log, *what]) == 2
    assert "escrowlab: the log is empty" in capsys.readouterr().err


def test_a_deeply_nested_payload_is_refused_cleanly(cli_log, capsys):
    log, key = cli_log
    capsys.readouterr()
    assert main(["audit", "append", "--log", log, "--key-file", key, "--type", "a.b",
                 "--actor", "x", "--payload", "[" * 5000 + "]" * 5000]) == 2
    assert capsys.readouterr().err.startswith("escrowlab: --payload")


def test_show_and_verify_survive_a_leaf_planted_to_exhaust_the_parser(cli_log, capsys):
    import sqlite3

    from audit.rfc9162 import hash_leaf

    log, _ = cli_log
    bomb = b"[" * 30000 + b"]" * 30000
    with sqlite3.connect(log) as db:
        db.execute("UPDATE leaves SET data=?, hash=? WHERE idx=2", (bomb, hash_leaf(bomb)))
    assert main(["audit", "show", "--log", log, "--json"]) == 0
    assert main(["audit", "verify", "--log", log, "--entries"]) == 1


def test_verify_names_a_malformed_witness_key_first(cli_log, capsys):
    log, _ = cli_log
    capsys.readouterr()
    assert main(["audit", "verify", "--log", log, "--witness-key", "junk"]) == 2
    assert "escrowlab: verifier key must be" in capsys.readouterr().err


def _snapshot(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _relay_like_database(path):
    """A WAL-mode SQLite file with another program's tables, as the relay's is."""
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    with db:
        db.execute("CREATE TABLE queue(id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB)")
        db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO meta VALUES('format', 'escrowlab-relay/1')")
        db.execute("INSERT INTO queue(body) VALUES(x'00')")
    db.close()


@pytest.mark.parametrize("kind", ["empty", "relay", "no_tables", "not_sqlite"])
def test_every_command_that_opens_a_store_refuses_a_foreign_or_empty_file_unchanged(
        tmp_path, capsys, log_signer, kind):
    import os
    import sqlite3

    store = tmp_path / "store.db"
    if kind == "empty":
        store.write_bytes(b"")
    elif kind == "relay":
        _relay_like_database(store)
    elif kind == "no_tables":
        db = sqlite3.connect(store)
        db.execute("PRAGMA user_version=3")
        db.close()
    else:
        store.write_bytes(b"\x00not sqlite" * 50)
    key = tmp_path / "log.key"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(log_signer.skey + "\n")
    before = _snapshot(tmp_path)
    log = ["--log", str(store)]
    runs = [(["show", *log], 2), (["prove", *log, "--index", "0"], 2),
            (["append", *log, "--key-file", str(key), "--type", "a.b", "--actor", "x"], 2),
            (["verify", *log], 1),
            (["init", *log, "--origin", "o.test/log", "--key-file", str(tmp_path / "k2")], 2),
            (["witness", "serve", "--state", str(store), "--key-file", str(tmp_path / "w.key"),
              "--log-key", log_signer.vkey, "--port", "0"], 2)]
    for argv, code in runs:
        assert main(["audit", *argv]) == code, argv
        err = capsys.readouterr().err
        assert err.startswith("escrowlab: ") and "Traceback" not in err, argv
        assert _snapshot(tmp_path) == before, argv  # no byte, no -wal/-shm, no new file


def test_verify_exit_codes_match_its_help(tmp_path, cli_log, capsys):
    """0 verified; 1 verification failed; 2 usage error (escrowlab audit verify --help)."""
    import sqlite3

    log, _ = cli_log
    help_text = _help(["audit", "verify"], capsys)
    assert "0 if all holds; 1 if verification failed" in help_text
    assert "2 for a usage error" in help_text
    assert main(["audit", "verify", "--log", log]) == 0
    usage = [["--log", str(tmp_path / "missing.db")],
             ["--log", log, "--log-key", "junk"],
             ["--log", log, "--witness-key", "junk"],
             ["--log", log, "--quorum", "-1"],
             ["--log", log, "--quorum", "3"],
             ["--log", log, "--checkpoint", str(tmp_path / "missing.note")],
             ["--log", log, "--checkpoint", log]]
    for argv in usage:
        assert main(["audit", "verify", *argv]) == 2, argv
        assert capsys.readouterr().err.startswith("escrowlab: ")
    with pytest.raises(SystemExit) as info:  # argparse's own usage errors
        main(["audit", "verify"])
    assert info.value.code == 2
    capsys.readouterr()
    db = sqlite3.connect(log)
    with db:
        db.execute("UPDATE leaves SET data=x'00' WHERE idx=1")  # a corrupt log
    db.close()
    assert main(["audit", "verify", "--log", log]) == 1
    assert "FAILED verification" in capsys.readouterr().err
    assert main(["audit", "verify", "--log", log, "--json"]) == 1
    assert '"ok": false' in capsys.readouterr().out


def _help(argv, capsys):
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_witness_serve_help_states_the_state_file_rule(capsys):
    text = _help(["audit", "witness", "serve"], capsys)
    assert "created only with --init" in text and "refuses a path where a file exists" in text
