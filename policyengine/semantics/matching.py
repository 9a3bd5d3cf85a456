"""The spec's matching primitives (../spec/claims.md §2 "Matching"), shared by both evaluators.

Small and separately tested: age in whole years, case-insensitive ICD-10 prefixes,
condition lists (ranges on the 3-character category; `with` codes), prescriber titles.
Money and its rounding are semantics/money.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.semantics.money import money
from policyengine.semantics.values import BandsVal
from policyengine.semantics.vocabulary import TITLE_RANK

if TYPE_CHECKING:  # only a type here: the run time does not import the IR
    from policyengine.contract.trace import Schedule
    from policyengine.ir import Condition


def ratio_text(ratio: Decimal) -> str:
    text = format(ratio.normalize(), "f")
    return text


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years completed on `day`."""
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


def year_start(day: dt.date, start: tuple[int, int]) -> dt.date:
    """The first day of the benefit year holding `day`, for a year that begins on `start`
    (month, day) — 1 January by default; 1 October: 2024-03-05 is in the year from 2023-10-01."""
    month, first = start
    begins = dt.date(day.year, month, first)
    return begins if begins <= day else dt.date(day.year - 1, month, first)


def has_prefix(diagnoses: Iterable[str], prefixes: Iterable[str]) -> bool:
    upper = [d.upper() for d in diagnoses]
    return any(code.startswith(prefix) for code in upper for prefix in prefixes)


def condition_matches(condition: Condition, diagnoses: Iterable[str]) -> bool:
    codes = [d.upper() for d in diagnoses]
    hit = any(
        any(code.startswith(p) for p in condition.prefixes)
        or any(low <= code[:3] <= high for low, high in condition.ranges)
        for code in codes
    )
    if not hit:
        return False
    if condition.with_prefixes:
        return any(code.startswith(p) for code in codes for p in condition.with_prefixes)
    return True


def title_at_least(title: str | None, minimum: str) -> bool:
    return title is not None and TITLE_RANK[title] >= TITLE_RANK[minimum]


def schedule(bands: BandsVal) -> Schedule:
    """A second-layer schedule as trace data (money and rates as text), for tools that
    recompute settlement from a trace (policyengine diff)."""
    return {
        "threshold": money(bands.threshold) if bands.threshold is not None else None,
        "bands": [
            {
                "from": money(b.low),
                "to": money(b.high) if b.high is not None else None,
                "rate": ratio_text(b.rate),
            }
            for b in bands.bands
        ],
        "ceiling": money(bands.ceiling) if bands.ceiling is not None else None,
        "payment_cap": money(bands.payment_cap) if bands.payment_cap is not None else None,
    }
