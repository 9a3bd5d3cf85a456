"""Resolving `when` conditions (part of pass `names`): each key and value checked against the
claim contract's vocabulary, into a CondIR; unknown words get a did-you-mean."""

from __future__ import annotations

from collections.abc import Iterable

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.diagnostics import suggestion
from policyengine.ir import CondIR
from policyengine.semantics.facts import FACTS


def resolve_conds(ctx: CheckContext, conds: tuple[n.Cond, ...]) -> tuple[CondIR, ...]:
    resolved = []
    keys_seen: set[str] = set()
    for cond in conds:
        if cond.key in keys_seen:
            ctx.diags.error("N002", f"`{cond.key}` is tested twice in one `when`", cond.span)
        keys_seen.add(cond.key)
        if cond.key not in FACTS:
            ctx.diags.error(
                "N001",
                f"unknown condition key `{cond.key}`",
                cond.span,
                hint=suggestion(cond.key, FACTS) or f"keys: {', '.join(FACTS)}",
            )
            continue
        resolved.append(_resolve_cond(ctx, cond))
    return tuple(resolved)


def _resolve_cond(ctx: CheckContext, cond: n.Cond) -> CondIR:
    names: set[str] = set()
    ranges: list[tuple[int, int]] = []
    fact = FACTS[cond.key]
    for value in cond.values:
        if fact.kind == "integer":
            if value.name is not None or value.low is None or value.high is None:
                ctx.diags.error(
                    "T002", f"`{cond.key}` takes whole numbers, not `{value}`", value.span
                )
                continue
            _check_integer_range(ctx, cond.key, value, fact.bounds or (0, 0))
            ranges.append((value.low, value.high))
            continue
        if value.name is None:
            ctx.diags.error("T002", f"`{cond.key}` takes a name, not `{value}`", value.span)
            continue
        if fact.declared is not None:  # the policy's own words (`tiers` in its header)
            check_words(ctx, (value.name,), ctx.tiers, f"{cond.key} value", value.span)
        elif fact.conditions or fact.values is not None:  # an open word takes any name
            known: Iterable[str] = ctx.conditions if fact.conditions else fact.values or ()
            check_words(ctx, (value.name,), tuple(known), f"{cond.key} value", value.span)
        names.add(value.name)
    return CondIR(cond.key, cond.negated, frozenset(names), tuple(ranges))


def _check_integer_range(
    ctx: CheckContext, key: str, value: n.CondValue, bounds: tuple[int, int]
) -> None:
    assert value.low is not None and value.high is not None
    low, high = bounds
    if not low <= value.low <= value.high <= high:
        ctx.diags.error("T003", f"`{key} {value}` is outside {low}..{high}", value.span)


def check_words(
    ctx: CheckContext, words: Iterable[str], known: tuple[str, ...], what: str, span: n.Span
) -> None:
    for word in words:
        if word not in known:
            ctx.diags.error(
                "N001",
                f"unknown {what} `{word}`",
                span,
                hint=suggestion(word, known)
                or (f"expected one of: {', '.join(known)}" if known else f"no {what} is declared"),
            )
