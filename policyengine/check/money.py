"""Pass `money`: every money figure of a rule file is whole fen (T004) — whole jiao in a
policy that says `money rounds to jiao`.

Settlement rounds to the fen, half-up, where spec §2 says (semantics/money.py). A figure
finer than that (`1 元 × 0.5%` is 0.005 元) would make the result depend on where an
evaluator happens to round it, so it is refused and the author states the figure in fen.
Figures, table rows and `bands` statements are tried on every date a figure they use
changes, each figure's value computed once per date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.check.dates import ONE_DAY, interval
from policyengine.semantics.figures import evaluate
from policyengine.semantics.money import finer_than
from policyengine.semantics.values import BandsVal, Val, Value
from policyengine.semantics.vocabulary import MONEY_UNITS, MoneyUnit
from policyengine.span import Span

HINT = "state money in whole fen (0.01 元); settlement rounds half-up to the fen itself"
HINT_JIAO = (
    "state money in whole jiao (0.1 元): the policy says `money rounds to jiao`, and "
    "settlement rounds payments half-up to the jiao itself"
)


class _Unavailable(Exception):
    """A figure without a value on the day (a gap, cycle or unit error: reported elsewhere)."""


def run(ctx: CheckContext) -> None:
    days = _version_days(ctx)
    unit = _unit(ctx)
    memo: dict[tuple[str, dt.date], Value | None] = {}
    for owner, value, dates, span in _money_places(ctx):
        start, end = interval(dates)
        tried = [d for d in days if max(start, ctx.start) <= d <= end] or [ctx.start]
        for day in tried if n.refs_in(value) else tried[:1]:
            amount = _finer_amount(_value_on(ctx, value, day, memo), unit)
            if amount is not None:
                on = f" on {day}" if day != tried[0] else ""
                ctx.diags.error(
                    "T004",
                    f"{owner} is {amount.normalize():f} 元{on}, finer than the {unit}",
                    span,
                    hint=HINT if unit == "fen" else HINT_JIAO,
                )
                break


def _money_places(ctx: CheckContext) -> Iterator[tuple[str, n.Value, n.Dates | None, Span]]:
    """(what, value, its dates, where) for every figure and table row."""
    for name, versions in ctx.lets.items():
        if name in ctx.oversized:
            continue  # reported by the units pass (P006)
        for version in versions:
            yield f"figure `{name}`", version.value, version.dates, version.span
    for _layer, decl in ctx.all_decls():
        if isinstance(decl, n.TableDecl):
            for row in decl.rows:
                span = getattr(row.value, "span", row.span)
                yield f"this {decl.kind}", row.value, row.dates, span


def _version_days(ctx: CheckContext) -> list[dt.date]:
    """The days a figure's value can change: the policy's start and its figures' dates."""
    days = {ctx.start}
    for versions in ctx.lets.values():
        for version in versions:
            start, end = interval(version.dates)
            days.update(d for d in (start, end + ONE_DAY if end < dt.date.max else end))
    return sorted(d for d in days if d >= ctx.start)


def _value_on(
    ctx: CheckContext, expr: n.Value, day: dt.date, memo: dict[tuple[str, dt.date], Value | None]
) -> Value | None:
    """`expr` with each figure at its version in force on `day`; None where it has no value."""
    busy: set[str] = set()

    def figure(name: str) -> Value | None:
        key = (name, day)
        if key not in memo:
            if name in busy or name in ctx.oversized:
                raise _Unavailable
            version = next((v for v in ctx.lets.get(name, ()) if _in_force(v.dates, day)), None)
            busy.add(name)
            try:
                memo[key] = evaluate(version.value, resolve) if version else None
            except _Unavailable:
                memo[key] = None
            finally:
                busy.discard(name)
        return memo[key]

    def resolve(ref: n.Ref) -> Value:
        found = figure(ref.name)
        if found is None:
            raise _Unavailable
        return found

    try:
        return evaluate(expr, resolve)
    except Exception:  # unit errors, unknown figures, cycles: reported by earlier passes
        return None


def _in_force(dates: n.Dates | None, day: dt.date) -> bool:
    start, end = interval(dates)
    return start <= day <= end


def _unit(ctx: CheckContext) -> MoneyUnit:
    """The policy's unit of money (an unknown word is reported by the names pass)."""
    setting = ctx.policy.setting("money_rounding") if ctx.policy else None
    word = setting.args[0] if setting else "fen"
    return word if word in MONEY_UNITS else "fen"


def _finer_amount(value: Value | None, unit: MoneyUnit) -> Decimal | None:
    """The first money amount of `value` that whole units of money cannot state."""
    amounts: list[Decimal | None] = []
    if isinstance(value, Val) and value.unit == "money":
        amounts.extend(value.amounts)
    elif isinstance(value, BandsVal):
        amounts += [value.threshold, value.ceiling, value.payment_cap]
        for band in value.bands:
            amounts += [band.low, band.high]
    return next((a for a in amounts if a is not None and finer_than(a, unit)), None)
