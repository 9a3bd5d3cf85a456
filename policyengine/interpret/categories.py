"""The reference interpreter's per-category ratios (`when category …` rows of a ratio table).

With lines of a category in the claim, the fund is the sum over its categories of (the
category's covered − its share of what does not enter the fund) × the category's ratio,
rounded once; the shares are allocated pro rata to covered, half-up to the fen, the remainder
to the category with the largest covered. Written from the IR, independently of
compile/categories.py and runtime_steps.category_parts."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.ir import Note, RowIR
from policyengine.semantics.matching import ratio_text
from policyengine.semantics.money import fen, money, to_unit
from policyengine.semantics.values import BandsVal, banded_total

if TYPE_CHECKING:
    from policyengine.contract.trace import CategoryPart
    from policyengine.interpret.evaluator import Run
    from policyengine.semantics.values import Value

ZERO = Decimal(0)


def fund(run: Run, visit: str, base: Decimal, covered: Decimal) -> Decimal | None:
    """The fund paid by category, or None where one ratio serves the claim (its ratio table
    tests no category, or no line has one)."""
    table, _alias = run.ratio_table(visit)
    if table is None or not _tests_category(run, table.rows + table.adjust):
        return None
    groups = run.by_category
    if not groups or (len(groups) == 1 and None in groups):
        return None
    held = covered - base
    total = ZERO
    parts: list[CategoryPart] = []
    notes: set[Note] = set()
    for category, amount, share in _allocate(groups, covered, held):
        row, adjustments, _base, final = run.rate_for(table, {**run.facts, "category": category})
        for used in (row, *adjustments):
            notes.update(used.notes)
            notes.update(run.policy.let_notes(used.refs, run.day))
        paid_on = amount - share
        part = (
            banded_total(final, paid_on)
            if isinstance(final, BandsVal)
            else paid_on * run.level(final)
        )
        total += part
        parts.append(
            {
                "category": category,
                "covered": money(amount),
                "deductible": money(share),
                "base": money(paid_on),
                "rate": _describe(run, final),
                "rule": row.location,
                "source": row.origin.as_json(),
                "amount": money(part),
            }
        )
    value = to_unit(total, run.policy.money_unit)
    run.step(
        {
            "step": "category_ratios",
            "categories": parts,
            "value": money(value),
            "provisional": [str(n) for n in sorted(notes, key=Note.sort_key)],
        }
    )
    return value


def _tests_category(run: Run, rows: tuple[RowIR, ...]) -> bool:
    return any(
        row.active(run.day) and any(cond.key == "category" for cond in row.conds) for row in rows
    )


def _allocate(
    groups: dict[str | None, Decimal], covered: Decimal, held: Decimal
) -> list[tuple[str | None, Decimal, Decimal]]:
    names = sorted(groups, key=lambda name: "" if name is None else "\x01" + name)
    shares = {name: fen(held * groups[name] / covered) for name in names}
    largest = names[0]
    for name in names[1:]:
        if groups[name] > groups[largest]:
            largest = name
    shares[largest] += held - sum(shares.values(), ZERO)
    return [(name, groups[name], shares[name]) for name in names]


def _describe(run: Run, value: Value) -> str:
    """As the ratio step states a ratio: a rate, or a banded ratio's schedule in words."""
    if isinstance(value, BandsVal):
        return value.describe()
    return ratio_text(run.level(value))
