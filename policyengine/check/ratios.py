"""Part of pass `tables`: a ratio and its adjustments stay within 0%–100% (T003).

For every class of claims the rows distinguish, at every date a figure changes, the base row
that applies and its adjustments are combined as the table says — one adjustment (the
default), `adjustments sum` or `adjustments largest` — and held within its declared bounds
(`at least`, `at most`). A figure that reads the claim's facts (`age`, …) is taken over its
range (check/formulas.py), so the check holds for every claim, not only some.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.check.dates import interval
from policyengine.check.formulas import value_range
from policyengine.check.units import value_at
from policyengine.semantics.domain import cases, describe_case, matches
from policyengine.semantics.values import BandsVal, Formula, Val, Value, format_amount

# rows × classes of claims × dates (a bundled table: 8 rows, some 50 classes, 4 dates)
MAX_WORK = 200_000
Range = tuple[Decimal, Decimal]


def check_ratio_bounds(
    ctx: CheckContext,
    decl: n.TableDecl,
    rows: tuple[tuple[n.Row, ...], tuple[n.Row, ...]],
    visits: Iterable[str] | None,
    wins: dict[int, set[int]],
) -> None:
    """`rows`: the table's base rows and its adjust rows; `wins`: which base rows override
    which (tables.beats)."""
    base, adjust = rows
    title = f"{decl.kind} `{decl.name}`"
    everything = (*base, *adjust)
    try:
        classes = cases(
            [ctx.conds.get(id(r), ()) for r in everything],
            extra_keys=("level",),
            visits=visits,
            declared=ctx.declared,
        )
    except ValueError as error:
        ctx.diags.error("R002", f"{title}: {error}", decl.span)
        return
    days = _days(ctx, everything)
    if len(days) * len(classes) * len(everything) > MAX_WORK:
        ctx.diags.error(
            "P006",
            f"{title}: {len(everything):,} rows over {len(classes):,} classes of claims and "
            f"{len(days):,} dates are too many to check its ratios stay within 0–100% "
            f"(limit {MAX_WORK:,})",
            decl.span,
        )
        return
    check = _Check(ctx, decl, base, adjust, wins)
    for day in days:
        for case in classes:
            check.case(case, day)


def _days(ctx: CheckContext, rows: tuple[n.Row, ...]) -> list[dt.date]:
    starts = {ctx.start} | {interval(r.dates)[0] for r in rows if r.dates and r.dates.start}
    for versions in ctx.lets.values():
        starts |= {v.dates.start for v in versions if v.dates and v.dates.start}
    return sorted(d for d in starts if d >= ctx.start)


class _Check:
    def __init__(
        self,
        ctx: CheckContext,
        decl: n.TableDecl,
        base: tuple[n.Row, ...],
        adjust: tuple[n.Row, ...],
        wins: dict[int, set[int]],
    ) -> None:
        self.ctx = ctx
        self.decl = decl
        self.base = base
        self.adjust = adjust
        self.wins = wins
        combination = decl.combination
        self.rule = combination.rule if combination is not None else "one"
        self.values: dict[tuple[int, dt.date], Value | None] = {}
        self.reported: set[int] = set()

    def case(self, case: dict[str, Any], day: dt.date) -> None:
        bases = self.live(self.base, case, day)
        bases = [r for r in bases if not any(id(r) in self.wins[id(o)] for o in bases)]
        adjustments = self.live(self.adjust, case, day)
        if len(bases) != 1 or not adjustments:
            return  # a base row alone is checked where it stands (pass units)
        level = case["level"]
        if isinstance(self.value(bases[0].value, day, id(bases[0])), BandsVal):
            culprit = adjustments[0]
            if id(culprit) not in self.reported:
                self.reported.add(id(culprit))
                self.ctx.diags.error(
                    "T002",
                    f"an adjustment cannot apply to a banded ratio ({describe_case(case)})",
                    culprit.span,
                    hint="give the claims it would adjust a row of their own, or narrow its `when`",
                )
            return
        total = self.range(bases[0], day, level)
        parts = [self.range(row, day, level) for row in adjustments]
        if total is None or any(p is None for p in parts):
            return
        low, high = _combine(self.rule, [p for p in parts if p is not None])
        low, high = total[0] + low, total[1] + high
        low, high = self.held(low, high, day)
        culprit = adjustments[-1]
        if (low < 0 or high > 1) and id(culprit) not in self.reported:
            self.reported.add(id(culprit))
            shown = format_amount("ratio", low if low < 0 else high)
            ranged = "can be" if low != high else "is"
            self.ctx.diags.error(
                "T003",
                f"with this adjustment the ratio {ranged} {shown} "
                f"for {describe_case(case)} on {day}",
                culprit.span,
                hint="declare how adjustments combine and their bound: "
                "`adjustments sum, at most 100%`"
                if self.decl.combination is None or self.decl.combination.at_most is None
                else None,
            )

    def live(self, rows: Iterable[n.Row], case: dict[str, Any], day: dt.date) -> list[n.Row]:
        return [
            r
            for r in rows
            if matches(self.ctx.conds.get(id(r), ()), case)
            and interval(r.dates)[0] <= day <= interval(r.dates)[1]
        ]

    def range(self, row: n.Row, day: dt.date, level: int) -> Range | None:
        value = self.value(row.value, day, id(row))
        if not isinstance(value, Val | Formula) or (isinstance(value, Val) and not value.amounts):
            return None  # `bands`, `none`, or reported by the units pass
        try:
            return value_range(value, self.ctx.conds.get(id(row), ()), level)
        except ArithmeticError:  # a division by zero: reported by the units pass
            return None

    def value(self, expr: n.Value, day: dt.date, key: int) -> Value | None:
        if (key, day) not in self.values:  # a row's value on a day is the same for every class
            try:
                self.values[key, day] = value_at(self.ctx, expr, day)
            except Exception:  # reported by the units pass
                self.values[key, day] = None
        return self.values[key, day]

    def held(self, low: Decimal, high: Decimal, day: dt.date) -> Range:
        combination = self.decl.combination
        if combination is None:
            return low, high
        for expr, clamp in ((combination.at_least, max), (combination.at_most, min)):
            bound = self.value(expr, day, id(expr)) if expr is not None else None
            if isinstance(bound, Val) and bound.unit == "ratio" and len(bound.amounts) == 1:
                low, high = clamp(low, bound.amounts[0]), clamp(high, bound.amounts[0])
        return low, high


def _combine(rule: str, parts: list[Range]) -> Range:
    """The range of the adjustments combined: summed (one adjustment, or `sum`), or the
    largest (`largest`)."""
    if rule == "largest":
        return max(p[0] for p in parts), max(p[1] for p in parts)
    return sum((p[0] for p in parts), Decimal(0)), sum((p[1] for p in parts), Decimal(0))
