"""A `bands` schedule's shape, for the pass `units`: bands that start at the threshold, each
where the last ended, rates within 0–100%, only the last band open."""

from __future__ import annotations

from decimal import Decimal

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.semantics.values import BandsVal

ZERO, ONE = Decimal(0), Decimal(1)


def check_bands(ctx: CheckContext, kind: str, bands: BandsVal, expr: n.Value, span: n.Span) -> None:
    if kind == "ratio" and (bands.threshold is not None or bands.payment_cap is not None):
        ctx.diags.error("T002", "ratio bands take only `band` and `ceiling` statements", span)
    what = kind.replace("_", " ")
    if kind != "ratio" and bands.cumulative:
        ctx.diags.error(
            "T002",
            f"only a ratio's bands are `cumulative`: a {what}'s bands are on the year's amount",
            span,
        )
    if kind != "ratio" and bands.by_level:
        ctx.diags.error(
            "T002",
            f"a {what}'s band rates are the same at every hospital level: not `by level`",
            span,
        )
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
        if not all(ZERO <= rate <= ONE for rate in band.level_rates or (band.rate,)):
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


def check_cumulative_categories(ctx: CheckContext, decl: n.TableDecl) -> None:
    """A ratio table whose rows test a line's `category` pays each category on its own part
    of this claim: it cannot also band on the year's pooled amount (`bands cumulative`)."""
    if decl.kind != "ratio" or not any(c.key == "category" for r in decl.rows for c in r.conds):
        return
    for row in decl.rows:
        if isinstance(row.value, n.Bands) and row.value.cumulative:
            ctx.diags.error(
                "T002",
                "a ratio whose rows test `category` cannot be `bands cumulative`",
                row.value.span,
                hint="band the categories' ratio on this claim's amount: `bands { … }`",
            )
