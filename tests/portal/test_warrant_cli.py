"""``escrowlab warrant judge|new|hash|sign|verify``: a warrant written, hashed, signed by
two judges and verified k of m from the command line; bad input changes nothing."""

import json
from pathlib import Path

import pytest

from authority_portal.warrants.model import Warrant
from escrowlab.cli import main


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def files(tmp_path, capsys):
    f = {name: str(tmp_path / name) for name in ("reg.json", "j1.key", "j2.key", "jf.key",
                                                  "w.json", "sigs.json")}
    for name, place in (("J1", "JA"), ("J2", "JA"), ("JF", "JB")):
        assert run(capsys, "warrant", "judge", "--name", name, "--jurisdiction", place,
                   "--key-file", f[f"{name.lower()}.key"], "--registry", f["reg.json"])[0] == 0
    assert run(capsys, "warrant", "new", "--out", f["w.json"], "--id", "W-1", "--agency",
               "Agency A", "--jurisdiction", "JA", "--officer", "O1", "--target", "C1",
               "--window-start", "1700000000", "--window-end", "1700172800",
               "--legal-basis", "Order 8", "--issued-at", "1700000000")[0] == 0
    return f


def test_the_hash_is_the_warrants_sha256(files, capsys):
    code, out, _ = run(capsys, "warrant", "hash", files["w.json"], "--json")
    warrant = Warrant.decode(Path(files["w.json"]).read_bytes().rstrip(b"\n"))
    assert code == 0 and json.loads(out)["sha256"] == warrant.sha256.hex()


def test_two_judges_sign_and_verify_passes_k_of_m(files, capsys):
    verify = ("warrant", "verify", files["w.json"], "--signatures", files["sigs.json"],
              "--registry", files["reg.json"], "--required", "2", "--json")
    run(capsys, "warrant", "sign", files["w.json"], "--key-file", files["j1.key"],
        "--signatures", files["sigs.json"])
    code, out, _ = run(capsys, *verify)
    assert code == 1 and "2 are required" in json.loads(out)["reason"]
    run(capsys, "warrant", "sign", files["w.json"], "--key-file", files["j2.key"],
        "--signatures", files["sigs.json"])
    code, out, _ = run(capsys, *verify)
    assert code == 0 and json.loads(out)["judges"] == ["J1", "J2"]


def test_a_foreign_judge_and_an_edited_warrant_do_not_verify(files, capsys, tmp_path):
    run(capsys, "warrant", "sign", files["w.json"], "--key-file", files["jf.key"],
        "--signatures", files["sigs.json"])
    code, out, _ = run(capsys, "warrant", "verify", files["w.json"], "--signatures",
                       files["sigs.json"], "--registry", files["reg.json"])
    assert code == 1 and "sits in 'JB'" in out
    run(capsys, "warrant", "sign", files["w.json"], "--key-file", files["j1.key"],
        "--signatures", str(tmp_path / "j1.sigs"))
    data = Path(files["w.json"]).read_text().replace('"C1"', '"C2"')
    edited = tmp_path / "edited.json"
    edited.write_text(data)
    code, out, _ = run(capsys, "warrant", "verify", str(edited), "--signatures",
                       str(tmp_path / "j1.sigs"), "--registry", files["reg.json"])
    assert code == 1 and "does not verify" in out


def test_bad_input_is_refused_and_writes_nothing(files, capsys, tmp_path):
    before = Path(files["w.json"]).read_bytes()
    code, _, err = run(capsys, "warrant", "new", "--out", files["w.json"], "--id", "W-2",
                       "--agency", "A", "--jurisdiction", "JA", "--officer", "O1", "--target",
                       "C1", "--window-start", "5", "--window-end", "9", "--legal-basis", "b")
    assert code == 2 and "exists" in err and Path(files["w.json"]).read_bytes() == before
    code, _, err = run(capsys, "warrant", "new", "--out", str(tmp_path / "n.json"), "--id",
                       "W 2", "--agency", "A", "--jurisdiction", "JA", "--officer", "O1",
                       "--target", "C1", "--window-start", "5", "--window-end", "9",
                       "--legal-basis", "b")
    assert code == 2 and "warrant id" in err and not (tmp_path / "n.json").exists()
    code, _, err = run(capsys, "warrant", "hash", files["reg.json"])
    assert code == 2 and "missing field" in err
    code, _, err = run(capsys, "warrant", "judge", "--name", "J1", "--jurisdiction", "JA",
                       "--key-file", str(tmp_path / "again.key"), "--registry",
                       files["reg.json"])
    assert code == 2 and "once" in err and not (tmp_path / "again.key").exists()
