"""The run time of figures that depend on the claim, and of ratios whose adjustments combine:
what the generated code calls for them (re-exported by runtime.py, the one module it imports).

A compiled figure of the claim's facts is a function `_G<i>(fx)` (compile/formulas.py) of
the tuple of the facts, in facts.ATOMS order. A ratio whose row or adjustments are such
figures is a `RatioSpec` the generated code evaluates here for its claim; its trace step is
the compile-time template with this claim's figures filled in. Written apart from the
reference interpreter's (interpret/ratios.py), which the differential tests compare it with.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from policyengine.semantics.facts import ATOM_INDEX
from policyengine.semantics.matching import ratio_text
from policyengine.semantics.money import CONTEXT, ZERO, money

if TYPE_CHECKING:
    from policyengine.contract.trace import Derivation, RatioStep

Facts = tuple[int | None, ...]  # `fx`: the claim's facts in facts.ATOMS order
Figure = Decimal | Callable[[Facts], Decimal]  # a constant, or a function of the facts
# (expression as written, the facts it reads, whether it is money) of a figure that reads them
DerivationMeta = tuple[str, tuple[str, ...], bool]
# (base, adjustments, how they combine — None, "sum" or "largest" —, at least, at most)
RatioSpec = tuple[Figure, tuple[Figure, ...], str | None, Decimal | None, Decimal | None]


def div(a: Decimal | int, b: Decimal | int) -> Decimal:
    """`a ÷ b` to the settlement's 34 digits, whatever the caller's context."""
    return CONTEXT.divide(a, b)


def floor(x: Decimal | int) -> Decimal:
    return Decimal(x).to_integral_value(ROUND_FLOOR)


def level_index(x: Decimal | int) -> int:
    """0, 1 or 2 for the level `x` names, clamped to 1..3 (a fraction rounded down)."""
    return int(min(max(floor(x), Decimal(1)), Decimal(3))) - 1


def figure(value: Figure, fx: Facts) -> Decimal:
    if isinstance(value, Decimal):
        return value
    return value(fx)


def derivation(meta: DerivationMeta, fx: Facts, value: Decimal) -> Derivation:
    expression, names, is_money = meta
    facts = {}
    for name in names:
        fact = fx[ATOM_INDEX[name]]
        assert fact is not None, "the checker makes sure the claim has every fact read"
        facts[name] = fact
    return {
        "expression": expression,
        "facts": facts,
        "value": money(value) if is_money else ratio_text(value),
    }


def ratio_parts(spec: RatioSpec, fx: Facts) -> tuple[Decimal, list[Decimal], Decimal, Decimal]:
    """(the base, each adjustment, the adjustments combined, the ratio before the bounds)."""
    base, adjustments, how, _low, _high = spec
    rate = figure(base, fx)
    points = [figure(a, fx) for a in adjustments]
    added = max(points) if how == "largest" and points else sum(points, ZERO)
    return rate, points, added, rate + added


def ratio_of(spec: RatioSpec, fx: Facts) -> Decimal:
    """The claim's ratio: base + adjustments, held within the bounds."""
    _base, _points, _added, rate = ratio_parts(spec, fx)
    low, high = spec[3], spec[4]
    if low is not None and rate < low:
        rate = low
    if high is not None and rate > high:
        rate = high
    return rate


def ratio_step(
    step: RatioStep,
    spec: RatioSpec,
    metas: tuple[DerivationMeta | None, tuple[DerivationMeta | None, ...]],
    fx: Facts,
) -> tuple[Decimal, RatioStep]:
    """The claim's ratio and its trace step: `step`, a fresh copy of the compile-time
    template, filled with this claim's figures."""
    base, points, added, unclamped = ratio_parts(spec, fx)
    rate = ratio_of(spec, fx)
    figures = step["figures"]
    figures["base"] = ratio_text(base)
    for part, amount, meta in zip(figures["adjustments"], points, metas[1], strict=True):
        part["points"] = ratio_text(amount)
        if meta is not None:
            part["derivation"] = derivation(meta, fx, amount)
    if metas[0] is not None:
        figures["base_derivation"] = derivation(metas[0], fx, base)
    if "combination" in figures:
        figures["combination"]["points"] = ratio_text(added)
        figures["combination"]["unclamped"] = ratio_text(unclamped)
    step["value"] = ratio_text(rate)
    return rate, step


class Cumulative:
    """A ratio's `bands cumulative` schedule: banded on the year's amount entering the fund,
    so this claim's part x after the year's pooled amount P is F(P + x) − F(P)."""

    __slots__ = ("total",)

    def __init__(self, total: Callable[[Decimal], Decimal]) -> None:
        self.total = total  # F: the schedule's payment on an amount

    def __call__(self, x: Decimal, pooled: Decimal) -> Decimal:
        return self.total(pooled + x) - self.total(pooled)
