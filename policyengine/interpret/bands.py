"""The reference interpreter's second layer (大病保险): its payment on the year's self-burden,
and its account by band: the part of this claim's self-burden inside each band and the band's
payment on it (the trace's `by_band`).

Written from the schedule's values (BandsVal), independently of runtime.band_payments, which
reads the trace's text schedule: the differential test compares the two."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.semantics.matching import ratio_text, schedule
from policyengine.semantics.money import fen, money, to_unit
from policyengine.semantics.values import BandsVal, banded_total

if TYPE_CHECKING:
    from policyengine.contract.trace import BandPayment, CriticalIllnessFigures
    from policyengine.interpret.evaluator import Run

ZERO = Decimal(0)


def inside(amount: Decimal, low: Decimal, high: Decimal | None) -> Decimal:
    """How much of [0, amount] lies inside the band [low, high]."""
    top = amount if high is None else min(amount, high)
    return max(Decimal(0), top - low)


def band_payments(bands: BandsVal, before: Decimal, this: Decimal) -> list[BandPayment]:
    counted_before, counted_after = before, before + this
    if bands.ceiling is not None:  # self-burden above the ceiling is not counted
        counted_before = min(counted_before, bands.ceiling)
        counted_after = min(counted_after, bands.ceiling)
    out: list[BandPayment] = []
    for band in bands.bands:
        part = inside(counted_after, band.low, band.high) - inside(
            counted_before, band.low, band.high
        )
        if part > 0:
            out.append(
                {
                    "from": money(band.low),
                    "to": money(band.high) if band.high is not None else None,
                    "rate": ratio_text(band.rate),
                    "self_burden": money(part),
                    "paid": money(part * band.rate),
                }
            )
    return out


def second_layer(run: Run, visit: str, self_burden: Decimal, pre_self_pay: Decimal) -> Decimal:
    """The second layer's payment on this claim's self-burden (spec §2, step 8)."""
    table = run.policy.second_layer
    if table is None or visit not in table.self_burden:
        return ZERO
    row = run.lookup(table)
    if row is None:
        return ZERO
    run.notes.update(table.base_notes)
    bands = run.value(row)
    if table.base_includes_pre_self_pay:  # `base includes pre_self_pay`
        self_burden += pre_self_pay
    if not isinstance(bands, BandsVal):
        return ZERO
    before = run.claim.history.self_burden.inpatient
    computed = to_unit(
        banded_total(bands, before + self_burden) - banded_total(bands, before),
        run.policy.money_unit,
    )
    left = None
    result = computed
    if bands.payment_cap is not None:
        paid = run.claim.history.paid.get("critical_illness", ZERO)
        left = max(ZERO, fen(bands.payment_cap) - paid)
        result = min(computed, left)
    figures: CriticalIllnessFigures = {
        "self_burden_before": money(before),
        "self_burden": money(self_burden),
        "by_band": band_payments(bands, before, self_burden),
        "bands": bands.describe(),
        "schedule": schedule(bands),
        "paid": money(run.paid("critical_illness")),
        "computed": money(computed),
        "payment_cap_left": money(left) if left is not None else None,
    }
    if table.base_includes_pre_self_pay:
        figures["pre_self_pay"] = money(pre_self_pay)
    run.step(
        {
            "step": "critical_illness",
            "rule": row.location,
            "source": row.origin.as_json(),
            "figures": figures,
            "value": money(result),
            "composition": run.composition(row),
            "provisional": run.step_notes(row, extra=table.base_notes),
        }
    )
    return result
