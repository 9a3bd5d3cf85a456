"""Pass `units`: every figure has the unit its place needs, and a sensible size.

Deductibles, caps and limits are money; ratios are ratios (or a `bands` schedule);
`adjust` rows are percentage points; the second layer is a `bands` schedule; audit
parameters are days, levels, titles or names. Ratios lie within 0–100%.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from policyengine import nodes as n
from policyengine.check.bands import check_bands, check_cumulative_categories
from policyengine.check.context import CheckContext
from policyengine.check.formulas import YEARLY_SUMS, formula_allowed, value_range
from policyengine.check.sizes import TooLarge, check_sizes, check_terms
from policyengine.diagnostics import suggestion
from policyengine.semantics.figures import RangeError, ReportedByNames, UnitError, evaluate
from policyengine.semantics.formula import DivisionByZero
from policyengine.semantics.values import NONE, BandsVal, Formula, Val, Value, format_amount
from policyengine.semantics.vocabulary import (
    FINDING_KINDS,
    TABLE_UNITS,
    TITLES,
    UNIT_WORDS,
    ParamSpec,
)

ONE = Decimal(1)
ZERO = Decimal(0)
MAX_MONEY = Decimal(10) ** 10


class _Cycle(Exception):
    pass


class _Oversized(Exception):
    """A reference to a figure over the size limits (reported once, by `check_sizes`)."""


class _Unknown(Exception):
    """A reference to a figure no `let` defines."""

    def __init__(self, ref: n.Ref) -> None:
        super().__init__(ref.name)
        self.ref = ref


def run(ctx: CheckContext) -> None:
    check_sizes(ctx)
    _type_lets(ctx)
    for _layer, decl in ctx.all_decls():
        if isinstance(decl, n.TableDecl):
            bounds = _check_combination(ctx, decl)
            check_cumulative_categories(ctx, decl)
            for row in decl.rows:
                expected = "points" if row.is_adjust else TABLE_UNITS[decl.kind]
                # a cap `per visit|day` may vary by the hospital's level; a yearly one not
                kind = f"cap per {decl.period}" if decl.kind == "cap" and decl.period else decl.kind
                if decl.kind == "pre_self_pay" and decl.name == "ceiling":
                    kind = "pre_self_pay ceiling"  # a bound, or `none` for none
                elif decl.kind == "pre_self_pay" and decl.name != "default":
                    kind = "named pre_self_pay"  # an extra share, this claim's (异地就医)
                _check_row(ctx, kind, row, expected, bounds)
        elif isinstance(decl, n.RuleDecl):
            _check_rule(ctx, decl)


def value_of(ctx: CheckContext, expr: n.Value) -> Value:
    """Evaluate for typing, `let`s taken at their first version."""
    check_terms(ctx, expr)
    stack: list[str] = []

    def resolve(ref: n.Ref) -> Value:
        versions = ctx.lets.get(ref.name)
        if not versions:
            raise _Unknown(ref)
        if ref.name in ctx.oversized:
            raise _Oversized(ref.name)
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
        if name in ctx.oversized:
            continue  # reported by check_sizes
        kinds: dict[tuple[str, bool], n.LetDecl] = {}
        for version in versions:
            value = _safe_value(ctx, version.value, version.span)
            if value is None:
                continue
            if isinstance(value, Val):
                _check_range(ctx, value, version.value)
            else:  # a figure of the claim's facts: its range is checked where a row uses it
                _check_divisions(ctx, value, _value_span(version.value, version.span))
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
    except ReportedByNames:
        pass  # an unknown function, or the wrong number of values: the names pass said so
    except RangeError as error:
        ctx.diags.error("T003", str(error), error.span, hint=error.hint)
    except UnitError as error:
        ctx.diags.error("T001", str(error), error.span, hint=error.hint)
    except _Cycle as cycle:
        ctx.diags.error("N001", f"figures refer to each other in a cycle: {cycle}", span)
    except (_Unknown, _Oversized):
        pass  # reported by the names pass, or by check_sizes
    except TooLarge as error:
        ctx.diags.error("P006", str(error), span, hint="name parts of it with `let`")
    return None


def _check_row(
    ctx: CheckContext,
    kind: str,
    row: n.Row,
    expected: str,
    bounds: tuple[Decimal | None, Decimal | None] = (None, None),
) -> None:
    """`bounds`: a ratio table's declared bounds (`adjustments …, at least …, at most …`),
    within which its ratio is held."""
    value = _safe_value(ctx, row.value, row.span)
    if value is None:
        return
    span = _value_span(row.value, row.span)
    if value.unit == "none":
        if kind in ("ratio", "pre_self_pay", "named pre_self_pay") or row.is_adjust:
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
        check_bands(ctx, kind, value, row.value, span)
        return
    # (a yearly cap's or fund ceiling's figure reading `level`: formula_allowed says why not)
    varies = (
        value.by_level
        if isinstance(value, Val)
        else kind not in YEARLY_SUMS and ("level" in value.atoms)
    )
    yearly = ("cap", "limit", "pre_self_pay", "pre_self_pay ceiling")
    if varies and kind in (*yearly, "fund_ceiling"):
        ctx.diags.error("T002", f"a {kind} is yearly: it cannot vary `by level`", span)
    conds = ctx.conds.get(id(row), ())
    if isinstance(value, Formula) and not formula_allowed(ctx, kind, value, conds, span):
        return
    if isinstance(value, Formula) or any(b is not None for b in bounds):
        _check_held_range(ctx, value, row, span, bounds if not row.is_adjust else (None, None))
        return
    _check_range(ctx, value, row.value)


def _check_held_range(
    ctx: CheckContext,
    value: Val | Formula,
    row: n.Row,
    span: n.Span,
    bounds: tuple[Decimal | None, Decimal | None],
) -> None:
    """The range the figure can take (interval arithmetic over its facts' domains, narrowed
    by the row's `when`), held within the table's declared bounds, is within its unit's."""
    try:
        low, high = value_range(value, ctx.conds.get(id(row), ()))
    except DivisionByZero:
        ctx.diags.error(
            "T003",
            "this figure can divide by zero",
            span,
            hint="divide by a count that cannot be 0 for any claim the row matches",
        )
        return
    at_least, at_most = bounds
    if at_least is not None:
        low, high = max(low, at_least), max(high, at_least)
    if at_most is not None:
        low, high = min(low, at_most), min(high, at_most)
    for amount in (low, high):
        problem = _range_problem(value.unit, amount)
        if problem and low != high:
            problem = problem.split(", not ")[0]  # the range found says what it is
            problem += (
                f": for the claims this row matches it ranges over "
                f"{format_amount(value.unit, low)} … {format_amount(value.unit, high)}"
            )
        if problem:
            ctx.diags.error("T003", problem, span)
            return


def _check_divisions(ctx: CheckContext, value: Value, span: n.Span) -> None:
    if not isinstance(value, Formula):
        return
    try:
        value_range(value)
    except DivisionByZero:
        ctx.diags.error(
            "T003",
            "this figure can divide by zero",
            span,
            hint="divide by a count that cannot be 0 for any claim",
        )


def _check_combination(
    ctx: CheckContext, decl: n.TableDecl
) -> tuple[Decimal | None, Decimal | None]:
    """`adjustments …, at least X, at most Y`: X and Y are ratios of 0–100%, X ≤ Y. Returns
    the bounds (None where not declared, or not usable)."""
    combination = decl.combination
    if combination is None or decl.kind != "ratio":
        return None, None
    found: list[Decimal | None] = []
    for expr in (combination.at_least, combination.at_most):
        value = _safe_value(ctx, expr, combination.span) if expr is not None else None
        if value is None or expr is None:
            found.append(None)
            continue
        span = _value_span(expr, combination.span)
        if not isinstance(value, Val) or value.unit != "ratio" or value.by_level:
            what = "a figure of the claim's facts" if isinstance(value, Formula) else None
            ctx.diags.error(
                "T002",
                f"a bound is a ratio (%), not {what or UNIT_WORDS.get(value.unit, value.unit)}",
                span,
            )
            found.append(None)
            continue
        problem = _range_problem("ratio", value.amounts[0])
        if problem:
            ctx.diags.error("T003", problem, span)
        found.append(value.amounts[0] if not problem else None)
    at_least, at_most = found
    if at_least is not None and at_most is not None and at_least > at_most:
        ctx.diags.error(
            "T003",
            f"`at least {format_amount('ratio', at_least)}` is above "
            f"`at most {format_amount('ratio', at_most)}`",
            combination.span,
        )
        return None, None
    return at_least, at_most


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
    if unit == "count" and (amount < 0 or amount != amount.to_integral_value()):
        return "a count must be a whole, non-negative number"
    return None


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
    if not isinstance(arg, n.Ref | n.FactRef):  # a word such as `level` or `age`
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
    except ReportedByNames:
        return None
    except (UnitError, _Cycle) as error:
        code = "T003" if isinstance(error, RangeError) else "T001"
        ctx.diags.error(code, str(error), _value_span(arg, param.span))
        return None
    except _Oversized:  # reported by check_sizes
        return None
    except TooLarge as error:
        ctx.diags.error("P006", str(error), _value_span(arg, param.span))
        return None
    unit = "days" if spec.type == "days" else "count"
    if isinstance(value, Formula):
        ctx.diags.error(
            "T002",
            f"`{param.name}` is the same for every claim: it cannot read "
            + ", ".join(f"`{a}`" for a in sorted(value.atoms)),
            _value_span(arg, param.span),
        )
        return None
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
    if not problem and amount < spec.minimum:
        days = (" day" if spec.minimum == 1 else " days") if unit == "days" else ""
        problem = f"`{param.name}` must be at least {spec.minimum}{days}"
    if problem:
        ctx.diags.error("T003", problem, _value_span(arg, param.span))
        return None
    return amount


def value_at(ctx: CheckContext, expr: n.Value, day: dt.date) -> Value:
    """Evaluate with each `let` at its version in force on `day`."""
    check_terms(ctx, expr)
    stack: list[str] = []

    def resolve(ref: n.Ref) -> Value:
        if ref.name in ctx.oversized:
            raise _Oversized(ref.name)
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
