"""The recomputation of a settlement from its components (spec §2, steps 6–9).

`recompute(state)` applies the spec's formulas to a State read from a trace
(diff/components.py): the deductible, the ratio (its adjustments combined and held within
the table's bounds), the ceiling on the cost entering the fund, the annual cap, the caps per
visit and per day, the per-condition limit, and the second layer on the year's self-burden
(with the pre-self-pay where its base includes it). diff/attribution.py recomputes after
each substitution; where a state holds a construct this does not model it raises
NotRecomputable, saying which, and the claim's change is not decomposed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.diff.components import ZERO, Outcome
from policyengine.semantics.money import fen
from policyengine.semantics.values import banded_total

if TYPE_CHECKING:
    from policyengine.diff.components import State


class NotRecomputable(Exception):
    """The settlement cannot be recomputed from the trace's figures; says why."""


# the fields of the payer steps: a side whose payer steps never ran takes the other's
PAYER_FIELDS = (
    "deductible",
    "deductible_met",
    "ratio_base",
    "ratio_banded",
    "ratio_adjustments",
    "ratio_how",
    "ratio_at_least",
    "ratio_at_most",
    "fund_ceiling",
    "pooled",
    "cap",
    "cap_paid",
    "visit_cap",
    "day_cap",
    "day_paid",
    "limit",
    "limit_paid",
    "schedule",
    "base_with_pre_self_pay",
    "self_burden_before",
    "critical_paid",
    "ratio_pooled",
    "categories",
    "unmodelled",
)


def recompute(state: State) -> Outcome:
    """Spec §2, steps 6–9, on the state's figures."""
    covered = sum((line.covered for line in state.lines), ZERO)
    denied = sum((line.denied for line in state.lines), ZERO)
    deductible = fund = critical = ZERO
    if covered:
        deductible = min(covered, max(ZERO, state.deductible - state.deductible_met))
        fund = _fund(state, covered - deductible)
        critical = _second_layer(state, covered, fund)
    patient = state.billed - denied - fund - critical
    return Outcome(covered, denied, deductible, fund, critical, patient)


def _fund(state: State, entering: Decimal) -> Decimal:
    """(covered − deductible, held to the fund ceiling) × ratio, then the caps and limit."""
    if state.unmodelled is not None:
        raise NotRecomputable(state.unmodelled)
    if state.ratio_base is None:
        raise NotRecomputable("a banded ratio")
    if state.fund_ceiling is not None:
        entering = min(entering, max(ZERO, state.fund_ceiling - state.pooled))
    fund = fen(entering * state.ratio(state.ratio_base))
    if state.cap is not None:
        fund = min(fund, max(ZERO, state.cap - state.cap_paid))
    if state.visit_cap is not None:
        fund = min(fund, max(ZERO, state.visit_cap))
    if state.day_cap is not None:
        fund = min(fund, max(ZERO, state.day_cap - state.day_paid))
    if state.limit is not None:
        fund = min(fund, max(ZERO, state.limit - state.limit_paid))
    return fund


def _second_layer(state: State, covered: Decimal, fund: Decimal) -> Decimal:
    bands = state.schedule
    if bands is None:
        return ZERO
    before = state.self_burden_before
    burden = covered - fund
    if state.base_with_pre_self_pay:
        burden += sum((line.pre_self_pay for line in state.lines), ZERO)
    critical = fen(banded_total(bands, before + burden) - banded_total(bands, before))
    if bands.payment_cap is not None:
        critical = min(critical, max(ZERO, bands.payment_cap - state.critical_paid))
    return critical
