"""Resolving `when` conditions (part of pass `names`): each key and value checked against the
claim contract's vocabulary, into a CondIR; unknown words get a did-you-mean."""

from __future__ import annotations

from collections.abc import Iterable

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.diagnostics import suggestion
from policyengine.ir import CondIR
from policyengine.semantics.vocabulary import CONDITION_KEYS, CONDITION_NAME_KEYS, INTEGER_KEYS


def resolve_conds(ctx: CheckContext, conds: tuple[n.Cond, ...]) -> tuple[CondIR, ...]:
    resolved = []
    keys_seen: set[str] = set()
    for cond in conds:
        if cond.key in keys_seen:
            ctx.diags.error("N002", f"`{cond.key}` is tested twice in one `when`", cond.span)
        keys_seen.add(cond.key)
        if cond.key not in CONDITION_KEYS:
            ctx.diags.error(
                "N001",
                f"unknown condition key `{cond.key}`",
                cond.span,
                hint=suggestion(cond.key, CONDITION_KEYS) or f"keys: {', '.join(CONDITION_KEYS)}",
            )
            continue
        resolved.append(_resolve_cond(ctx, cond))
    return tuple(resolved)


def _resolve_cond(ctx: CheckContext, cond: n.Cond) -> CondIR:
    names: set[str] = set()
    ranges: list[tuple[int, int]] = []
    choices = CONDITION_KEYS[cond.key]
    for value in cond.values:
        if cond.key in INTEGER_KEYS:
            if value.name is not None or value.low is None or value.high is None:
                ctx.diags.error(
                    "T002", f"`{cond.key}` takes whole numbers, not `{value}`", value.span
                )
                continue
            _check_integer_range(ctx, cond.key, value)
            ranges.append((value.low, value.high))
            continue
        if value.name is None:
            ctx.diags.error("T002", f"`{cond.key}` takes a name, not `{value}`", value.span)
            continue
        known: Iterable[str] = ctx.conditions if cond.key in CONDITION_NAME_KEYS else choices or ()
        check_words(ctx, (value.name,), tuple(known), f"{cond.key} value", value.span)
        names.add(value.name)
    return CondIR(cond.key, cond.negated, frozenset(names), tuple(ranges))


def _check_integer_range(ctx: CheckContext, key: str, value: n.CondValue) -> None:
    assert value.low is not None and value.high is not None
    top = 3 if key == "level" else 150
    if not 0 <= value.low <= value.high <= top or (key == "level" and value.low < 1):
        ctx.diags.error(
            "T003",
            f"`{key} {value}` is outside {1 if key == 'level' else 0}..{top}",
            value.span,
        )


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
