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


def run(ctx: CheckContext) -> None:
    for dates in _all_dates(ctx):
        if dates.start and dates.end and dates.start > dates.end:
            ctx.diags.error(
                "D003",
                f"empty effective range: from {dates.start} is after until {dates.end}",
                dates.span,
            )
    for name, versions in ctx.lets.items():
        if len(versions) > 1:
            _check_versions(ctx, name, versions)


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
