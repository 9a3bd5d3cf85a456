"""Evaluating figure expressions of the rule language (`800 元 + 5 pt`, `by level`, `bands`)
into typed values, checking units as it goes: money × ratio is money, money + days is an error.
Used by the checker and when lowering to the IR; compiled policies hold only the values."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from policyengine import nodes as n
from policyengine.semantics.values import (
    HUNDRED,
    NONE,
    TEN_THOUSAND,
    Band,
    BandsVal,
    Val,
    Value,
    unit_word,
)

PER_CENT = Decimal(1) / HUNDRED
_LITERAL_UNITS = {
    "yuan": ("money", Decimal(1)),
    "wan_yuan": ("money", TEN_THOUSAND),
    "percent": ("ratio", PER_CENT),
    "points": ("points", PER_CENT),
    "days": ("days", Decimal(1)),
    "": ("count", Decimal(1)),
}


class UnitError(Exception):
    """An operation the units forbid; `span` points at the offending expression."""

    def __init__(self, message: str, span: n.Span, hint: str | None = None) -> None:
        super().__init__(message)
        self.span = span
        self.hint = hint


Resolver = Callable[[n.Ref], Value]


def evaluate(expr: n.Value, resolve: Resolver) -> Value:
    """Evaluate an expression; raises UnitError on a unit mistake."""
    if isinstance(expr, n.Bands):
        return _bands(expr, resolve)
    if isinstance(expr, n.Quantity):
        unit, factor = _LITERAL_UNITS[expr.unit]
        return Val(unit, (expr.number * factor,))
    if isinstance(expr, n.NoneValue):
        return NONE
    if isinstance(expr, n.Ref):
        return resolve(expr)
    if isinstance(expr, n.ByLevel):
        return _by_level(expr, resolve)
    return _binop(expr, evaluate(expr.left, resolve), evaluate(expr.right, resolve))


def _by_level(expr: n.ByLevel, resolve: Resolver) -> Val:
    items = [evaluate(item, resolve) for item in expr.items]
    units = {v.unit for v in items}
    if any(isinstance(v, BandsVal) or v.by_level or v.unit == "none" for v in items):
        raise UnitError("each level of `by level` must be a single figure", expr.span)
    if len(units) != 1:
        listed = ", ".join(unit_word(v.unit) for v in items)
        raise UnitError(f"`by level` mixes units: {listed}", expr.span)
    return Val(items[0].unit, tuple(v.amounts[0] for v in items if isinstance(v, Val)))


_ADD = {
    ("money", "money"): "money",
    ("ratio", "points"): "ratio",
    ("points", "ratio"): "ratio",
    ("points", "points"): "points",
    ("days", "days"): "days",
    ("count", "count"): "count",
}
_SUB = {**_ADD, ("ratio", "ratio"): "points"}
_MUL = {
    ("money", "ratio"): "money",
    ("ratio", "money"): "money",
    ("ratio", "ratio"): "ratio",
    ("count", "money"): "money",
    ("money", "count"): "money",
    ("count", "days"): "days",
    ("days", "count"): "days",
    ("count", "count"): "count",
    ("count", "ratio"): "ratio",
    ("ratio", "count"): "ratio",
}


def _binop(expr: n.BinOp, left: Value, right: Value) -> Val:
    if isinstance(left, BandsVal) or isinstance(right, BandsVal):
        raise UnitError("a `bands` block cannot take part in arithmetic", expr.span)
    table = {"+": _ADD, "-": _SUB, "×": _MUL}[expr.op]
    unit = table.get((left.unit, right.unit))
    if unit is None:
        raise _unit_error(expr, left.unit, right.unit)
    if left.by_level or right.by_level:
        amounts = tuple(
            _apply(expr.op, left.at_level(level), right.at_level(level)) for level in (1, 2, 3)
        )
    else:
        amounts = (_apply(expr.op, left.amounts[0], right.amounts[0]),)
    return Val(unit, amounts)


def _apply(op: str, a: Decimal, b: Decimal) -> Decimal:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    return a * b


def _unit_error(expr: n.BinOp, left: str, right: str) -> UnitError:
    verb = {"+": "add", "-": "subtract", "×": "multiply"}[expr.op]
    joiner = "from" if expr.op == "-" else ("by" if expr.op == "×" else "and")
    first, second = (right, left) if expr.op == "-" else (left, right)
    message = f"cannot {verb} {unit_word(first)} {joiner} {unit_word(second)}"
    hint = None
    if expr.op == "+" and left == right == "ratio":
        message = "cannot add two ratios"
        hint = "an increase of a ratio is in percentage points: write `5 pt`, not `5%`"
    elif "none" in (left, right):
        hint = "`none` means the figure does not apply; it cannot be computed with"
    return UnitError(message, expr.span, hint)


def _bands(expr: n.Bands, resolve: Resolver) -> BandsVal:
    threshold = ceiling = payment_cap = None
    bands: list[Band] = []
    for stmt in expr.statements:
        low = _money(stmt.low, resolve) if stmt.low is not None else None
        if stmt.kind == "threshold":
            threshold = low
        elif stmt.kind == "ceiling":
            ceiling = low
        elif stmt.kind == "payment_cap":
            payment_cap = low
        else:
            assert low is not None and stmt.rate is not None
            high = _money(stmt.high, resolve) if stmt.high is not None else None
            rate = evaluate(stmt.rate, resolve)
            if not isinstance(rate, Val) or rate.unit != "ratio" or rate.by_level:
                got = unit_word(rate.unit)
                raise UnitError(f"a band's rate must be a ratio (%), not {got}", stmt.span)
            bands.append(Band(low, high, rate.amounts[0]))
    return BandsVal(threshold, tuple(bands), ceiling, payment_cap)


def _money(expr: n.Expr, resolve: Resolver) -> Decimal:
    value = evaluate(expr, resolve)
    if not isinstance(value, Val) or value.unit != "money" or value.by_level:
        raise UnitError(f"expected money (元) here, not {unit_word(value.unit)}", expr.span)
    return value.amounts[0]
