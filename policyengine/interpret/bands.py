"""The reference interpreter's account of the second layer by band: the part of this claim's
self-burden inside each band and the band's payment on it (the trace's `by_band`).

Written from the schedule's values (BandsVal), independently of runtime.band_payments, which
reads the trace's text schedule: the differential test compares the two."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.semantics.matching import ratio_text
from policyengine.semantics.money import money

if TYPE_CHECKING:
    from policyengine.contract.trace import BandPayment
    from policyengine.semantics.values import BandsVal


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
