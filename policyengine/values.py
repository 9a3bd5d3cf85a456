"""Typed values with units, and the arithmetic the rule language allows.

A value is money (元), a ratio (%), percentage points (pt), days or a count, either
one figure or one per hospital level; `none`; or a `bands` schedule. Arithmetic checks
units: money × ratio is money, a ratio plus points is a ratio, money + days is an error.
All amounts are exact Decimals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from policyengine import nodes as n
from policyengine.vocabulary import UNIT_WORDS

HUNDRED = Decimal(100)
TEN_THOUSAND = Decimal(10000)

_LITERAL_UNITS = {
    "yuan": ("money", Decimal(1)),
    "wan_yuan": ("money", TEN_THOUSAND),
    "percent": ("ratio", Decimal("0.01")),
    "points": ("points", Decimal("0.01")),
    "days": ("days", Decimal(1)),
    "": ("count", Decimal(1)),
}


class UnitError(Exception):
    """An operation the units forbid; `span` points at the offending expression."""

    def __init__(self, message: str, span: n.Span, hint: str | None = None) -> None:
        super().__init__(message)
        self.span = span
        self.hint = hint


@dataclass(frozen=True)
class Val:
    """One figure (`amounts` of length 1) or one per level 1–3 (length 3); `none` has ()."""

    unit: str
    amounts: tuple[Decimal, ...]

    @property
    def by_level(self) -> bool:
        return len(self.amounts) == 3

    def at_level(self, level: int) -> Decimal:
        return self.amounts[level - 1] if self.by_level else self.amounts[0]

    def describe(self) -> str:
        if self.unit == "none":
            return "none"
        shown = [format_amount(self.unit, a) for a in self.amounts]
        return " / ".join(shown) if self.by_level else shown[0]


@dataclass(frozen=True)
class Band:
    low: Decimal
    high: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class BandsVal:
    """A banded schedule: rates on the parts of an amount inside each band."""

    threshold: Decimal | None
    bands: tuple[Band, ...]
    ceiling: Decimal | None
    payment_cap: Decimal | None
    unit: str = "bands"

    def describe(self) -> str:
        parts = []
        for band in self.bands:
            high = format_amount("money", band.high) if band.high is not None else "∞"
            parts.append(
                f"{format_amount('money', band.low)}–{high} {format_amount('ratio', band.rate)}"
            )
        if self.ceiling is not None:
            parts.append(f"ceiling {format_amount('money', self.ceiling)}")
        if self.payment_cap is not None:
            parts.append(f"payment cap {format_amount('money', self.payment_cap)}")
        return "; ".join(parts)


Value = Val | BandsVal
NONE = Val("none", ())


def format_amount(unit: str, amount: Decimal) -> str:
    """How a figure reads in rule-file terms: `800 元`, `65%`, `5 pt`, `7 days`."""
    if unit == "money":
        return f"{_plain(amount)} 元"
    if unit == "ratio":
        return f"{_plain(amount * HUNDRED)}%"
    if unit == "points":
        return f"{_plain(amount * HUNDRED)} pt"
    if unit == "days":
        return f"{_plain(amount)} days"
    return _plain(amount)


def _plain(amount: Decimal) -> str:
    text = format(amount.normalize(), "f")
    return text


def _word(unit: str) -> str:
    return UNIT_WORDS.get(unit, unit)


# ------------------------------------------------------------------ evaluation

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
        listed = ", ".join(_word(v.unit) for v in items)
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
    message = f"cannot {verb} {_word(first)} {joiner} {_word(second)}"
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
                got = _word(rate.unit)
                raise UnitError(f"a band's rate must be a ratio (%), not {got}", stmt.span)
            bands.append(Band(low, high, rate.amounts[0]))
    return BandsVal(threshold, tuple(bands), ceiling, payment_cap)


def _money(expr: n.Expr, resolve: Resolver) -> Decimal:
    value = evaluate(expr, resolve)
    if not isinstance(value, Val) or value.unit != "money" or value.by_level:
        raise UnitError(f"expected money (元) here, not {_word(value.unit)}", expr.span)
    return value.amounts[0]


def banded_total(bands: BandsVal, amount: Decimal) -> Decimal:
    """F(S): Σ over bands of rate × the part of `amount` inside the band (exact)."""
    counted = amount if bands.ceiling is None else min(amount, bands.ceiling)
    total = Decimal(0)
    for band in bands.bands:
        top = counted if band.high is None else min(counted, band.high)
        if top > band.low:
            total += (top - band.low) * band.rate
    return total
