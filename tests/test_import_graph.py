"""The import graph of our packages, read from the source with ``ast``: every import
counts, those under ``if TYPE_CHECKING:`` and those inside functions included.

- An edge between packages must be one the layer table of docs/architecture.md
  ("Layout") allows; ``tests/test_layering.py`` checks that the table states the
  rule the packages follow.
- No module imports itself back through others: a cycle, even one that only works
  because an import is guarded or deferred into a function, is a module on the
  wrong floor (docs/architecture.md, "Layout": move the code, never hide the edge).

An ``import a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first; that is
Python's package mechanics, not an edge of the graph (a package that re-exports its
modules would otherwise be a cycle with each of them). What a module names is the
edge: ``from a.b import c`` is an edge to ``a.b.c`` when ``c`` is a module, else to
the package ``a.b``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.paths import PROJECT_ROOT

PACKAGES = ("strictjson", "messaging", "audit", "escrow", "authority_portal", "escrowlab")


def modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Every module of our packages under ``root``: dotted name -> (file, is a package)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports anywhere in its file."""
    known = modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, (path, is_package) in known.items():
        here = name if is_package else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(resolve(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[:len(here.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in known else resolve(base))
        graph[name] = targets - {None, name}
    return graph


def allowed_packages(root: Path) -> dict[str, set[str]]:
    """Per package, the packages of ours it may import, from the architecture table."""
    rows = {}
    for line in (root / "docs" / "architecture.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`") and cells[1].endswith("/`"):
            rows[cells[1].strip("`/")] = cells[3]
    allowed = {}
    for package in PACKAGES:
        stated = rows[package]
        allowed[package] = set(PACKAGES) if stated == "everything" else {
            other for other in PACKAGES if f"`{other}`" in stated}
    return allowed


def forbidden_edges(root: Path) -> list[str]:
    allowed = allowed_packages(root)
    wrong = []
    for source, targets in sorted(import_graph(root).items()):
        package = source.split(".")[0]
        for target in sorted(targets):
            other = target.split(".")[0]
            if other != package and other not in allowed[package]:
                wrong.append(f"{source} -> {target}")
    return wrong


def cycles(root: Path) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each strongly connected set of modules
    (Tarjan's algorithm, iterative), in a stable order."""
    graph = {name: sorted(targets) for name, targets in import_graph(root).items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return sorted(_cycle_in(graph, component) for component in components)


def _cycle_in(graph: dict[str, list[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the first module of ``component`` (breadth first)."""
    start = min(component)
    parents = {start: None}
    queue = [start]
    for node in queue:
        for child in graph[node]:
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if child in component and child not in parents:
                parents[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle through {start}")


def test_the_graph_sees_every_kind_of_import(tmp_path):
    (tmp_path / "docs").mkdir()
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "messaging" / "a.py").write_text(textwrap.dedent("""
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from messaging.b import B
        def f():
            import escrow.c
        from . import d
    """))
    for name in ("b", "d"):
        (tmp_path / "messaging" / f"{name}.py").write_text("from messaging import a\n")
    (tmp_path / "escrow" / "c.py").write_text("")
    graph = import_graph(tmp_path)
    assert graph["messaging.a"] == {"messaging.b", "escrow.c", "messaging.d"}
    assert graph["messaging.b"] == {"messaging.a"}
    assert cycles(tmp_path) == [["messaging.a", "messaging.b", "messaging.a"]]  # one per set
    (tmp_path / "docs" / "architecture.md").write_text(
        (PROJECT_ROOT / "docs" / "architecture.md").read_text())
    assert forbidden_edges(tmp_path) == ["messaging.a -> escrow.c"]


def test_no_import_crosses_the_layers_the_architecture_forbids():
    assert forbidden_edges(PROJECT_ROOT) == []


def test_no_module_imports_itself_back():
    found = cycles(PROJECT_ROOT)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("module", ["messaging.client", "messaging.transport"])
def test_the_client_does_not_load_the_relay_server(module):
    """A device needs neither the relay's database nor its web server: those stay in
    ``messaging.relay`` (docs/architecture.md, "Layout")."""
    script = (f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}}"
              " & {'sqlalchemy', 'flask', 'waitress', 'werkzeug'}),"
              " sorted(m for m in sys.modules if m.split('.')[:2] == ['messaging', 'relay']))")
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, check=True,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[] []"
