"""Typed values with units, and the arithmetic the rule language allows.

A value is money (元), a ratio (%), percentage points (pt), days or a count, either
one figure or one per hospital level; `none`; or a `bands` schedule. Arithmetic checks
units: money × ratio is money, a ratio plus points is a ratio, money + days is an error.
All amounts are exact Decimals. Evaluating the rule language's figure expressions into
values is `figures.py`; this module is what compiled policies use at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from policyengine.semantics import formula as f
from policyengine.semantics.vocabulary import UNIT_WORDS

HUNDRED = Decimal(100)
TEN_THOUSAND = Decimal(10000)


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
    rate: Decimal  # the rate at level 1 where it varies by level
    level_rates: tuple[Decimal, ...] | None = None  # `at by level a / b / c` (a ratio's)


@dataclass(frozen=True)
class BandsVal:
    """A banded schedule: rates on the parts of an amount inside each band."""

    threshold: Decimal | None
    bands: tuple[Band, ...]
    ceiling: Decimal | None
    payment_cap: Decimal | None
    unit: str = "bands"
    # `bands cumulative`: banded on the year's amount entering the fund, history.pooled of the
    # visit type (P), this claim's part being F(P + x) − F(P)
    cumulative: bool = False

    @property
    def by_level(self) -> bool:
        return any(band.level_rates is not None for band in self.bands)

    def at_level(self, level: int) -> BandsVal:
        """The schedule at a hospital level: each rate that varies by level taken there."""
        if not self.by_level:
            return self
        bands = tuple(
            Band(b.low, b.high, b.level_rates[level - 1]) if b.level_rates else b
            for b in self.bands
        )
        return BandsVal(
            self.threshold, bands, self.ceiling, self.payment_cap, self.unit, self.cumulative
        )

    def describe(self) -> str:
        parts = ["cumulative"] if self.cumulative else []
        for band in self.bands:
            high = format_amount("money", band.high) if band.high is not None else "∞"
            rates = band.level_rates or (band.rate,)
            rate = " / ".join(format_amount("ratio", r) for r in rates)
            parts.append(f"{format_amount('money', band.low)}–{high} {rate}")
        if self.ceiling is not None:
            parts.append(f"ceiling {format_amount('money', self.ceiling)}")
        if self.payment_cap is not None:
            parts.append(f"payment cap {format_amount('money', self.payment_cap)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Formula:
    """A figure that depends on the claim (formula.py): its unit and its arithmetic over the
    claim's whole-number facts, the constant parts folded."""

    unit: str
    node: f.Node

    @property
    def atoms(self) -> frozenset[str]:
        return f.atoms(self.node)

    def describe(self) -> str:
        return f"{render(self.node)} ({unit_word(self.unit)})"


Value = Val | BandsVal | Formula
NONE = Val("none", ())


def lift(value: Val | Formula) -> f.Node:
    """A value as a node of a formula: a `by level` figure reads the claim's level."""
    if isinstance(value, Formula):
        return value.node
    if value.by_level:
        a, b, c = (f.Const(amount) for amount in value.amounts)
        return f.Pick((a, b, c), f.Atom("level"))
    return f.Const(value.amounts[0])


def render(node: f.Node) -> str:
    """A formula's node as text (constants in base units: 0.02 for 2 pt)."""
    if isinstance(node, f.Const):
        return _plain(node.value)
    if isinstance(node, f.Atom):
        return node.name
    if isinstance(node, f.Op):
        return f"({render(node.left)} {node.op} {render(node.right)})"
    if isinstance(node, f.Call):
        return f"{node.fn}({', '.join(render(a) for a in node.args)})"
    if isinstance(node, f.Neg):
        return f"-{render(node.arg)}"
    options = " / ".join(render(o) for o in node.options)
    return f"at_level({options}, {render(node.index)})"


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


def unit_word(unit: str) -> str:
    return UNIT_WORDS.get(unit, unit)


def banded_total(bands: BandsVal, amount: Decimal) -> Decimal:
    """F(S): Σ over bands of rate × the part of `amount` inside the band (exact)."""
    counted = amount if bands.ceiling is None else min(amount, bands.ceiling)
    total = Decimal(0)
    for band in bands.bands:
        top = counted if band.high is None else min(counted, band.high)
        if top > band.low:
            total += (top - band.low) * band.rate
    return total
