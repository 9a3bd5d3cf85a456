"""The reference interpreter's ratio (spec §2, step 7) and the derivations of figures that
read the claim's facts: the base row that applies, the adjustments that apply — one, or
combined as the table says (`adjustments sum|largest`) — held within the table's bounds, and
the trace's ratio step stating each part."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine import nodes as n
from policyengine.errors import RuleFailure
from policyengine.ir import RowIR
from policyengine.semantics.domain import matches
from policyengine.semantics.matching import ratio_text
from policyengine.semantics.money import money
from policyengine.semantics.values import BandsVal, Val, Value

if TYPE_CHECKING:
    from policyengine.contract.trace import (
        Derivation,
        RatioAdjustment,
        RatioCombination,
        RatioStep,
    )
    from policyengine.interpret.evaluator import Run
    from policyengine.ir import Combination, TableIR

ZERO = Decimal(0)


def derivation(run: Run, row: RowIR, amount: Decimal) -> Derivation | None:
    """The row's figure as computed from the claim's facts, or None where it reads none (or
    nothing is traced)."""
    read = run.policy.facts_read(row.expr, run.day) if run.steps is not None else None
    if not read:
        return None
    unit = run.policy.value(row.expr, run.day, run.atoms).unit
    return {
        "expression": row.written,
        "facts": {name: run.atoms[name] for name in sorted(read)},
        "value": money(amount) if unit == "money" else ratio_text(amount),
    }


def rate_parts(
    run: Run, table: TableIR | None, facts: dict[str, Any]
) -> tuple[RowIR, list[RowIR], list[Decimal], Value, Value, RatioCombination | None]:
    """For `facts` (the claim's, or with a line category's): the row, the adjustments that
    apply and their points, the base, the final ratio — adjustments combined and held as the
    table says, a banded ratio's rates at the claim's level — and the combination stated."""
    row = run.lookup(table, facts) if table is not None else None
    if row is None:
        raise RuleFailure(
            f"no ratio applies to {facts['visit']} visits of this person "
            f"(scheme {facts['scheme']}) on {run.day}"
        )
    assert table is not None
    base = run.value(row)
    adjustments = [r for r in table.adjust if r.active(run.day) and matches(r.conds, facts)]
    points = [run.level(run.value(r)) for r in adjustments]
    final: Value = base
    combination: RatioCombination | None = None
    if isinstance(base, Val):
        rate, combination = _combined(run, table, run.level(base), points)
        final = Val("ratio", (rate,))
        if table.combination is not None:
            run.notes.update(table.combination.notes)
    elif isinstance(base, BandsVal):  # its rates at the claim's hospital level
        final = base.at_level(run.facts["level"])
    return row, adjustments, points, base, final, combination


def ratio(run: Run, visit: str) -> Value:
    table, alias = run.ratio_table(visit)
    row, adjustments, points, base, final, combination = rate_parts(run, table, run.facts)
    assert table is not None
    step: RatioStep = {
        "step": "ratio",
        "form": "bands" if isinstance(final, BandsVal) else "rate",
        "rule": row.location,
        "source": row.origin.as_json(),
        "figures": {
            "base": describe_ratio(base, run.facts["level"]),
            "alias": alias.alias_step() if alias else None,
            "adjustments": [
                _adjustment(run, r, p) for r, p in zip(adjustments, points, strict=True)
            ],
        },
        "value": describe_ratio(final, run.facts["level"]),
        "composition": run.composition(row),
        "provisional": run.step_notes(row, *adjustments),
    }
    if isinstance(base, Val):
        found = derivation(run, row, run.level(base))
        if found is not None:
            step["figures"]["base_derivation"] = found
    if combination is not None:
        step["figures"]["combination"] = combination
    run.step(step)
    return final


def _adjustment(run: Run, row: RowIR, points: Decimal) -> RatioAdjustment:
    out: RatioAdjustment = {
        "rule": row.location,
        "points": ratio_text(points),
        "source": row.origin.as_json(),
    }
    found = derivation(run, row, points)
    if found is not None:
        out["derivation"] = found
    return out


def _combined(
    run: Run, table: TableIR, base: Decimal, points: list[Decimal]
) -> tuple[Decimal, RatioCombination | None]:
    """base + the adjustments: at most one applies where the table says nothing of them;
    summed or the largest taken, then held within the bounds, where it says `adjustments`."""
    combination = table.combination
    if combination is None:
        return base + sum(points, ZERO), None
    added = max(points) if combination.rule == "largest" and points else sum(points, ZERO)
    unclamped = base + added
    at_least, at_most = _bound(run, combination.at_least), _bound(run, combination.at_most)
    rate = unclamped
    if at_least is not None and rate < at_least:
        rate = at_least
    if at_most is not None and rate > at_most:
        rate = at_most
    return rate, _combination_step(combination, added, unclamped, at_least, at_most)


def _bound(run: Run, expr: n.Expr | None) -> Decimal | None:
    if expr is None:
        return None
    value = run.policy.value(expr, run.day)
    assert isinstance(value, Val)
    return value.amounts[0]


def _combination_step(
    combination: Combination,
    added: Decimal,
    unclamped: Decimal,
    at_least: Decimal | None,
    at_most: Decimal | None,
) -> RatioCombination:
    return {
        "how": "largest" if combination.rule == "largest" else "sum",
        "points": ratio_text(added),
        "unclamped": ratio_text(unclamped),
        "at_least": ratio_text(at_least) if at_least is not None else None,
        "at_most": ratio_text(at_most) if at_most is not None else None,
        "rule": combination.location,
        "source": combination.origin.as_json(),
    }


def describe_ratio(value: Value, level: int) -> str:
    if isinstance(value, BandsVal):
        return value.at_level(level).describe()
    assert isinstance(value, Val)
    return ratio_text(value.at_level(level))
