"""One home per concept: the registries are declared once and nothing else restates them.

An AST scan of the package (and of the code it generates) finds what would be a second home.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from policyengine.check import check
from policyengine.compile.module import build_source

PACKAGE = Path(__file__).resolve().parents[1] / "policyengine"
POLICIES = Path(__file__).resolve().parents[1] / "policies"


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        yield name, ast.parse(path.read_text(encoding="utf-8"), filename=name)


def _generated() -> Iterator[tuple[str, ast.Module]]:
    for region in ("tianjin", "quanzhou"):
        policy = check(POLICIES / region).policy
        assert policy is not None
        yield f"<generated {region}>", ast.parse(build_source(policy))


# ------------------------------------------------------------------ money


def _rounding(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "quantize":
            found.append(f"line {node.lineno}: .quantize")
        if isinstance(node, ast.Name | ast.alias) and str(
            getattr(node, "id", None) or getattr(node, "name", "")
        ).startswith("ROUND_HALF"):
            found.append(f"line {getattr(node, 'lineno', '?')}: a ROUND_HALF_* mode")
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) in ("Decimal", "_D")
            and [getattr(a, "value", None) for a in node.args] == ["0.01"]
        ):
            found.append(f"line {node.lineno}: Decimal('0.01')")
    return found


@pytest.mark.parametrize("source", ["package", "generated"])
def test_money_is_rounded_only_in_semantics_money(source: str) -> None:
    modules = _modules() if source == "package" else _generated()
    offenders = {
        name: found
        for name, tree in modules
        if name != "semantics/money.py" and (found := _rounding(tree))
    }
    assert offenders == {}, "round money with policyengine.semantics.money.fen"
