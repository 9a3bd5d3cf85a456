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
from policyengine.semantics.figures import UnitError, evaluate
from policyengine.semantics.values import NONE, BandsVal, Val, Value
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
# A figure is computed by recursion through the figures it names (here, in ir.py, in the
# compiler and the interpreter), unmemoised: its nesting, with the figures it names
# written out, stays well inside Python's recursion limit, and so does the number of terms
# (`let a2 = a1 + a1`, `let a3 = a2 + a2`, … doubles at each step). A bundled figure nests
# 3 levels and has at most 3 terms.
MAX_FIGURE_NESTING = 200
MAX_FIGURE_TERMS = 10_000


class _Cycle(Exception):
    pass


class _Oversized(Exception):
    """A reference to a figure over the size limits (reported once, by `_check_sizes`)."""


class _TooLarge(Exception):
    """A row's or parameter's value over MAX_FIGURE_TERMS with its figures written out."""


class _Unknown(Exception):
    """A reference to a figure no `let` defines."""

    def __init__(self, ref: n.Ref) -> None:
        super().__init__(ref.name)
        self.ref = ref


def run(ctx: CheckContext) -> None:
    _check_sizes(ctx)
    _type_lets(ctx)
    for _layer, decl in ctx.all_decls():
        if isinstance(decl, n.TableDecl):
            for row in decl.rows:
                expected = "points" if row.is_adjust else TABLE_UNITS[decl.kind]
                # a cap `per visit|day` may vary by the hospital's level; a yearly one not
                kind = "cap per visit" if decl.kind == "cap" and decl.period else decl.kind
                _check_row(ctx, kind, row, expected)
        elif isinstance(decl, n.RuleDecl):
            _check_rule(ctx, decl)


def value_of(ctx: CheckContext, expr: n.Value) -> Value:
    """Evaluate for typing, `let`s taken at their first version."""
    _check_terms(ctx, expr)
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
            continue  # reported by _check_sizes
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
    except (_Unknown, _Oversized):
        pass  # reported by the names pass, or by _check_sizes
    except _TooLarge as error:
        ctx.diags.error("P006", str(error), span, hint="name parts of it with `let`")
    return None


def _check_terms(ctx: CheckContext, expr: n.Value) -> None:
    """Raise _TooLarge if `expr`, its figures written out, has more than MAX_FIGURE_TERMS
    terms (the figures themselves are checked by `_check_sizes`): the products of so many
    terms would overflow Decimal's exponents."""
    terms = _combine([_shape(expr)], ctx.figure_sizes)[1]
    if terms > MAX_FIGURE_TERMS:
        raise _TooLarge(
            f"this value has more than {MAX_FIGURE_TERMS:,} terms with the figures it uses "
            "written out"
        )


def _check_sizes(ctx: CheckContext) -> None:
    """Report the figures over MAX_FIGURE_NESTING or MAX_FIGURE_TERMS (only the first of a
    chain: the figures built on one are over the limits because of it)."""
    sizes = ctx.figure_sizes = _figure_sizes(ctx)
    ctx.oversized = {
        name
        for name, (nesting, terms) in sizes.items()
        if nesting > MAX_FIGURE_NESTING or terms > MAX_FIGURE_TERMS
    }
    for name in sorted(ctx.oversized):
        refs = {ref for v in ctx.lets[name] for ref, _depth in _shape(v.value)[1]}
        if refs & ctx.oversized:
            continue
        nesting = sizes[name][0]
        ctx.diags.error(
            "P006",
            f"figure `{name}` nests more than {MAX_FIGURE_NESTING} levels deep with the "
            "figures it uses written out"
            if nesting > MAX_FIGURE_NESTING
            else f"figure `{name}` has more than {MAX_FIGURE_TERMS:,} terms with the figures "
            "it uses written out",
            ctx.lets[name][0].span,
            hint="define it from fewer figures, or state its value",
        )


def _figure_sizes(ctx: CheckContext) -> dict[str, tuple[int, int]]:
    """Figure → (nesting, terms) with the figures it uses written out, the larger over its
    versions; both capped just above their limits. Found bottom-up without recursion, since
    a chain of figures may be as long as the rule files allow; a cycle (reported by the
    typing) counts as a single term."""
    shapes = {name: [_shape(v.value) for v in versions] for name, versions in ctx.lets.items()}
    sizes: dict[str, tuple[int, int]] = {}
    started: set[str] = set()
    for root in shapes:
        pending = [(root, False)]
        while pending:
            name, children_done = pending.pop()
            if name in sizes:
                continue
            if children_done:
                sizes[name] = _combine(shapes[name], sizes)
            elif name not in started:  # started and not done: a cycle back to it
                started.add(name)
                pending.append((name, True))
                pending.extend(
                    (ref, False)
                    for _leaves, refs, _nesting in shapes[name]
                    for ref, _depth in refs
                    if ref in shapes and ref not in sizes
                )
    return sizes


def _combine(
    shapes: list[tuple[int, list[tuple[str, int]], int]], sizes: dict[str, tuple[int, int]]
) -> tuple[int, int]:
    nesting = terms = 0
    for leaves, refs, depth in shapes:
        used = [(sizes.get(ref, (0, 1)), at) for ref, at in refs]
        nesting = max(nesting, depth, *(at + 2 + sub for (sub, _t), at in used))
        terms = max(terms, leaves + sum(sub_terms for (_n, sub_terms), _at in used))
    return min(nesting, MAX_FIGURE_NESTING + 1), min(terms, MAX_FIGURE_TERMS + 1)


def _shape(value: n.Value) -> tuple[int, list[tuple[str, int]], int]:
    """(terms other than figures, [(figure, depth at which it is named)], depth)."""
    leaves = 0
    refs: list[tuple[str, int]] = []
    deepest = 0
    pending: list[tuple[n.Value | None, int]] = [(value, 1)]
    while pending:
        expr, depth = pending.pop()
        if expr is None:
            continue
        deepest = max(deepest, depth)
        if isinstance(expr, n.Ref):
            refs.append((expr.name, depth))
        elif isinstance(expr, n.BinOp):
            pending += [(expr.left, depth + 1), (expr.right, depth + 1)]
        elif isinstance(expr, n.ByLevel):
            pending += [(item, depth + 1) for item in expr.items]
        elif isinstance(expr, n.Bands):
            pending += [
                (part, depth + 1) for s in expr.statements for part in (s.low, s.high, s.rate)
            ]
        else:
            leaves += 1
    return leaves, refs, deepest


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
    if value.by_level and kind in ("cap", "limit", "pre_self_pay", "fund_ceiling"):
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
    if unit == "count" and (amount < 0 or amount != amount.to_integral_value()):
        return "a count must be a whole, non-negative number"
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
    except _Oversized:  # reported by _check_sizes
        return None
    except _TooLarge as error:
        ctx.diags.error("P006", str(error), _value_span(arg, param.span))
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
    if not problem and amount < spec.minimum:
        days = (" day" if spec.minimum == 1 else " days") if unit == "days" else ""
        problem = f"`{param.name}` must be at least {spec.minimum}{days}"
    if problem:
        ctx.diags.error("T003", problem, _value_span(arg, param.span))
        return None
    return amount


def value_at(ctx: CheckContext, expr: n.Value, day: dt.date) -> Value:
    """Evaluate with each `let` at its version in force on `day`."""
    _check_terms(ctx, expr)
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
