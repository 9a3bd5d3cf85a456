"""Pass `units`: every figure has the unit its place needs, and a sensible size.

Deductibles, caps and limits are money; ratios are ratios (or a `bands` schedule);
`adjust` rows are percentage points; the second layer is a `bands` schedule; audit
parameters are days, levels, titles or names. Ratios lie within 0–100%.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.diagnostics import suggestion
from policyengine.values import NONE, BandsVal, UnitError, Val, Value, evaluate
from policyengine.vocabulary import FINDING_KINDS, TABLE_UNITS, TITLES, UNIT_WORDS, ParamSpec

ONE = Decimal(1)
ZERO = Decimal(0)
MAX_MONEY = Decimal(10) ** 10


class _Cycle(Exception):
    pass


class _Unknown(Exception):
    """A reference to a figure no `let` defines."""

    def __init__(self, ref: n.Ref) -> None:
        super().__init__(ref.name)
        self.ref = ref


def run(ctx: CheckContext) -> None:
    _type_lets(ctx)
    for _layer, decl in ctx.all_decls():
        if isinstance(decl, n.TableDecl):
            for row in decl.rows:
                expected = "points" if row.is_adjust else TABLE_UNITS[decl.kind]
                _check_row(ctx, decl.kind, row, expected)
        elif isinstance(decl, n.RuleDecl):
            _check_rule(ctx, decl)


def value_of(ctx: CheckContext, expr: n.Value) -> Value:
    """Evaluate for typing, `let`s taken at their first version."""
    stack: list[str] = []

    def resolve(ref: n.Ref) -> Value:
        versions = ctx.lets.get(ref.name)
        if not versions:
            raise _Unknown(ref)
        if ref.name in stack:
            raise _Cycle(" → ".join([*stack, ref.name]))
        stack.append(ref.name)
        try:
            return evaluate(versions[0].value, resolve)
        finally:
            stack.pop()

    return evaluate(expr, resolve)


def _type_lets(ctx: CheckContext) -> None:
    for name, versions in ctx.lets.items():
        kinds: dict[tuple[str, bool], n.LetDecl] = {}
        for version in versions:
            value = _safe_value(ctx, version.value, version.span)
            if value is None:
                continue
            if isinstance(value, Val):
                _check_range(ctx, value, version.value)
            key = (value.unit, isinstance(value, Val) and value.by_level)
            kinds.setdefault(key, version)
        if len(kinds) > 1:
            first, second = list(kinds.values())[:2]
            ctx.diags.error(
                "T001",
                f"the versions of `{name}` differ in unit",
                second.span,
                hint=f"first version at {first.span} — every version of a figure has one unit",
            )
        if kinds:
            ctx.let_units[name] = next(iter(kinds))[0]


def _safe_value(ctx: CheckContext, expr: n.Value, span: n.Span) -> Value | None:
    try:
        return value_of(ctx, expr)
    except UnitError as error:
        ctx.diags.error("T001", str(error), error.span, hint=error.hint)
    except _Cycle as cycle:
        ctx.diags.error("N001", f"figures refer to each other in a cycle: {cycle}", span)
    except _Unknown:
        pass  # reported by the names pass
    return None


def _check_row(ctx: CheckContext, kind: str, row: n.Row, expected: str) -> None:
    value = _safe_value(ctx, row.value, row.span)
    if value is None:
        return
    span = _value_span(row.value, row.span)
    if value.unit == "none":
        if kind in ("ratio", "pre_self_pay") or row.is_adjust:
            ctx.diags.error("T002", f"a {kind} row cannot be `none`", span)
        return
    allowed = {expected}
    if kind == "ratio" and not row.is_adjust:
        allowed.add("bands")
    if value.unit not in allowed:
        ctx.diags.error(
            "T002",
            f"expected {_either(expected, allowed)} here, "
            f"found {UNIT_WORDS.get(value.unit, value.unit)}",
            span,
            hint=_unit_hint(expected, value.unit),
        )
        return
    if isinstance(value, BandsVal):
        _check_bands(ctx, kind, value, row.value, span)
        return
    if value.by_level and kind in ("cap", "limit", "pre_self_pay"):
        ctx.diags.error("T002", f"a {kind} is yearly: it cannot vary `by level`", span)
    _check_range(ctx, value, row.value)


def _either(expected: str, units: set[str]) -> str:
    """`a ratio (%) or a `bands` block`: the place's own unit first."""
    return " or ".join(UNIT_WORDS[u] for u in [expected, *sorted(units - {expected})])


def _unit_hint(expected: str, found: str) -> str | None:
    if expected == "points" and found == "ratio":
        return "an adjustment is in percentage points: write `5 pt`, not `5%`"
    if expected == "ratio" and found == "count":
        return "write a ratio with `%`, e.g. `65%`"
    if expected == "money" and found == "count":
        return "write money with its unit, e.g. `800 元`"
    return None


def _value_span(value: n.Value, fallback: n.Span) -> n.Span:
    return getattr(value, "span", fallback)


def _check_range(ctx: CheckContext, value: Val, expr: n.Value) -> None:
    span = _value_span(expr, expr.span if hasattr(expr, "span") else None)  # type: ignore[arg-type]
    for amount in value.amounts:
        problem = _range_problem(value.unit, amount)
        if problem:
            ctx.diags.error("T003", problem, span)
            return


def _range_problem(unit: str, amount: Decimal) -> str | None:
    if unit == "ratio" and not ZERO <= amount <= ONE:
        return f"a ratio must lie within 0%–100%, not {amount * 100}%"
    if unit == "points" and not -ONE <= amount <= ONE:
        return "an adjustment of more than 100 percentage points"
    if unit == "money" and not ZERO <= amount <= MAX_MONEY:
        return f"money must lie within 0–{MAX_MONEY:,} 元"
    if unit == "days" and (amount < 0 or amount != amount.to_integral_value()):
        return "days must be a whole, non-negative number"
    return None


def _check_bands(
    ctx: CheckContext, kind: str, bands: BandsVal, expr: n.Value, span: n.Span
) -> None:
    if kind == "ratio" and (bands.threshold is not None or bands.payment_cap is not None):
        ctx.diags.error("T002", "ratio bands take only `band` and `ceiling` statements", span)
    if not bands.bands:
        ctx.diags.error("N005", "a `bands` block needs at least one `band`", span)
        return
    statements = (
        [s for s in expr.statements if s.kind == "band"] if isinstance(expr, n.Bands) else []
    )
    if bands.threshold is not None and bands.bands[0].low != bands.threshold:
        ctx.diags.error(
            "T003",
            f"the first band starts at {bands.bands[0].low} 元, "
            f"not at the threshold {bands.threshold} 元",
            statements[0].span if statements else span,
        )
    for index, band in enumerate(bands.bands):
        band_span = statements[index].span if index < len(statements) else span
        if not ZERO <= band.rate <= ONE:
            ctx.diags.error("T003", "a band's rate must lie within 0%–100%", band_span)
        if band.high is not None and band.high <= band.low:
            ctx.diags.error("T003", "a band must end above where it starts", band_span)
        if index + 1 < len(bands.bands):
            following = bands.bands[index + 1]
            if band.high is None:
                ctx.diags.error("T003", "only the last band may be open (`above`)", band_span)
            elif following.low != band.high:
                gap_or_overlap = "overlap" if following.low < band.high else "leave a gap"
                ctx.diags.error(
                    "T003",
                    f"bands {gap_or_overlap} at {band.high} 元: "
                    "each band starts where the last ended",
                    statements[index + 1].span if index + 1 < len(statements) else span,
                )


def _check_rule(ctx: CheckContext, decl: n.RuleDecl) -> None:
    spec = FINDING_KINDS.get(decl.kind)
    if spec is None:
        return
    for param in decl.params:
        param_spec = spec.params.get(param.name)
        if param_spec is not None:
            check_param(ctx, param, param_spec)
    for table in decl.tables:
        unit = spec.tables.get(table.name)
        if unit is not None:
            for row in table.rows:
                _check_row(ctx, "rule table", row, unit)


def check_param(ctx: CheckContext, param: n.Param, spec: ParamSpec) -> tuple[object, ...]:
    """The parameter's values (names as str, figures as Decimal); reports bad ones."""
    if spec.type in ("days", "level") and len(param.args) != 1:
        ctx.diags.error("T002", f"`{param.name}` takes one value", param.span)
        return ()
    out: list[object] = []
    for arg in param.args:
        if spec.type in ("names", "conditions", "title"):
            word = _word(ctx, param, arg, spec)
            if word is not None:
                out.append(word)
        else:
            figure = _figure(ctx, param, arg, spec)
            if figure is not None:
                out.append(figure)
    return tuple(out)


def _word(ctx: CheckContext, param: n.Param, arg: n.Expr, spec: ParamSpec) -> str | None:
    if not isinstance(arg, n.Ref):
        ctx.diags.error("T002", f"`{param.name}` takes names", _value_span(arg, param.span))
        return None
    choices = tuple(ctx.conditions) if spec.type == "conditions" else spec.choices
    if spec.type == "title":
        choices = TITLES
    if arg.name not in choices:
        what = "condition" if spec.type == "conditions" else f"`{param.name}` value"
        ctx.diags.error(
            "N001",
            f"unknown {what} `{arg.name}`",
            arg.span,
            hint=suggestion(arg.name, choices) or f"expected one of: {', '.join(choices)}",
        )
        return None
    return arg.name


def _figure(ctx: CheckContext, param: n.Param, arg: n.Expr, spec: ParamSpec) -> Decimal | None:
    try:
        value = value_of(ctx, arg)
    except _Unknown as unknown:
        name = unknown.ref.name
        ctx.diags.error(
            "N001",
            f"unknown figure `{name}`",
            unknown.ref.span,
            hint=suggestion(name, ctx.lets) or "define it with `let`",
        )
        return None
    except (UnitError, _Cycle) as error:
        ctx.diags.error("T001", str(error), _value_span(arg, param.span))
        return None
    unit = "days" if spec.type == "days" else "count"
    if not isinstance(value, Val) or value.unit != unit or value.by_level:
        found = UNIT_WORDS.get(value.unit, value.unit) if value is not NONE else "`none`"
        ctx.diags.error(
            "T002",
            f"`{param.name}` takes {UNIT_WORDS[unit]}, found {found}",
            _value_span(arg, param.span),
            hint="write days with their unit, e.g. `3 days`" if unit == "days" else None,
        )
        return None
    amount = value.amounts[0]
    if spec.type == "level" and amount not in (1, 2, 3):
        ctx.diags.error(
            "T003",
            f"`{param.name}` must be a hospital level 1, 2 or 3",
            _value_span(arg, param.span),
        )
        return None
    problem = _range_problem(unit, amount)
    if problem:
        ctx.diags.error("T003", problem, _value_span(arg, param.span))
        return None
    return amount


def value_at(ctx: CheckContext, expr: n.Value, day: dt.date) -> Value:
    """Evaluate with each `let` at its version in force on `day`."""
    stack: list[str] = []

    def resolve(ref: n.Ref) -> Value:
        for version in ctx.lets.get(ref.name, ()):
            start, end = _range(version.dates)
            if start <= day <= end:
                if ref.name in stack:
                    raise _Cycle(" → ".join([*stack, ref.name]))
                stack.append(ref.name)
                try:
                    return evaluate(version.value, resolve)
                finally:
                    stack.pop()
        raise UnitError(f"figure `{ref.name}` has no version in force on {day}", ref.span)

    return evaluate(expr, resolve)


def _range(dates: n.Dates | None) -> tuple[dt.date, dt.date]:
    return (
        dates.start if dates and dates.start else dt.date.min,
        dates.end if dates and dates.end else dt.date.max,
    )
