"""``escrowlab bench all`` prints one JSON object keyed by benchmark; every benchmark's
document carries its targets (met / missed / not measured) and its peers' names and
installed versions (docs/benchmarks.md). Tiny parameters (``--quick``): no timings
are asserted."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from escrowlab.benchmarks import Peer, Progress, Target, document, format_duration
from escrowlab.cli import main
from escrowlab.commands import bench

BENCHMARKS = {"audit", "css", "escrow", "kt", "messaging", "portal", "relay"}


@pytest.fixture(scope="module")
def all_json():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["bench", "all", "--quick", "--json"]) == 0
    return out.getvalue()


def test_bench_all_json_is_one_object_keyed_by_benchmark(all_json):
    documents = json.loads(all_json)  # one document: json.loads refuses two
    assert set(documents) == BENCHMARKS
    for name, doc in documents.items():
        assert doc["benchmark"] == name


def test_every_document_carries_targets_with_verdicts(all_json):
    for name, doc in json.loads(all_json).items():
        assert doc["targets"], name
        for target in doc["targets"]:
            assert set(target) >= {"figure", "op", "bound", "value", "met", "verdict"}
            assert target["verdict"] in ("met", "missed", "not measured")
            assert (target["met"] is None) == (target["verdict"] == "not measured")
            if target["met"] is not None:
                assert target["value"] == doc[target["figure"]]
        assert doc["targets_met"] == all(t["met"] is True for t in doc["targets"])


def test_every_document_names_its_peers_with_their_installed_versions(all_json):
    documents = json.loads(all_json)
    for name, doc in documents.items():
        assert doc["peers"], name
        for peer in doc["peers"]:
            assert set(peer) == {"name", "version", "role"} and peer["name"] and peer["role"]
    versions = {p["name"]: p["version"] for p in documents["messaging"]["peers"]}
    assert versions["doubleratchet"] == metadata.version("doubleratchet")
    assert versions["x3dh"] == metadata.version("x3dh")
    escrow_peers = {p["name"]: p["version"] for p in documents["escrow"]["peers"]}
    assert escrow_peers["shamir-mnemonic"] == metadata.version("shamir-mnemonic")
    relay_peers = {p["name"]: p["version"] for p in documents["relay"]["peers"]}
    assert relay_peers["waitress"] == metadata.version("waitress")


def test_bench_all_quick_human_output_has_one_section_per_benchmark(monkeypatch, capsys):
    calls = []
    for name in bench.BENCHMARK_MODULES:
        module = __import__(name, fromlist=["collect"])
        monkeypatch.setattr(module, "collect",
                            lambda args, m=module: calls.append(m.__name__) or _fake(m))
        monkeypatch.setattr(module, "show", lambda doc: print(f"figures of {doc['benchmark']}"))
    assert main(["bench", "all", "--quick"]) == 0
    out = capsys.readouterr().out
    for name in BENCHMARKS:
        assert f"== bench {name} ==" in out and f"figures of {name}" in out
    assert len(calls) == len(BENCHMARKS)


def _fake(module):
    return document(bench.benchmark_name(module), {"x": 1}, [Target("x", ">=", 1)],
                    [Peer("p", "r")])


def test_a_target_is_met_missed_or_not_measured():
    figures = {"rate": 10.0, "flag": True}
    assert Target("rate", ">=", 5).verdict(figures)["verdict"] == "met"
    assert Target("rate", "<", 5).verdict(figures)["verdict"] == "missed"
    assert Target("rate", "in", (1, 20)).verdict(figures)["met"] is True
    assert Target("absent", ">=", 1).verdict(figures)["verdict"] == "not measured"
    assert Target("flag", ">=", 1).verdict(figures)["verdict"] == "not measured"
    with pytest.raises(ValueError):
        Target("rate", "~", 1)


def test_a_peer_that_is_not_installed_has_no_version():
    assert Peer("ghost", "r", "no-such-distribution-escrowlab").describe()["version"] is None
    assert Peer("cryptography", "r", "cryptography").describe()["version"] == \
        metadata.version("cryptography")


def test_progress_estimates_the_time_left(capsys):
    progress = Progress("demo", enabled=True)
    progress.expect("work", 150)
    progress.step("items", 0, 4)
    progress.step("items", 1, 4, "first")
    progress.step("items", 4, 4)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "bench demo: work (expected 2.5 min)"
    assert err[1].startswith("bench demo: items 1/4: first; about ") and err[1].endswith("left")
    assert err[2] == "bench demo: items 4/4; done"
    Progress("quiet", enabled=False)("nothing")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("seconds, text", [(0.42, "0.4 s"), (35, "35 s"), (252, "4.2 min"),
                                           (11_160, "3.1 h"), (172_800, "2.0 days"),
                                           (float("inf"), "an unknown time")])
def test_durations_read_like_a_person_says_them(seconds, text):
    assert format_duration(seconds) == text
