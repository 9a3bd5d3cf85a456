"""Attribution of one claim's change between two rule sets, step by step (docs/diff.md).

The components of each version's settlement (diff/components.py) are substituted from
the base version to the amended one, one at a time, in settlement order: the lines, the
deductible amount, the deductible met, the ratio, its adjustments, the cap, the cap's
paid, the limit, the limit's paid, the second-layer schedule, S and the second layer's
paid. After each substitution fund and critical_illness are recomputed; the change of a
step goes to the rule of that step (its location and cited clause) when a rule figure
changed, or to the ledger when only the year's history did. The recomputation must
reproduce both endpoints exactly, so the steps sum to the claim's change; where it cannot
(a banded ratio), the whole change goes to the first differing step and says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from policyengine.diff.components import (
    LEDGER,
    PAYER_FIELDS,
    ZERO,
    Change,
    Cite,
    Cites,
    Finding,
    LineState,
    NotRecomputable,
    Settlement,
    Side,
    State,
    Target,
    recompute,
)
from policyengine.diff.words import PRICE_CAP_OF, SELFPAY_OF

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
    if not state.payers and theirs.payers:
        state = dataclasses.replace(
            state, payers=True, **{name: getattr(theirs, name) for name in PAYER_FIELDS}
        )
        met = side.history.deductible_met.get(pools.visit, ZERO)
        state = dataclasses.replace(state, deductible_met=met if pools.deductible_yearly else ZERO)
        missing = {"cap", "limit", "schedule"}
    else:
        missing = {
            name
            for name in ("cap", "limit", "schedule")
            if getattr(state, name) is None and getattr(theirs, name) is not None
        }
    paid = side.history.paid
    if "cap" in missing:
        state = dataclasses.replace(
            state, cap_paid=sum((paid.get(p, ZERO) for p in pools.cap), ZERO)
        )
    if "limit" in missing and pools.limit is not None:
        state = dataclasses.replace(state, limit_paid=paid.get(pools.limit, ZERO))
    if "schedule" in missing:
        state = dataclasses.replace(
            state,
            self_burden_before=side.history.self_burden.inpatient,
            critical_paid=paid.get("critical_illness", ZERO),
        )
    return state


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
    if start == end:
        return Attribution([])
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
    applies or no longer applies; else the payment standard, then the 自付比例."""
    if a.buckets() == b.buckets():
        return
    if a.status != b.status or a.status != "priced":
        yield _finding_target(a, b), b
        return
    line = a
    if a.price_cap != b.price_cap:
        line = line.priced(b.price_cap, line.selfpay)
        detail = PRICE_CAP_OF.format(code=b.code)
        yield Target("rule", "lines", None, None, None, detail), line
    if a.selfpay != b.selfpay or line.buckets() != b.buckets():
        version: Side = "amended" if b.selfpay_cite.rule else "base"
        cite = b.selfpay_cite if b.selfpay_cite.rule else a.selfpay_cite
        yield cite.target("lines", version, SELFPAY_OF.format(code=b.code)), b


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


def _payers(walk: _Walk, end: State, base: Cites, amended: Cites) -> None:
    walk.to(_pick("deductible", amended.deductible, base.deductible), deductible=end.deductible)
    walk.to(Target(LEDGER, "deductible_met"), deductible_met=end.deductible_met)
    walk.to(_pick("ratio", amended.ratio, base.ratio), ratio_base=end.ratio_base)
    walk.to(_adjustment(base, amended), ratio_points=end.ratio_points)
    walk.to(_pick("cap", amended.cap, base.cap), cap=end.cap)
    walk.to(Target(LEDGER, "cap_paid"), cap_paid=end.cap_paid)
    walk.to(_pick("limit", amended.limit, base.limit), limit=end.limit)
    walk.to(Target(LEDGER, "limit_paid"), limit_paid=end.limit_paid)
    walk.to(_pick("second_layer", amended.second_layer, base.second_layer), schedule=end.schedule)
    walk.to(
        Target(LEDGER, "second_layer_history"),
        self_burden_before=end.self_burden_before,
        critical_paid=end.critical_paid,
    )


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
            return next(iter(_line_steps(a, h)))[0]
        if h.buckets() != b.buckets():
            return Target(LEDGER, "lines")
    order: list[tuple[tuple[str, ...], Target]] = [
        (("deductible",), _pick("deductible", amended.deductible, base.deductible)),
        (("deductible_met",), Target(LEDGER, "deductible_met")),
        (("ratio_base", "ratio_banded"), _pick("ratio", amended.ratio, base.ratio)),
        (("ratio_points",), _adjustment(base, amended)),
        (("cap",), _pick("cap", amended.cap, base.cap)),
        (("cap_paid",), Target(LEDGER, "cap_paid")),
        (("limit",), _pick("limit", amended.limit, base.limit)),
        (("limit_paid",), Target(LEDGER, "limit_paid")),
        (("schedule",), _pick("second_layer", amended.second_layer, base.second_layer)),
        (("self_burden_before", "critical_paid"), Target(LEDGER, "second_layer_history")),
    ]
    for names, target in order:
        if any(getattr(start, n) != getattr(end, n) for n in names):
            return target
    # a banded ratio whose description is all that differs: the ratio row's
    return _pick("ratio", amended.ratio, base.ratio)


def _pick(step: str, mine: Cite, theirs: Cite) -> Target:
    return mine.target(step, "amended") if mine.rule is not None else theirs.target(step, "base")
