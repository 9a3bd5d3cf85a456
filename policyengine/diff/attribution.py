"""Attribution of one claim's change between two rule sets, step by step (docs/diff.md).

The components of each version's settlement (diff/components.py) are substituted from
the base version to the amended one, one at a time, in settlement order (PAYER_ORDER after
the lines): the deductible amount and met, the ratio, its adjustments, how they combine and
its bounds, the fund ceiling and the year's amount entered, the annual cap and its paid, the
caps per visit and per day and the day's paid, the limit and its paid, the second-layer
schedule, its base and S with its paid. After each substitution fund and critical_illness
are recomputed (diff/recompute.py); the change of a step goes to the rule of that step (its
location and cited clause) when a rule figure changed, or to the ledger when only the year's
history did. The recomputation must reproduce both endpoints exactly, so the steps sum to the
claim's change; where it cannot (a banded ratio, per-category ratios), the whole change goes
to the first differing step and says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from policyengine.diff.components import (
    LEDGER,
    ZERO,
    Change,
    Cite,
    Cites,
    ExtraShare,
    Finding,
    LineState,
    Settlement,
    Side,
    State,
    Target,
)
from policyengine.diff.recompute import PAYER_FIELDS, NotRecomputable, recompute
from policyengine.diff.words import CATEGORY_RATIO_OF, EXTRA_SHARE_OF, PRICE_CAP_OF, SELFPAY_OF

# ------------------------------------------------------------------ attribution


@dataclass
class Attribution:
    """One claim's change split over targets; `note` says when it was not decomposed."""

    parts: list[tuple[Target, Change]]
    note: str | None = None


class _Walk:
    """Substitutes components one at a time, recording each step's change."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.outcome = recompute(state)
        self.parts: list[tuple[Target, Change]] = []

    def to(self, target: Target, **changes: Any) -> None:  # State's fields, each its own type
        if all(getattr(self.state, name) == value for name, value in changes.items()):
            return
        new = dataclasses.replace(self.state, **changes)
        outcome = recompute(new)
        delta = outcome.change() - self.outcome.change()
        if delta:
            self.parts.append((target, delta))
        self.state, self.outcome = new, outcome


def _fill(side: Settlement, other: Settlement) -> State:
    """Complete a side's state where one of its steps did not run but the other's did.

    A side whose payer steps never ran (covered 0) takes the other side's rule figures; a
    step that is absent on one side (no cap, a cancelled limit, no second layer for this
    person) gives nothing there. Either way the history inputs of the missing step are
    read from the side's own claim history, with the other side's pools, so that the
    rule's part and the ledger's part stay apart."""
    state, theirs, pools = side.state, other.state, other.pools
    optional = ("fund_ceiling", "cap", "day_cap", "limit", "schedule")
    if not state.payers and theirs.payers:
        state = dataclasses.replace(
            state, payers=True, **{name: getattr(theirs, name) for name in PAYER_FIELDS}
        )
        met = side.history.deductible_met.get(pools.visit, ZERO)
        state = dataclasses.replace(state, deductible_met=met if pools.deductible_yearly else ZERO)
        missing = set(optional)
    else:
        missing = {
            name
            for name in optional
            if getattr(state, name) is None and getattr(theirs, name) is not None
        }
    history = side.history
    history_inputs: dict[str, dict[str, Any]] = {  # State's fields, each its own type
        "fund_ceiling": {"pooled": _pooled(history.pooled, pools.fund_ceiling)},
        "cap": {"cap_paid": _pooled(history.paid, pools.cap)},
        "day_cap": {"day_paid": _pooled(history.paid_today, pools.day_cap)},
        "limit": {} if pools.limit is None else {"limit_paid": history.paid.get(pools.limit, ZERO)},
        "schedule": {
            "self_burden_before": history.self_burden.inpatient,
            "critical_paid": history.paid.get("critical_illness", ZERO),
            # the base comes with the schedule: a new second layer is the schedule's
            "base_with_pre_self_pay": theirs.base_with_pre_self_pay,
        },
    }
    for name in sorted(missing):
        state = dataclasses.replace(state, **history_inputs[name])
    return state


def _pooled(amounts: dict[str, Decimal], pools: tuple[str, ...]) -> Decimal:
    return sum((amounts.get(pool, ZERO) for pool in pools), ZERO)


def attribute(
    base: Settlement,
    amended: Settlement,
    hybrid_lines: tuple[LineState, ...] | None = None,
) -> Attribution:
    """Split amended − base over the steps (docs/diff.md). `hybrid_lines`: the claim's
    lines under the amended rules with the base version's history, when the two histories
    differ — the lines' change from base to hybrid is the rules', the rest the ledger's."""
    start = _fill(base, amended)
    end = _fill(amended, base)
    total = amended.outcome.change() - base.outcome.change()
    if start == end:  # nothing the trace states differs: a change no step explains
        if not total:
            return Attribution([])
        note = "not decomposed: the traces state no differing figure"
        return Attribution([(Target("unexplained", "claim"), total)], note)
    middle = hybrid_lines if hybrid_lines is not None else end.lines
    try:
        if recompute(start) != base.outcome or recompute(end) != amended.outcome:
            raise NotRecomputable("the figures in the trace do not reproduce the result")
        walk = _Walk(start)
        _lines(walk, middle, end.lines)
        _payers(walk, end, base.cites, amended.cites)
        if walk.outcome != amended.outcome:  # every component substituted: cannot happen
            raise NotRecomputable("the substitutions do not reach the amended result")
        return Attribution(walk.parts)
    except NotRecomputable as reason:
        target = _first_difference(start, end, middle, base.cites, amended.cites)
        return Attribution(
            [(target, total)] if total else [],
            f"not decomposed ({reason}): the whole change is given to the first differing "
            f"step, {target.step}",
        )


def _lines(walk: _Walk, middle: tuple[LineState, ...], end: tuple[LineState, ...]) -> None:
    for index, goal in enumerate(middle):
        for target, line in _line_steps(walk.state.lines[index], goal):
            walk.to(target, lines=_put(walk.state.lines, index, line))
    for index, goal in enumerate(end):
        if walk.state.lines[index].buckets() != goal.buckets():
            walk.to(Target(LEDGER, "lines"), lines=_put(walk.state.lines, index, goal))


def _put(lines: tuple[LineState, ...], index: int, line: LineState) -> tuple[LineState, ...]:
    return (*lines[:index], line, *lines[index + 1 :])


def _line_steps(a: LineState, b: LineState) -> Iterable[tuple[Target, LineState]]:
    """A line's change from a to b as (target, line after the step): a finding that now
    applies or no longer applies; else the payment standard, then the 自付比例, then the
    extra pre-self-pay shares — each priced from the line's figures, the last step reaching
    b exactly. A line its figures do not reproduce is NotRecomputable."""
    if a.buckets() == b.buckets():
        return
    if a.status != b.status or a.status != "priced":
        yield _finding_target(a, b), b
        return
    if not (a.reproduced() and b.reproduced()):
        raise NotRecomputable(f"line {b.line}'s figures do not reproduce its buckets")
    line = a
    for target, price_cap, selfpay, extras in _pricing_steps(a, b):
        line = line.priced(price_cap, selfpay, extras)
        yield target, line


def _pricing_steps(
    a: LineState, b: LineState
) -> Iterable[tuple[Target, Decimal | None, Decimal | None, tuple[ExtraShare, ...]]]:
    """The figures of a line's pricing that differ, in the order they are applied, each with
    the figures after it: the payment standard, the 自付比例, the extra shares."""
    if a.price_cap != b.price_cap:
        detail = PRICE_CAP_OF.format(code=b.code)
        yield Target("rule", "lines", None, None, None, detail), b.price_cap, a.selfpay, a.extras
    if a.selfpay != b.selfpay:
        version: Side = "amended" if b.selfpay_cite.rule else "base"
        cite = b.selfpay_cite if b.selfpay_cite.rule else a.selfpay_cite
        target = cite.target("lines", version, SELFPAY_OF.format(code=b.code))
        yield target, b.price_cap, b.selfpay, a.extras
    if a.extras != b.extras:
        yield _extra_target(a, b), b.price_cap, b.selfpay, b.extras


def _extra_target(a: LineState, b: LineState) -> Target:
    """The extra pre-self-pay share that differs: one new (or changed) in the amended
    version, else one gone from the base."""
    for share in b.extras:
        if share not in a.extras:
            detail = EXTRA_SHARE_OF.format(table=share.table, code=b.code)
            return share.cite.target("lines", "amended", detail)
    share = next(share for share in a.extras if share not in b.extras)
    return share.cite.target("lines", "base", EXTRA_SHARE_OF.format(table=share.table, code=b.code))


def _line_target(a: LineState, b: LineState) -> Target:
    """The first step of a line's change (its buckets differ), without pricing it."""
    if a.status != b.status or a.status != "priced":
        return _finding_target(a, b)
    first = next(iter(_pricing_steps(a, b)), None)
    return first[0] if first is not None else Target("unexplained", "lines")


ACTION_OF = {"denied": "reject", "excluded": "exclude"}


def _finding_target(a: LineState, b: LineState) -> Target:
    def causes(x: LineState, y: LineState) -> list[Finding]:
        action = ACTION_OF.get(x.status)
        present = {(f.kind, f.action) for f in y.findings}
        return [f for f in x.findings if f.action == action and (f.kind, f.action) not in present]

    now = causes(b, a)
    if now:
        return Target("rule", "lines", now[0].rule, "amended", now[0].source, now[0].kind)
    gone = causes(a, b)
    if gone:
        return Target("rule", "lines", gone[0].rule, "base", gone[0].source, gone[0].kind)
    return Target("unexplained", "lines")


def _payer_order(base: Cites, amended: Cites) -> list[tuple[tuple[str, ...], Target]]:
    """The payer components in settlement order: the State fields substituted together, and
    where their change goes."""
    combination = amended.combination, base.combination
    second = amended.second_layer, base.second_layer
    return [
        (("deductible",), _pick("deductible", amended.deductible, base.deductible)),
        (("deductible_met",), Target(LEDGER, "deductible_met")),
        (("ratio_base", "ratio_banded"), _pick("ratio", amended.ratio, base.ratio)),
        (("ratio_pooled",), Target(LEDGER, "ratio_pooled")),
        (("categories",), _category(base, amended)),
        (("ratio_adjustments",), _adjustment(base, amended)),
        (("ratio_how",), _pick("ratio_combination", *combination)),
        (("ratio_at_least", "ratio_at_most"), _pick("ratio_bounds", *combination)),
        (("fund_ceiling",), _pick("fund_ceiling", amended.fund_ceiling, base.fund_ceiling)),
        (("pooled",), Target(LEDGER, "fund_ceiling_pooled")),
        (("cap",), _pick("cap", amended.cap, base.cap)),
        (("cap_paid",), Target(LEDGER, "cap_paid")),
        (("visit_cap",), _pick("cap_per_visit", amended.visit_cap, base.visit_cap)),
        (("day_cap",), _pick("cap_per_day", amended.day_cap, base.day_cap)),
        (("day_paid",), Target(LEDGER, "cap_per_day_paid")),
        (("limit",), _pick("limit", amended.limit, base.limit)),
        (("limit_paid",), Target(LEDGER, "limit_paid")),
        (("schedule",), _pick("second_layer", *second)),
        (("base_with_pre_self_pay",), _pick("second_layer_base", *second)),
        (("self_burden_before", "critical_paid"), Target(LEDGER, "second_layer_history")),
    ]


def _payers(walk: _Walk, end: State, base: Cites, amended: Cites) -> None:
    for names, target in _payer_order(base, amended):
        if names == ("ratio_adjustments",):
            _adjustments(walk, end, base, amended)
        walk.to(target, **{name: getattr(end, name) for name in names})


def _adjustments(walk: _Walk, end: State, base: Cites, amended: Cites) -> None:
    """The ratio's adjustments substituted one row at a time, so that each row whose points
    differ gets its own part rather than the first taking the whole change.

    Rows are matched by their location; the amended version's rows in its order, then the
    rows gone from the base. Where the cites do not describe the walk's points (a side
    whose payer steps never ran took the other's) or a row applies twice, nothing is done
    here and the caller's single step takes the change to the first differing row."""
    old = {cite.rule: points for cite, points in base.adjustments}
    new = {cite.rule: points for cite, points in amended.adjustments}
    if (
        len(old) != len(base.adjustments)
        or len(new) != len(amended.adjustments)
        or tuple(old.values()) != walk.state.ratio_adjustments
        or tuple(new.values()) != end.ratio_adjustments
    ):
        return
    rows: list[tuple[Cite, Side]] = [(cite, "amended") for cite, _ in amended.adjustments]
    rows += [(cite, "base") for cite, _ in base.adjustments if cite.rule not in new]
    current = dict(old)
    for cite, version in rows:
        if current.get(cite.rule) == new.get(cite.rule):
            continue
        if cite.rule in new:
            current[cite.rule] = new[cite.rule]
        else:
            del current[cite.rule]
        walk.to(cite.target("ratio_adjustment", version), ratio_adjustments=tuple(current.values()))


def _category(base: Cites, amended: Cites) -> Target:
    """The per-category ratio that differs: one new (or changed) in the amended version, else
    one gone from the base."""
    for part in amended.categories:
        if part not in base.categories:
            return part[2].target("ratio", "amended", CATEGORY_RATIO_OF.format(category=part[0]))
    for part in base.categories:
        if part not in amended.categories:
            return part[2].target("ratio", "base", CATEGORY_RATIO_OF.format(category=part[0]))
    return _pick("ratio", amended.ratio, base.ratio)


def _adjustment(base: Cites, amended: Cites) -> Target:
    """The ratio adjustment (points) that differs: one new in the amended version, else one
    gone from the base."""
    old = {(c.rule, p) for c, p in base.adjustments}
    new = {(c.rule, p) for c, p in amended.adjustments}
    for cite, points in amended.adjustments:
        if (cite.rule, points) not in old:
            return cite.target("ratio_adjustment", "amended")
    for cite, points in base.adjustments:
        if (cite.rule, points) not in new:
            return cite.target("ratio_adjustment", "base")
    return Target("unexplained", "ratio_adjustment")


def _first_difference(
    start: State, end: State, middle: tuple[LineState, ...], base: Cites, amended: Cites
) -> Target:
    """The first step, in settlement order, whose inputs differ between the versions."""
    for a, h, b in zip(start.lines, middle, end.lines, strict=True):
        if a.buckets() != h.buckets():
            return _line_target(a, h)
        if h.buckets() != b.buckets():
            return Target(LEDGER, "lines")
    for names, target in _payer_order(base, amended):
        if any(getattr(start, n) != getattr(end, n) for n in names):
            return target
    # a banded ratio whose description is all that differs: the ratio row's
    return _pick("ratio", amended.ratio, base.ratio)


def _pick(step: str, mine: Cite, theirs: Cite) -> Target:
    return mine.target(step, "amended") if mine.rule is not None else theirs.target(step, "base")
