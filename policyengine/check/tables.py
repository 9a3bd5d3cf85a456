"""Pass `tables`: for every class of claims a table's rows distinguish, at every date,

- no two rows apply at once unless one says `overrides` the other (R001, both spans);
- the rows that apply to a class leave no gap between their first and last date (D002);
- a table declared `complete over …` has a row for every class from the policy's start (R002);
- a ratio plus its adjustments stays within 0–100% (T003);
- settings name what exists: a cap's `pools` (each pool in one cap), a limit's one pool,
  the second layer's `self_burden`, a ratio's `as` (N005, N004, N002, N001).

The classes come from domain.cases, so the check is exhaustive, not sampled.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.check.dates import ONE_DAY, interval, overlap_start, show
from policyengine.check.ratios import check_ratio_bounds
from policyengine.diagnostics import Related, suggestion
from policyengine.semantics.domain import cases, describe_case, matches

MAX_REPORTED = 5
# Bounds on the work of this pass (a bundled table has at most 8 rows and some 50 classes):
# a table's rows, rows × the classes of claims they distinguish, and the pairs of rows
# reported as overlapping (with every row overlapping every other, n²/2 diagnostics).
MAX_TABLE_ROWS = 500
MAX_TABLE_WORK = 200_000
MAX_OVERLAPS = 20
Overlap = tuple[dt.date, dt.date]  # first and last day two rows both apply
_FIXED_VISITS = {"deductible", "ratio", "limit"}
_NEEDED = {
    "cap": ("pools", "the pools whose payments count against the cap"),
    "fund_ceiling": ("pools", "the pools whose amounts entering the fund count against it"),
    "second_layer": ("self_burden", "the visits whose self-burden it pays on"),
}


def run(ctx: CheckContext) -> None:
    _check_settings(ctx)
    for _layer, decl in ctx.all_decls():
        if isinstance(decl, n.TableDecl):
            if _small_enough(ctx, f"{decl.kind} `{decl.name}`", decl.rows, decl.span):
                _check_table_decl(ctx, decl)
        elif isinstance(decl, n.RuleDecl):
            for table in decl.tables:
                title = f"{decl.kind} `{decl.name}` {table.name}"
                if not _small_enough(ctx, title, table.rows, table.span):
                    continue
                rows = tuple(r for r in table.rows if id(r) not in ctx.unresolved)
                partial = len(rows) < len(table.rows)
                _check_rows(ctx, title, rows, None, None, table.span, partial=partial)


def _small_enough(ctx: CheckContext, title: str, rows: tuple[n.Row, ...], span: n.Span) -> bool:
    if len(rows) <= MAX_TABLE_ROWS:
        return True
    ctx.diags.error(
        "P006",
        f"{title} has {len(rows):,} rows; the limit is {MAX_TABLE_ROWS:,}",
        span,
        hint="a table's rows tell classes of claims apart: name shared figures with `let`",
    )
    return False


def _check_settings(ctx: CheckContext) -> None:
    # a pool is in at most one yearly cap, one `per visit`, one `per day`, one fund ceiling
    capped: dict[tuple[str, str | None, str], n.TableDecl] = {}
    for (kind, name), decl in ctx.tables.items():
        needed, meaning = _NEEDED.get(kind, ("", ""))
        if needed and decl.setting(needed) is None:
            ctx.diags.error(
                "N005",
                f"{kind} `{name}` does not say which visits it covers: add `{needed} …`",
                decl.span,
                hint=f"{meaning}, e.g. `{needed} inpatient, special_outpatient`",
            )
        pools = decl.setting("pools")
        if kind == "limit" and pools is not None and len(pools.args) != 1:
            ctx.diags.error(
                "N004",
                f"limit `{name}` counts the payments of one pool, not {len(pools.args)}",
                pools.span,
                hint=f"`pools {name}`: the pool whose payments this year count against the limit",
            )
        if kind in ("cap", "fund_ceiling") and pools is not None:
            what = "caps" if kind == "cap" else "fund ceilings"
            if decl.period is not None:
                what = f"{what} per {decl.period}"
            for pool in pools.args:
                key = (kind, decl.period, pool)
                if key in capped:
                    ctx.diags.error(
                        "N002",
                        f"pool `{pool}` is in two {what}: `{capped[key].name}` and `{name}`",
                        pools.span,
                        related=[
                            Related(
                                capped[key].span,
                                "the other cap" if kind == "cap" else "the other ceiling",
                            )
                        ],
                    )
                capped.setdefault(key, decl)
        alias = decl.setting("alias")
        if alias is not None:
            _check_alias(ctx, decl, alias)


def _check_alias(ctx: CheckContext, decl: n.TableDecl, alias: n.Setting) -> None:
    """`as inpatient`: the ratio is another ratio table's, which has rows of its own."""
    target = ctx.tables.get(("ratio", alias.args[0]))
    if decl.rows:
        ctx.diags.error(
            "N002",
            f"ratio `{decl.name}` is defined twice: `as {alias.args[0]}` and its own rows",
            alias.span,
            hint="keep either `as …` or the rows",
        )
    elif target is None or target is decl or target.setting("alias") is not None:
        others = [name for kind, name in ctx.tables if kind == "ratio" and name != decl.name]
        ctx.diags.error(
            "N001",
            f"`as {alias.args[0]}`: no ratio table `{alias.args[0]}` with rows of its own",
            alias.span,
            hint=suggestion(alias.args[0], others) or f"ratios: {', '.join(others) or 'none'}",
        )


def _visits(decl: n.TableDecl) -> tuple[str, ...] | None:
    if decl.kind in _FIXED_VISITS:
        return (decl.name,)
    setting = decl.setting("pools") or decl.setting("self_burden")
    return setting.args if setting else None


def _check_table_decl(ctx: CheckContext, decl: n.TableDecl) -> None:
    title = f"{decl.kind} `{decl.name}`"
    complete = decl.setting("complete")
    visits = _visits(decl)
    resolved = tuple(r for r in decl.rows if id(r) not in ctx.unresolved)
    partial = len(resolved) < len(decl.rows)
    base = tuple(r for r in resolved if not r.is_adjust)
    adjust = tuple(r for r in resolved if r.is_adjust)
    if decl.kind == "limit":
        by_condition: dict[str, list[n.Row]] = {}
        for row in base:
            names = next((c.names for c in ctx.conds.get(id(row), ()) if c.key == "certified"), ())
            for name in names:
                by_condition.setdefault(name, []).append(row)
        for rows in by_condition.values():
            _check_rows(ctx, title, tuple(rows), None, visits, decl.span, partial=partial)
    else:
        _check_rows(ctx, title, base, complete, visits, decl.span, partial=partial)
    if adjust:
        # adjustments that combine (`adjustments sum|largest`) may apply together
        combined = decl.combination is not None
        _check_rows(
            ctx,
            f"{title} adjustments",
            adjust,
            None,
            visits,
            decl.span,
            partial=partial,
            overlaps=not combined,
        )
        check_ratio_bounds(ctx, decl, (base, adjust), visits, beats(base))


def beats(rows: Iterable[n.Row]) -> dict[int, set[int]]:
    """id(row) → ids of the rows it overrides, directly or through others."""
    by_label = {row.label: row for row in rows if row.label}
    direct = {id(row): {id(by_label[t]) for t in row.overrides if t in by_label} for row in rows}
    closure: dict[int, set[int]] = {}
    for start, targets in direct.items():
        seen: set[int] = set()
        pending = list(targets)
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(direct.get(current, ()))
        closure[start] = seen
    return closure


def _check_rows(
    ctx: CheckContext,
    title: str,
    rows: tuple[n.Row, ...],
    complete: n.Setting | None,
    visits: Iterable[str] | None,
    table_span: n.Span,
    *,
    partial: bool = False,
    overlaps: bool = True,
) -> None:
    """`partial`: some rows did not resolve (reported already) and are left out, so only
    overlaps are checked: the missing rows may fill what would look like gaps or holes.
    `overlaps` False: rows may apply together (adjustments that combine)."""
    if not rows:
        return
    try:
        classes = cases(
            [ctx.conds.get(id(r), ()) for r in rows],
            extra_keys=complete.args if complete else (),
            visits=visits,
            declared=ctx.declared,
        )
    except ValueError as error:
        ctx.diags.error("R002", f"{title}: {error}", table_span)
        return
    if len(classes) * len(rows) > MAX_TABLE_WORK:
        ctx.diags.error(
            "P006",
            f"{title}: {len(rows):,} rows over {len(classes):,} classes of claims are too many "
            f"to check (limit {MAX_TABLE_WORK:,} rows × classes)",
            table_span,
        )
        return
    clashes = _clashes(rows, beats(rows))
    found: dict[tuple[int, int], tuple[n.Row, n.Row, dict[str, Any], Overlap]] = {}
    gaps: dict[tuple[int, dt.date], tuple[n.Row, dict[str, Any], dt.date, dt.date]] = {}
    missing: list[tuple[dict[str, Any], list[tuple[dt.date, dt.date]]]] = []
    for case in classes:
        applying = [r for r in rows if matches(ctx.conds.get(id(r), ()), case)]
        if overlaps:
            _find_overlaps(applying, clashes, case, found)
        if partial:
            continue
        _find_gaps(applying, case, gaps)
        if complete is not None:
            holes = _holes(applying, ctx.start)
            if holes:
                missing.append((case, holes))
    _report_overlaps(ctx, title, found)
    _report_gaps(ctx, title, gaps)
    if complete is not None and missing:
        _report_missing(ctx, title, missing, complete.span)


def _clashes(rows: tuple[n.Row, ...], wins: dict[int, set[int]]) -> dict[int, dict[int, Overlap]]:
    """id(row) → the later rows it overlaps in time with neither overriding the other, and
    the days both are in force. Whether two rows clash does not depend on the class of
    claims, so it is found once per table, not once per class."""
    clashes: dict[int, dict[int, Overlap]] = {id(row): {} for row in rows}
    spans = [(row, *interval(row.dates)) for row in rows]
    for index, (first, a_start, a_end) in enumerate(spans):
        for second, b_start, b_end in itertools.islice(spans, index + 1, None):
            if id(second) in wins[id(first)] or id(first) in wins[id(second)]:
                continue
            if max(a_start, b_start) <= min(a_end, b_end):
                clashes[id(first)][id(second)] = (max(a_start, b_start), min(a_end, b_end))
    return clashes


def _find_overlaps(
    applying: list[n.Row],
    clashes: dict[int, dict[int, Overlap]],
    case: dict[str, Any],
    found: dict[tuple[int, int], tuple[n.Row, n.Row, dict[str, Any], Overlap]],
) -> None:
    live = {id(row): row for row in applying}
    for first in applying:
        clashing = clashes[id(first)]
        # the fewer of: the rows applying here, the rows this one clashes with
        others = (
            [r for r in applying if id(r) in clashing]
            if len(live) < len(clashing)
            else [live[key] for key in clashing if key in live]
        )
        for second in others:
            if len(found) >= MAX_OVERLAPS:
                return
            found.setdefault((id(first), id(second)), (first, second, case, clashing[id(second)]))


def _merged(rows: list[n.Row]) -> list[tuple[dt.date, dt.date]]:
    spans = sorted(interval(r.dates) for r in rows)
    merged: list[tuple[dt.date, dt.date]] = []
    for start, end in spans:
        if merged and (merged[-1][1] == dt.date.max or start <= merged[-1][1] + ONE_DAY):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _find_gaps(
    applying: list[n.Row],
    case: dict[str, Any],
    found: dict[tuple[int, dt.date], tuple[n.Row, dict[str, Any], dt.date, dt.date]],
) -> None:
    merged = _merged(applying)
    starting: dict[dt.date, n.Row] = {}
    for row in applying:
        starting.setdefault(interval(row.dates)[0], row)
    for (_s1, end), (start, _e2) in itertools.pairwise(merged):
        after = starting[start]
        key = (id(after), start)
        if key not in found:
            found[key] = (after, case, end + ONE_DAY, start - ONE_DAY)


def _holes(applying: list[n.Row], policy_start: dt.date) -> list[tuple[dt.date, dt.date]]:
    holes = []
    cursor = policy_start
    for start, end in _merged(applying):
        if end < cursor:
            continue
        if start > cursor:
            holes.append((cursor, start - ONE_DAY))
        if end == dt.date.max:
            return holes
        cursor = max(cursor, end + ONE_DAY)
    holes.append((cursor, dt.date.max))
    return holes


def _report_overlaps(
    ctx: CheckContext,
    title: str,
    overlaps: dict[tuple[int, int], tuple[n.Row, n.Row, dict[str, Any], Overlap]],
) -> None:
    for first, second, case, (start, end) in overlaps.values():
        later, earlier = (second, first) if second.span.line >= first.span.line else (first, second)
        ctx.diags.error(
            "R001",
            f"rows of {title} overlap: both apply to {describe_case(case)} "
            f"from {overlap_start(ctx.start, start, end)}",
            later.span,
            related=[Related(earlier.span, "the other row")],
            hint=_date_fix(first, second) or _OVERRIDES_HINT,
        )


_OVERRIDES_HINT = (
    "if one row is an exception to the other, label the general row (`name: when …`) "
    "and add `overrides name` to the exception"
)


def _date_fix(first: n.Row, second: n.Row) -> str | None:
    """Two rows for the same claims, one beginning later: versions whose dates overlap
    (`until 2019-01-01` beside `from 2019-01-01`). The fix is the first row's end date."""
    if _written(first.conds) != _written(second.conds) or first.is_adjust or second.is_adjust:
        return None
    starts = [(interval(row.dates)[0], row) for row in (first, second)]
    (_, old), (begins, new) = sorted(starts, key=lambda pair: pair[0])
    if new.dates is None or new.dates.start is None or begins <= interval(old.dates)[0]:
        return None
    return (
        f"the rows are versions, one after the other: end the earlier one (line "
        f"{old.span.line}) the day before the later begins, `until {show(begins - ONE_DAY)}`"
    )


def _written(conds: tuple[n.Cond, ...]) -> tuple[tuple[str, bool, tuple[str, ...]], ...]:
    return tuple(sorted((c.key, c.negated, tuple(sorted(str(v) for v in c.values))) for c in conds))


def _report_gaps(
    ctx: CheckContext,
    title: str,
    gaps: dict[tuple[int, dt.date], tuple[n.Row, dict[str, Any], dt.date, dt.date]],
) -> None:
    for after, case, start, end in gaps.values():
        ctx.diags.error(
            "D002",
            f"gap in {title}: no row applies to {describe_case(case)} "
            f"from {show(start)} to {show(end)}",
            after.span,
        )


def _report_missing(
    ctx: CheckContext,
    title: str,
    missing: list[tuple[dict[str, Any], list[tuple[dt.date, dt.date]]]],
    span: n.Span,
) -> None:
    shown = []
    for case, holes in missing[:MAX_REPORTED]:
        ranges = ", ".join(
            f"from {show(s)}" if e == dt.date.max else f"{show(s)}–{show(e)}" for s, e in holes
        )
        shown.append(f"{describe_case(case)} ({ranges})")
    more = f"; and {len(missing) - MAX_REPORTED} more" if len(missing) > MAX_REPORTED else ""
    ctx.diags.error(
        "R002",
        f"{title} is declared complete but no row applies to: {'; '.join(shown)}{more}",
        span,
    )
