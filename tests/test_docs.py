"""The repository documents itself and stands alone: nothing points outside it, every
link in the project's Markdown resolves, the README's tour runs, and the scenario
catalogue (docs/scenarios.md) matches the attack tests."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from escrowlab.cli import main
from tests.paths import PROJECT_ROOT

SKIP_DIRS = {".git", ".venv", "__pycache__", "build", ".pytest_cache", ".ruff_cache",
             ".hypothesis"}
# Spelled in pieces so that this file does not match itself.
OUTSIDE = [b"../" + b"shared", b"shared/" + b"testdata", b"/work/" + b"shared"]
MARKDOWN = ["README.md", "threat_model.md", *sorted(
    str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _project_files():
    for root, dirs, files in os.walk(PROJECT_ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for name in files:
            yield Path(root) / name


def test_no_file_in_the_repository_reads_or_cites_the_reference_folder_beside_it():
    offenders = []
    for path in _project_files():
        data = path.read_bytes()
        offenders += [(str(path.relative_to(PROJECT_ROOT)), needle.decode())
                      for needle in OUTSIDE if needle in data]
    assert offenders == []


# A citation of an issue tracker's number, which a reader of the repository cannot look up.
ISSUE_NUMBER = re.compile(rb"\bissues? #?[0-9]", re.I)


def test_no_docstring_or_document_cites_an_issue_number():
    """Docstrings and documents cite a specification section or docs/, never an issue."""
    offenders = [str(path.relative_to(PROJECT_ROOT)) for path in _project_files()
                 if path.suffix in {".py", ".md"} and ISSUE_NUMBER.search(path.read_bytes())]
    assert offenders == []


def test_the_project_documents_exist():
    for name in ("architecture.md", "scenarios.md", "formats.md", "benchmarks.md"):
        assert (PROJECT_ROOT / "docs" / name).is_file(), name


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


@pytest.mark.parametrize("document", MARKDOWN)
def test_every_relative_link_resolves(document):
    source = PROJECT_ROOT / document
    links = LINK.findall(source.read_text())
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        path = (source.parent / target).resolve() if target else source
        assert path.exists(), f"{document}: {link} does not resolve"
        assert PROJECT_ROOT in path.parents or path == PROJECT_ROOT, link
        if anchor:
            assert anchor in _anchors(path.read_text()), f"{document}: no heading #{anchor}"


def test_the_readme_links_the_docs():
    readme = (PROJECT_ROOT / "README.md").read_text()
    linked = {link.partition("#")[0] for link in LINK.findall(readme)}
    assert {"docs/architecture.md", "docs/scenarios.md", "docs/benchmarks.md",
            "docs/formats.md"} <= linked


def test_the_architecture_names_every_top_level_package():
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    packages = [p.name for p in PROJECT_ROOT.iterdir()
                if (p / "__init__.py").is_file() and p.name != "tests"]
    assert "strictjson" in packages
    for package in packages:
        assert f"`{package}/`" in text, package


def test_the_scenario_catalogue_matches_the_attack_tests():
    catalogue = (PROJECT_ROOT / "docs" / "scenarios.md").read_text()
    rows = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r"^\| (S\d\d) \| ([a-z-]+) \|.*\| (tested|planned) \|$", catalogue, re.M)}
    assert len(rows) >= 25
    tested_files = sorted((PROJECT_ROOT / "tests" / "attacks").glob("test_s*.py"))
    ids_with_tests = set()
    for path in tested_files:
        number, slug = re.match(r"test_s(\d\d)_([a-z_0-9]+)\.py", path.name).groups()
        scenario = f"S{number}"
        ids_with_tests.add(scenario)
        assert scenario in rows, path.name
        assert slug.startswith(rows[scenario][0].replace("-", "_")), path.name
    assert {s for s, (_slug, status) in rows.items() if status == "tested"} == ids_with_tests


# ----------------------------------------------------------------------- the README tour

def _tour_commands() -> list[list[str]]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    tour = readme[readme.index("## A short tour"):readme.index("## Layout")]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", tour, re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "escrowlab":
                commands.append(words[1:])
    return commands


TOUR = _tour_commands()
# Run for real (cheap, nothing left running): the demos in process and the ceremony.
REAL = {("demo",), ("escrow", "ceremony"), ("--version",)}


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as exit_info:
            code = exit_info.code
    return code, out.getvalue()


def test_the_tour_names_every_command_and_benchmark():
    named = {tuple(words[:2]) for words in TOUR}
    for benchmark in ("messaging", "relay", "audit", "escrow", "escrow-modes", "all"):
        assert ("bench", benchmark) in named, benchmark
    assert {("demo", "--escrow"), ("escrow", "ceremony"), ("audit", "--help"),
            ("relay", "serve")} <= named
    code, out = _run(["bench", "--help"])
    assert code == 0
    for benchmark in ("messaging", "relay", "audit", "escrow", "escrow-modes", "all"):
        assert re.search(rf"^\s+{re.escape(benchmark)}\s", out, re.M), benchmark


@pytest.mark.parametrize("argv", TOUR, ids=[" ".join(a) for a in TOUR])
def test_every_tour_command_parses_and_has_help(argv):
    with_help = [a for a in argv if a != "--help"] + ["--help"]
    code, out = _run(with_help)
    assert code == 0 and ("usage: escrowlab" in out or out.startswith("escrowlab "))


@pytest.mark.parametrize("argv", [a for a in TOUR if tuple(a[:1]) in REAL
                                  or tuple(a[:2]) in REAL],
                         ids=lambda a: " ".join(a))
def test_the_cheap_tour_commands_run(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the ceremony writes ./ceremony
    code, out = _run([*argv, "--json"] if argv[0] != "--version" else argv)
    assert code == 0, out
    if argv[:2] == ["escrow", "ceremony"]:
        assert (tmp_path / "ceremony" / "set.json").is_file()


def test_the_console_script_the_readme_puts_on_path_exists():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "source .venv/bin/activate" in readme and 'PATH="$PWD/.venv/bin:$PATH"' in readme
    script = Path(sys.executable).with_name("escrowlab")
    assert script.is_file() and os.access(script, os.X_OK)


_TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


@pytest.mark.parametrize("document", ["threat_model.md", "README.md", *sorted(
    str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "docs").glob("*.md"))])
def test_every_test_a_document_names_exists(document):
    """A claim is backed by the test it names: every ``tests/...py[::test]`` cited in the
    threat model, the README and docs/ is a file that exists and defines that test."""
    missing = []
    for file, test in _TEST_REFERENCE.findall((PROJECT_ROOT / document).read_text()):
        target = PROJECT_ROOT / file
        if not target.is_file():
            missing.append(file)
        elif test and not re.search(rf"^(async )?def {test}\b", target.read_text(), re.M):
            missing.append(f"{file}::{test}")
    assert not missing, f"{document} names tests that do not exist: {missing}"
