"""Evaluating figure expressions of the rule language (`800 元 + 5 pt`, `by level`, `bands`)
into typed values, checking units as it goes: money × ratio is money, money + days is an error.
Used by the checker and when lowering to the IR; compiled policies hold only the values.

A figure that reads a fact of the claim (`age`, `level`, `admission_rank`, …) is a `Formula`
when the fact is not given (the checker, the compiler), and a plain value when it is (the
reference interpreter, which gives every fact of its claim)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from policyengine import nodes as n
from policyengine.semantics import formula as f
from policyengine.semantics.functions import CallError, UnknownCall, call
from policyengine.semantics.money import CONTEXT
from policyengine.semantics.values import (
    HUNDRED,
    NONE,
    TEN_THOUSAND,
    Band,
    BandsVal,
    Formula,
    Val,
    Value,
    lift,
    unit_word,
)
from policyengine.semantics.vocabulary import MoneyUnit

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


class RangeError(UnitError):
    """A value out of its range at once: a division by zero (T003, not T001)."""


class ReportedByNames(UnitError):
    """An unknown function or the wrong number of values: the names pass reports it."""


Resolver = Callable[[n.Ref], Value]
Facts = Mapping[str, int]


def evaluate(
    expr: n.Value, resolve: Resolver, facts: Facts | None = None, unit: MoneyUnit = "fen"
) -> Value:
    """Evaluate an expression; raises UnitError on a unit mistake. `facts`: the claim's
    whole-number facts where they are known (a fact not given makes the value a Formula);
    `unit`: the policy's unit of money, for `round`."""
    if isinstance(expr, n.Bands):
        return _bands(expr, resolve, facts, unit)
    if isinstance(expr, n.Quantity):
        unit_name, factor = _LITERAL_UNITS[expr.unit]
        return Val(unit_name, (expr.number * factor,))
    if isinstance(expr, n.NoneValue):
        return NONE
    if isinstance(expr, n.Ref):
        return resolve(expr)
    if isinstance(expr, n.FactRef):
        known = facts.get(expr.name) if facts is not None else None
        if known is not None:
            return Val("count", (Decimal(known),))
        return Formula("count", f.Atom(expr.name))
    if isinstance(expr, n.ByLevel):
        return _by_level(expr, resolve, facts, unit)
    if isinstance(expr, n.Neg):
        return _neg(expr, evaluate(expr.arg, resolve, facts, unit))
    if isinstance(expr, n.Call):
        return _call(expr, [evaluate(a, resolve, facts, unit) for a in expr.args], unit)
    left = evaluate(expr.left, resolve, facts, unit)
    return _binop(expr, left, evaluate(expr.right, resolve, facts, unit))


def _scalar(value: Value, span: n.Span, what: str) -> Val | Formula:
    if isinstance(value, BandsVal):
        raise UnitError(f"a `bands` block cannot take part in {what}", span)
    return value


def _neg(expr: n.Neg, value: Value) -> Val | Formula:
    value = _scalar(value, expr.span, "arithmetic")
    if value.unit == "none":
        raise UnitError("`none` cannot be negated", expr.span)
    if isinstance(value, Formula):
        return Formula(value.unit, f.fold(f.Neg(value.node)))
    return Val(value.unit, tuple(-a for a in value.amounts))


def _call(expr: n.Call, args: list[Value], unit: MoneyUnit) -> Val | Formula:
    scalars = [_scalar(a, expr.span, f"`{expr.fn}`") for a in args]
    try:
        return call(expr.fn, scalars, unit)
    except UnknownCall as error:
        raise ReportedByNames(str(error), expr.span) from None
    except CallError as error:
        raise UnitError(str(error), expr.span) from None
    except f.DivisionByZero as error:
        raise RangeError(str(error), expr.span) from None


def _by_level(
    expr: n.ByLevel, resolve: Resolver, facts: Facts | None, unit: MoneyUnit
) -> Val | Formula:
    items = [evaluate(item, resolve, facts, unit) for item in expr.items]
    units = {v.unit for v in items}
    if any(
        isinstance(v, BandsVal) or (isinstance(v, Val) and v.by_level) or v.unit == "none"
        for v in items
    ):
        raise UnitError("each level of `by level` must be a single figure", expr.span)
    if len(units) != 1:
        listed = ", ".join(unit_word(v.unit) for v in items)
        raise UnitError(f"`by level` mixes units: {listed}", expr.span)
    if any(isinstance(v, Formula) for v in items):
        a, b, c = (lift(v) for v in items if not isinstance(v, BandsVal))
        return Formula(items[0].unit, f.fold(f.Pick((a, b, c), f.Atom("level"))))
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
    ("count", "points"): "points",
    ("points", "count"): "points",
}
# Division by a count: a share of a figure (`800 元 ÷ 2`), whole decades of an age.
_DIV = {(unit, "count"): unit for unit in ("money", "ratio", "points", "days", "count")}


def _binop(expr: n.BinOp, left: Value, right: Value) -> Val | Formula:
    left = _scalar(left, expr.span, "arithmetic")
    right = _scalar(right, expr.span, "arithmetic")
    table = {"+": _ADD, "-": _SUB, "×": _MUL, "÷": _DIV}[expr.op]
    unit = table.get((left.unit, right.unit))
    if unit is None:
        raise _unit_error(expr, left.unit, right.unit)
    if isinstance(left, Formula) or isinstance(right, Formula):
        try:
            return Formula(unit, f.fold(f.Op(expr.op, lift(left), lift(right))))
        except f.DivisionByZero:
            raise RangeError("division by zero", expr.span) from None
    if left.by_level or right.by_level:
        amounts = tuple(
            _apply(expr, left.at_level(level), right.at_level(level)) for level in (1, 2, 3)
        )
    else:
        amounts = (_apply(expr, left.amounts[0], right.amounts[0]),)
    return Val(unit, amounts)


def _apply(expr: n.BinOp, a: Decimal, b: Decimal) -> Decimal:
    if expr.op == "+":
        return a + b
    if expr.op == "-":
        return a - b
    if expr.op == "×":
        return a * b
    if not b:
        raise RangeError("division by zero", expr.span)
    return CONTEXT.divide(a, b)


def _unit_error(expr: n.BinOp, left: str, right: str) -> UnitError:
    verb = {"+": "add", "-": "subtract", "×": "multiply", "÷": "divide"}[expr.op]
    joiner = "from" if expr.op == "-" else ("by" if expr.op in "×÷" else "and")
    first, second = (right, left) if expr.op == "-" else (left, right)
    message = f"cannot {verb} {unit_word(first)} {joiner} {unit_word(second)}"
    hint = None
    if expr.op == "+" and left == right == "ratio":
        message = "cannot add two ratios"
        hint = "an increase of a ratio is in percentage points: write `5 pt`, not `5%`"
    elif "none" in (left, right):
        hint = "`none` means the figure does not apply; it cannot be computed with"
    elif expr.op == "÷":
        hint = "a figure is divided by a count: `800 元 ÷ 2`, `(age − 40) ÷ 10`"
    return UnitError(message, expr.span, hint)


def _bands(expr: n.Bands, resolve: Resolver, facts: Facts | None, unit: MoneyUnit) -> BandsVal:
    threshold = ceiling = payment_cap = None
    bands: list[Band] = []
    for stmt in expr.statements:
        low = _money(stmt.low, resolve, facts, unit) if stmt.low is not None else None
        if stmt.kind == "threshold":
            threshold = low
        elif stmt.kind == "ceiling":
            ceiling = low
        elif stmt.kind == "payment_cap":
            payment_cap = low
        else:
            assert low is not None and stmt.rate is not None
            high = _money(stmt.high, resolve, facts, unit) if stmt.high is not None else None
            rate = evaluate(stmt.rate, resolve, facts, unit)
            if not isinstance(rate, Val) or rate.unit != "ratio":
                got = unit_word(rate.unit)
                if isinstance(rate, Formula):
                    got = "a figure of the claim's facts"
                raise UnitError(f"a band's rate must be a ratio (%), not {got}", stmt.span)
            by_level = rate.amounts if rate.by_level else None
            bands.append(Band(low, high, rate.amounts[0], by_level))
    return BandsVal(threshold, tuple(bands), ceiling, payment_cap, cumulative=expr.cumulative)


def _money(expr: n.Expr, resolve: Resolver, facts: Facts | None, unit: MoneyUnit) -> Decimal:
    value = evaluate(expr, resolve, facts, unit)
    if not isinstance(value, Val) or value.unit != "money" or value.by_level:
        got = "a figure of the claim's facts" if isinstance(value, Formula) else None
        raise UnitError(f"expected money (元) here, not {got or unit_word(value.unit)}", expr.span)
    return value.amounts[0]
