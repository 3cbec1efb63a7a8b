"""Shared fixtures are registered once, in the root conftest's ``pytest_plugins``: no test
module imports fixtures from a conftest or a registered fixture module (docs/architecture.md,
"Conventions")."""

from __future__ import annotations

import ast

from tests import conftest
from tests.paths import PROJECT_ROOT

TESTS = PROJECT_ROOT / "tests"


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_no_test_module_imports_shared_fixtures():
    shared = set(conftest.pytest_plugins)
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        wrong = [m for m in _imported_modules(path)
                 if m in shared or m.endswith(".conftest") or m == "conftest"]
        if wrong:
            offenders[str(path.relative_to(PROJECT_ROOT))] = wrong
    assert offenders == {}


def test_the_registered_fixture_modules_exist():
    for module in conftest.pytest_plugins:
        assert (PROJECT_ROOT / (module.replace(".", "/") + ".py")).is_file(), module
