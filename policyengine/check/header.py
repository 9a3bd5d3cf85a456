"""Part of pass `names`: the settings of the policy header (contract version 2, spec §5).

    tiers high "成年高档", low "成年低档"     the contribution tiers claims name (`person.tier`)
    default tier low                         the tier of a claim that names none
    benefit year from 10-01                  where the policy's year (and `history`) begins
    money rounds to jiao                     the unit payments are rounded to (default fen)

Each is said once, in the header of the policy itself (a layer declares none of them), and
names what exists: the default tier is a declared tier, the day is a day of every year.
"""

from __future__ import annotations

import datetime as dt

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.diagnostics import Related, suggestion
from policyengine.semantics.vocabulary import MONEY_UNITS

WORDS = {
    "tiers": "tiers",
    "default_tier": "default tier",
    "benefit_year": "benefit year from",
    "money_rounding": "money rounds to",
}
# What each setting means, for people reading the policy (the language server's hover).
MEANINGS = {
    "tiers": "the contribution tiers claims name (`person.tier`)",
    "default_tier": "the tier of a claim that names none",
    "benefit_year": "the day the policy's benefit year begins (a claim's `history` counts from it)",
    "money_rounding": "the unit the fund's and the second layer's payments are rounded to "
    "(default fen)",
}
RESERVED_TIERS = frozenset({"none", "always", "not"})


def month_day(text: str) -> tuple[int, int] | None:
    """`10-01` as (10, 1); None for a day that is not in every year (`02-29`, `13-01`)."""
    month, _, day = text.partition("-")
    try:
        dt.date(2001, int(month), int(day))  # 2001: no 29 February
    except ValueError:
        return None
    return int(month), int(day)


def check_header(ctx: CheckContext, decl: n.PolicyDecl, *, main: bool) -> None:
    seen: dict[str, n.Setting] = {}
    for setting in decl.settings:
        word = WORDS[setting.name]
        if not main:
            ctx.diags.error(
                "N004",
                f"`{word}` is said by a policy, not by the layer `{decl.name}` it uses",
                setting.span,
                hint="move it into the header of the policy that claims name",
            )
            continue
        if setting.name in seen:
            ctx.diags.error(
                "N002",
                f"`{word}` is said twice",
                setting.span,
                related=[Related(seen[setting.name].span, "first said here")],
            )
            continue
        seen[setting.name] = setting
    if not main:
        return
    _check_tiers(ctx, decl)
    default = seen.get("default_tier")
    if default is not None:
        _check_default(ctx, decl, default)
    year = seen.get("benefit_year")
    if year is not None and month_day(year.args[0]) is None:
        ctx.diags.error(
            "P004",
            f"`{year.args[0]}` is not a day of every year",
            year.span,
            hint="write the month and the day, `MM-DD`, e.g. `10-01` for 1 October",
        )
    rounding = seen.get("money_rounding")
    if rounding is not None and rounding.args[0] not in MONEY_UNITS:
        ctx.diags.error(
            "N001",
            f"unknown unit of money `{rounding.args[0]}`",
            rounding.span,
            hint=suggestion(rounding.args[0], MONEY_UNITS) or f"units: {', '.join(MONEY_UNITS)}",
        )


def _check_tiers(ctx: CheckContext, decl: n.PolicyDecl) -> None:
    named: dict[str, n.Tier] = {}
    for tier in decl.tiers:
        if tier.name in RESERVED_TIERS:
            ctx.diags.error("N001", f"`{tier.name}` is a keyword and cannot name a tier", tier.span)
        elif tier.name in named:
            ctx.diags.error(
                "N002",
                f"tier `{tier.name}` is declared twice",
                tier.span,
                related=[Related(named[tier.name].span, "first declared here")],
            )
        named.setdefault(tier.name, tier)


def _check_default(ctx: CheckContext, decl: n.PolicyDecl, default: n.Setting) -> None:
    tiers = [t.name for t in decl.tiers]
    if not tiers:
        ctx.diags.error(
            "N005",
            "`default tier` without `tiers`",
            default.span,
            hint='declare the tiers first: `tiers high "高档", low "低档"`',
        )
    elif default.args[0] not in tiers:
        ctx.diags.error(
            "N001",
            f"unknown tier `{default.args[0]}`",
            default.span,
            hint=suggestion(default.args[0], tiers) or f"tiers: {', '.join(tiers)}",
        )
