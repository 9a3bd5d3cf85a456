"""The package's shape: no import cycles, no reaching into another module's private names,
modules of a readable size, and the language pipeline at the top of the folder list.

Imports are read from the source (ast), everywhere in a module — inside functions too,
because a deferred import is still a dependency — except under `if TYPE_CHECKING:`, which
never runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "policyengine"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _walk(child))
            continue
        yield node
        yield from _runtime_nodes(node)


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    yield from _runtime_nodes(node)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    is_package = MODULES[module].name == "__init__.py"
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(module: str) -> Iterator[tuple[str, str | None]]:
    """(imported module, imported name or None) for each runtime import of the package."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("policyengine"):
                    yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if not target.startswith("policyengine"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub, None) if sub in MODULES else (target, alias.name)


def graph() -> dict[str, set[str]]:
    return {
        module: {target for target, _ in imports(module) if target != module} for module in MODULES
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = [
        f"{module} imports {target}.{name}"
        for module in MODULES
        for target, name in imports(module)
        if name is not None and name.startswith("_") and not name.startswith("__")
        if target != module
    ]
    assert offenders == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_readable(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines; split it by what it does"


def test_the_top_of_the_package_reads_as_the_pipeline() -> None:
    """Applications live in subpackages; the top level holds the language pipeline and the
    API that loads and runs it."""
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    applications = {"cli", "explain", "batch", "diff", "policytest", "tools"}
    assert applications <= {p.name for p in PACKAGE.iterdir() if p.is_dir()}
    assert not [name for name in top if name.split("_")[0] in applications]
