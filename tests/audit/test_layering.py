"""docs/architecture.md layout rule: ``audit`` imports nothing else of ours; only ``audit.http``
imports Flask."""

from __future__ import annotations

import ast

from tests.paths import PROJECT_ROOT

OURS = {"messaging", "escrow", "escrowlab", "authority_portal"}


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module.split(".")[0]


def test_audit_imports_nothing_of_ours_and_only_http_imports_flask():
    files = sorted((PROJECT_ROOT / "audit").rglob("*.py"))
    assert len(files) > 15
    for path in files:
        names = set(_imports(path))
        assert not names & OURS, path
        if "http" not in path.parts:
            assert not names & {"flask", "waitress", "werkzeug"}, path
