"""The step builders of contract version 2's settlement constructs (issue 16) that the
generated code calls through runtime.py: an extra pre-self-pay share (异地就医), a ceiling on
the cost entering the fund, caps per visit and per day, and the second layer's payment by
band. Each builds a step contract/trace.py declares, so mypy checks what the compiled code
records."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.semantics.matching import ratio_text
from policyengine.semantics.money import ZERO, fen, money

if TYPE_CHECKING:
    from policyengine.contract.trace import (
        BandPayment,
        CategoryPart,
        CategoryRatiosStep,
        Citation,
        Derivation,
        ExtraPreSelfPayLine,
        ExtraPreSelfPayStep,
        FundCeilingStep,
        PeriodCapStep,
        RatioStep,
        Schedule,
    )
    from policyengine.semantics.vocabulary import CapPeriod


def extra_pre_self_pay_step(
    table: str,
    title: str,
    rule: str,
    source: Citation,
    rate: Decimal,
    lines: list[tuple[int, Decimal, Decimal]],
    provisional: tuple[str, ...],
    derivation: Derivation | None = None,
) -> ExtraPreSelfPayStep:
    """A named pre-self-pay table's share of each line: (line, base, share); `derivation`:
    the rate's, where it is a figure of the claim's facts."""
    shares: list[ExtraPreSelfPayLine] = [
        {"line": line, "base": money(base), "value": money(value)} for line, base, value in lines
    ]
    step: ExtraPreSelfPayStep = {
        "step": "extra_pre_self_pay",
        "table": table,
        "title": title,
        "rule": rule,
        "source": source.copy(),
        "rate": ratio_text(rate),
        "lines": shares,
        "value": money(sum((value for _line, _base, value in lines), ZERO)),
        "provisional": list(provisional),
    }
    if derivation is not None:
        step["derivation"] = derivation
    return step


def fund_ceiling_step(
    rule: str,
    source: Citation,
    ceiling: Decimal,
    pools: tuple[str, ...],
    pooled: Decimal,
    left: Decimal,
    amount: Decimal,
    value: Decimal,
    provisional: tuple[str, ...],
    derivation: Derivation | None = None,
) -> FundCeilingStep:
    """`derivation`: the ceiling's, where it is a figure of the claim's facts."""
    step: FundCeilingStep = {
        "step": "fund_ceiling",
        "rule": rule,
        "source": source.copy(),
        "figures": {
            "ceiling": money(ceiling),
            "pools": list(pools),
            "pooled": money(pooled),
            "left": money(left),
            "amount": money(amount),
        },
        "value": money(value),
        "provisional": list(provisional),
    }
    if derivation is not None:
        step["figures"]["derivation"] = derivation
    return step


def period_cap_step(
    period: CapPeriod,
    rule: str,
    source: Citation,
    cap: Decimal,
    pools: tuple[str, ...],
    paid: Decimal,
    left: Decimal,
    value: Decimal,
    provisional: tuple[str, ...],
    derivation: Derivation | None = None,
) -> PeriodCapStep:
    """`derivation`: the cap's, where it is a figure of the claim's facts."""
    step: PeriodCapStep = {
        "step": "period_cap",
        "period": period,
        "rule": rule,
        "source": source.copy(),
        "figures": {
            "cap": money(cap),
            "pools": list(pools),
            "paid": money(paid),
            "left": money(left),
        },
        "value": money(value),
        "provisional": list(provisional),
    }
    if derivation is not None:
        step["figures"]["derivation"] = derivation
    return step


def band_payments(schedule: Schedule, before: Decimal, this: Decimal) -> list[BandPayment]:
    """The part of `this` self-burden (after `before`) inside each band of the schedule, and
    the band's payment on it; bands it does not reach are left out."""
    ceiling = schedule["ceiling"]
    top = Decimal(ceiling) if ceiling is not None else None
    start, end = before, before + this
    if top is not None:
        start, end = min(start, top), min(end, top)
    out: list[BandPayment] = []
    for band in schedule["bands"]:
        low = Decimal(band["from"])
        high = Decimal(band["to"]) if band["to"] is not None else end
        part = min(end, high) - max(start, low)
        if part > 0:
            out.append(
                {
                    "from": band["from"],
                    "to": band["to"],
                    "rate": band["rate"],
                    "self_burden": money(part),
                    "paid": money(part * Decimal(band["rate"])),
                }
            )
    return out


def category_parts(
    covered_by: dict[str | None, Decimal], covered: Decimal, held: Decimal
) -> list[tuple[str | None, Decimal, Decimal]]:
    """Each category's (category, covered, share of `held`): what does not enter the fund
    (the deductible, and what a fund ceiling keeps out) allocated pro rata to covered, half-up
    to the fen, the remainder to the category with the largest covered (the first on ties);
    lines without a category first, then the categories by name."""
    order = sorted(covered_by, key=lambda c: (c is not None, c or ""))
    shares = [fen(held * covered_by[c] / covered) for c in order]
    largest = max(range(len(order)), key=lambda i: (covered_by[order[i]], -i))
    shares[largest] += held - sum(shares, ZERO)
    return [(c, covered_by[c], share) for c, share in zip(order, shares, strict=True)]


def category_ratios_step(
    parts: list[tuple[str | None, Decimal, Decimal, Decimal, RatioStep, Decimal]],
    value: Decimal,
    notes: tuple[str, ...],
) -> CategoryRatiosStep:
    """parts: (category, covered, share, base, the category's ratio step, base × rate);
    `notes` the policy's provisional notes in order, to list those the ratios used."""
    used = {note for part in parts for note in part[4]["provisional"]}
    order = {note: index for index, note in enumerate(notes)}
    shown: list[CategoryPart] = [
        {
            "category": category,
            "covered": money(covered),
            "deductible": money(share),
            "base": money(base),
            "rate": step["value"],
            "rule": step["rule"],
            "source": step["source"].copy(),
            "amount": money(amount),
        }
        for category, covered, share, base, step, amount in parts
    ]
    return {
        "step": "category_ratios",
        "categories": shown,
        "value": money(value),
        "provisional": sorted(used, key=lambda note: order.get(note, len(order))),
    }
