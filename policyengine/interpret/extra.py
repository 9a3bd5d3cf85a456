"""The reference interpreter's extra pre-self-pay shares: named `pre_self_pay` tables other
than `default` (异地就医先行自付 …). For each table whose row applies to the claim, every
line in scope gives `covered × rate`, half-up to the fen, of what it has left, in the
tables' declaration order; the shares are reported inside the lines' `pre_self_pay` and
each table's in a step of its own, after the lines (with the rate's derivation where the
rate is a figure of the claim's facts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.interpret.ratios import derivation
from policyengine.semantics.matching import ratio_text
from policyengine.semantics.money import fen, money

if TYPE_CHECKING:
    from policyengine.contract.trace import Derivation, ExtraPreSelfPayLine, ExtraPreSelfPayStep
    from policyengine.interpret.evaluator import Run
    from policyengine.ir import RowIR, TableIR


@dataclass
class ExtraShare:
    """One table's row for this claim, and the shares it took, line by line."""

    table: TableIR
    row: RowIR
    rate: Decimal
    derivation: Derivation | None  # the rate's, where it reads the claim's facts (traced)
    lines: list[ExtraPreSelfPayLine] = field(default_factory=list)
    total: Decimal = Decimal(0)

    def share(self, line: int, covered: Decimal) -> Decimal:
        value = fen(covered * self.rate)
        self.lines.append({"line": line, "base": money(covered), "value": money(value)})
        self.total += value
        return value

    def step(self, provisional: list[str]) -> ExtraPreSelfPayStep:
        step: ExtraPreSelfPayStep = {
            "step": "extra_pre_self_pay",
            "table": self.table.name,
            "title": self.table.title,
            "rule": self.row.location,
            "source": self.row.origin.as_json(),
            "rate": ratio_text(self.rate),
            "lines": self.lines,
            "value": money(self.total),
            "provisional": provisional,
        }
        if self.derivation is not None:
            step["derivation"] = self.derivation
        return step


def extra_shares(run: Run) -> list[ExtraShare]:
    """The named tables whose row applies to the claim (their figures now shape it)."""
    out = []
    for table in run.policy.extra_pre_self_pay:
        row = run.lookup(table)
        if row is not None:
            rate = run.level(run.value(row))
            out.append(ExtraShare(table, row, rate, derivation(run, row, rate)))
    return out
