"""The reference interpreter's limits of issue 16 around the fund's payment: a ceiling on the
cost entering the fund (`fund_ceiling`) and caps `per visit` / `per day` on the fund — each a
figure, or one computed from the claim's facts (its step then states the derivation). Read
row by row from the IR, independently of compile/fund_limits.py."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.interpret.ratios import derivation
from policyengine.semantics.money import money
from policyengine.semantics.values import Val
from policyengine.semantics.vocabulary import CAP_PERIODS

if TYPE_CHECKING:
    from policyengine.contract.trace import FundCeilingStep, PeriodCapStep
    from policyengine.interpret.evaluator import Run

ZERO = Decimal(0)


def fund_ceiling(run: Run, visit: str, amount: Decimal) -> Decimal | None:
    """What of `amount` (covered − deductible) enters the fund, where a ceiling applies
    (None: the policy has none for this visit type, or its row is `none`)."""
    table = run.policy.fund_ceiling_of(visit)
    if table is None or not any(r.active(run.day) for r in table.rows):
        return None
    row = run.required(table, "fund ceiling")
    value = run.value(row)
    if isinstance(value, Val) and not value.amounts:  # `none`: no ceiling
        return None
    ceiling = run.money_figure(value)
    pooled = sum((run.claim.history.pooled.get(p, ZERO) for p in table.pools), ZERO)
    left = max(ZERO, ceiling - pooled)
    entering = min(amount, left)
    step: FundCeilingStep = {
        "step": "fund_ceiling",
        "rule": row.location,
        "source": row.origin.as_json(),
        "figures": {
            "ceiling": money(ceiling),
            "pools": list(table.pools),
            "pooled": money(pooled),
            "left": money(left),
            "amount": money(amount),
        },
        "value": money(entering),
        "provisional": run.step_notes(row),
    }
    if (found := derivation(run, row, ceiling)) is not None:  # a figure of the claim's facts
        step["figures"]["derivation"] = found
    run.step(step)
    return entering


def period_caps(run: Run, visit: str, fund: Decimal) -> Decimal:
    """The fund after the caps per visit and per day."""
    for period in CAP_PERIODS:
        table = run.policy.cap_of(visit, period)
        if table is None or not any(r.active(run.day) for r in table.rows):
            continue
        row = run.required(table, f"cap per {period}")
        value = run.value(row)
        if isinstance(value, Val) and not value.amounts:  # `none`: no cap
            continue
        cap = run.money_figure(value)
        today = run.claim.history.paid_today
        paid = sum((today.get(p, ZERO) for p in table.pools), ZERO) if period == "day" else ZERO
        left = max(ZERO, cap - paid)
        fund = min(fund, left)
        step: PeriodCapStep = {
            "step": "period_cap",
            "period": period,
            "rule": row.location,
            "source": row.origin.as_json(),
            "figures": {
                "cap": money(cap),
                "pools": list(table.pools),
                "paid": money(paid),
                "left": money(left),
            },
            "value": money(fund),
            "provisional": run.step_notes(row),
        }
        if (found := derivation(run, row, cap)) is not None:  # a figure of the claim's facts
            step["figures"]["derivation"] = found
        run.step(step)
    return fund
