"""Pass `dates`: effective ranges are well formed, and a figure's versions neither overlap
nor leave gaps. (Table rows are checked per class of claims by the `tables` pass.)"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.diagnostics import Related

ONE_DAY = dt.timedelta(days=1)
# Every date on which a figure, row or rule starts or ends begins a version of the policy,
# compiled to a settle function of its own (some 75 KB of Python for a bundled city, which
# has 4 versions): beyond this many the compiled module would take minutes to build.
MAX_VERSIONS = 100


def run(ctx: CheckContext) -> None:
    switches: set[dt.date] = set()
    for dates in _all_dates(ctx):
        if dates.start and dates.end and dates.start > dates.end:
            ctx.diags.error(
                "D003",
                f"empty effective range: from {dates.start} is after until {dates.end}",
                dates.span,
            )
        if dates.start and dates.start > ctx.start:
            switches.add(dates.start)
        if dates.end and dates.end < dt.date.max and dates.end >= ctx.start:
            switches.add(dates.end + ONE_DAY)
    for name, versions in ctx.lets.items():
        if len(versions) > 1:
            _check_versions(ctx, name, versions)
    if len(switches) < MAX_VERSIONS:
        _check_in_force(ctx, sorted({ctx.start} | switches))
    elif ctx.policy is not None:
        ctx.diags.error(
            "P006",
            f"the policy's rules change on {len(switches):,} dates: {len(switches) + 1:,} "
            f"versions; the limit is {MAX_VERSIONS}",
            ctx.policy.span,
            hint="each version is compiled on its own; drop the versions no claim needs",
        )


def _check_in_force(ctx: CheckContext, days: list[dt.date]) -> None:
    """Every figure a row or a rule's parameter uses, directly or through other figures, has
    a version in force on every day the row or rule is (from the policy's start); else the
    value could not be computed when a claim of that day is settled. The figures in force
    change only on the policy's version dates, so those days are all there is to try."""
    for owner, values, dates in _users(ctx):
        start, end = interval(dates)
        for day in (d for d in days if max(start, ctx.start) <= d <= end):
            missing = _missing_figure(ctx, values, day)
            if missing is not None:
                ctx.diags.error(
                    "D002",
                    f"figure `{missing.name}` has no version in force on {show(day)}, "
                    f"when this {owner} applies",
                    missing.span,
                    hint="give the figure a version for these dates, or end the "
                    f"{owner} where the figure ends",
                )
                break


def _users(ctx: CheckContext) -> Iterator[tuple[str, list[n.Value], n.Dates | None]]:
    for _layer, decl in ctx.all_decls():
        if isinstance(decl, n.TableDecl):
            yield from (("row", [row.value], row.dates) for row in decl.rows)
        elif isinstance(decl, n.RuleDecl):
            yield "rule", [arg for param in decl.params for arg in param.args], decl.dates
            for table in decl.tables:
                yield from (("row", [row.value], row.dates) for row in table.rows)


def _missing_figure(ctx: CheckContext, values: list[n.Value], day: dt.date) -> n.Ref | None:
    """A figure the values use (through figures, transitively) with no version on `day`.
    Unknown figures (names pass) and figures over the size limits (units) are left out."""
    pending = [ref for value in values for ref in n.refs_in(value)]
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref.name in seen or ref.name not in ctx.lets or ref.name in ctx.oversized:
            continue
        seen.add(ref.name)
        version = next(
            (v for v in ctx.lets[ref.name] if interval(v.dates)[0] <= day <= interval(v.dates)[1]),
            None,
        )
        if version is None:
            return ref
        pending.extend(n.refs_in(version.value))
    return None


def _all_dates(ctx: CheckContext) -> Iterator[n.Dates]:
    for _layer, decl in ctx.all_decls():
        if isinstance(decl, n.LetDecl) and decl.dates:
            yield decl.dates
        elif isinstance(decl, n.TableDecl):
            yield from (row.dates for row in decl.rows if row.dates)
        elif isinstance(decl, n.RuleDecl):
            if decl.dates:
                yield decl.dates
            for table in decl.tables:
                yield from (row.dates for row in table.rows if row.dates)


def interval(dates: n.Dates | None) -> tuple[dt.date, dt.date]:
    start = dates.start if dates and dates.start else dt.date.min
    end = dates.end if dates and dates.end else dt.date.max
    return start, end


def _check_versions(ctx: CheckContext, name: str, versions: list[n.LetDecl]) -> None:
    ordered = sorted(versions, key=lambda v: interval(v.dates))
    for earlier, later in itertools.pairwise(ordered):
        first_end = interval(earlier.dates)[1]
        second_start = interval(later.dates)[0]
        if second_start <= first_end:
            ctx.diags.error(
                "D001",
                f"versions of `{name}` overlap from {show(second_start)}",
                later.span,
                related=[Related(earlier.span, "the other version")],
                hint="give each version of a figure its own `from`/`until` range",
            )
        elif first_end + ONE_DAY != second_start:
            ctx.diags.error(
                "D002",
                f"versions of `{name}` leave a gap "
                f"from {first_end + ONE_DAY} to {second_start - ONE_DAY}",
                later.span,
                related=[Related(earlier.span, "the version before the gap")],
            )


def overlap_start(policy_start: dt.date, start: dt.date, end: dt.date) -> str:
    """The first day of an overlap [start, end] worth naming: not before the policy starts."""
    return show(max(start, policy_start) if end >= policy_start else start)


def show(day: dt.date) -> str:
    if day == dt.date.min:
        return "the beginning"
    if day == dt.date.max:
        return "the end"
    return day.isoformat()
