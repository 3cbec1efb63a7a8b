"""The one-way imports of docs/architecture.md ("Layout"), checked on the source: a
package imports only the packages of ours below it (strictjson at the bottom)."""

from __future__ import annotations

import ast

import pytest

from tests.paths import PROJECT_ROOT

OURS = {"strictjson", "messaging", "audit", "escrow", "authority_portal", "escrowlab"}
ALLOWED = {
    "strictjson": set(),
    "messaging": {"strictjson"},
    "audit": {"strictjson"},
    "escrow": {"strictjson", "messaging"},
    "authority_portal": {"strictjson", "messaging", "audit", "escrow"},
}


def _imported_packages(path):
    """Top-level packages of ours that ``path`` imports, anywhere in the file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        else:
            continue
        yield from (name.split(".")[0] for name in names if name.split(".")[0] in OURS)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    files = sorted((PROJECT_ROOT / package).rglob("*.py"))
    assert files, package
    upward = {}
    for path in files:
        wrong = set(_imported_packages(path)) - ALLOWED[package] - {package}
        if wrong:
            upward[str(path.relative_to(PROJECT_ROOT))] = sorted(wrong)
    assert upward == {}


def test_the_architecture_document_states_the_same_rule():
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`") and cells[1].endswith("/`"):
            rows[cells[1].strip("`/")] = cells[3]
    for package, allowed in ALLOWED.items():
        stated = {name for name in OURS if f"`{name}`" in rows[package]}
        assert stated == allowed, (package, rows[package])
