"""Helpers the generated code calls: the policy-independent tail of settlement — and the
one module generated code imports (it re-exports the catalogue record, the errors, the
finding messages and the matching and money helpers the code uses; tests/test_registries.py
checks the generated imports).

`finish` (runtime_result.py, re-exported) formats money, allocates each payer's payment to
lines and takes the decision (spec §2–3). It is written independently of the interpreter so
that the differential test compares two implementations, not one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine.catalogue import CatalogueItem
from policyengine.contract.records import by_line
from policyengine.errors import NotInForce, RuleFailure
from policyengine.runtime_figures import (
    Cumulative,
    derivation,
    div,
    floor,
    level_index,
    ratio_of,
    ratio_step,
)
from policyengine.runtime_result import LineRow, finish

# the builders of contract version 2's steps (re-exported: generated code imports runtime only)
from policyengine.runtime_steps import (
    band_payments,
    category_parts,
    category_ratios_step,
    extra_pre_self_pay_step,
    fund_ceiling_step,
    period_cap_step,
)
from policyengine.semantics import findings
from policyengine.semantics.matching import (
    age_on,
    condition_matches,
    has_prefix,
    ratio_text,
    title_at_least,
)
from policyengine.semantics.money import ZERO, fen, money, to_unit
from policyengine.semantics.values import Band, BandsVal, banded_total
from policyengine.semantics.vocabulary import TITLE_RANK

if TYPE_CHECKING:
    from policyengine.contract.trace import (
        AuditTableStep,
        CapStep,
        Citation,
        Composition,
        CriticalIllnessStep,
        DeductiblePeriod,
        DeductibleStep,
        Derivation,
        FundStep,
        LimitStep,
        LineStep,
        PolicyStep,
        Schedule,
    )
    from policyengine.semantics.vocabulary import Admission

# Money in the compiled evaluator always carries exactly two decimal places (claims' money
# is normalised on entry, policy money at compile time, sums and differences keep the
# smallest exponent), so a result is formatted with str() alone.

__all__ = [
    "RANK",
    "ZERO",
    "Band",
    "BandsVal",
    "CatalogueItem",
    "Cumulative",
    "LineRow",
    "NotInForce",
    "RuleFailure",
    "age_on",
    "banded_total",
    "by_generic",
    "by_line",
    "category_parts",
    "category_ratios_step",
    "condition_matches",
    "day_text",
    "derivation",
    "div",
    "extra_pre_self_pay_step",
    "fen",
    "findings",
    "finish",
    "floor",
    "fund_ceiling_step",
    "has_prefix",
    "level_index",
    "money",
    "period_cap_step",
    "ratio_of",
    "ratio_step",
    "ratio_text",
    "title_at_least",
    "to_unit",
]


_text = str


RANK = dict(TITLE_RANK)  # the titles' ranks (vocabulary), a plain dict for the hot path


# Each day's ISO text, made once: `date.isoformat` costs several times a dict lookup, and a
# claim file's visits fall on a few hundred days (the cache stops growing at 4,096).
_DAY_TEXTS: dict[dt.date, str] = {}


def day_text(day: dt.date) -> str:
    """`day.isoformat()`: the settlement date as the result's policy writes it."""
    text = _DAY_TEXTS.get(day)
    if text is None:
        text = day.isoformat()
        if len(_DAY_TEXTS) < 4096:
            _DAY_TEXTS[day] = text
    return text


def copy(value: Any) -> Any:
    """A fresh copy of a constant trace fragment, so results never share mutable state."""
    if isinstance(value, dict):
        return {k: copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [copy(v) for v in value]
    return value


# ------------------------------------------------------------------ trace steps
# The traced variant of the generated code records each step through these builders, so
# that every step's shape is declared (contract/trace.py) and checked here by mypy; the
# generated code passes the figures positionally. Key order is the order the output has
# always had (JSON text stays byte-identical).

HeldBasis = tuple[str, str, "Citation | None"]
"""(proportion, its rule, its source) a `pre_self_pay ceiling` row held, for a line's step."""

SelfpayBasis = tuple[str | None, str | None, "Citation | None", str | None, HeldBasis | None]
"""(selfpay proportion, its rule, its source, price cap, what a ceiling held) of a line."""


def policy_step(version: str, as_of: str, rule: str, source: Citation) -> PolicyStep:
    return {
        "step": "policy",
        "version": version,
        "as_of": as_of,
        "rule": rule,
        "source": source.copy(),
    }


def audit_table_step(
    rule: str, source: Citation, table: str, value: str, provisional: tuple[str, ...]
) -> AuditTableStep:
    return {
        "step": "audit_table",
        "rule": rule,
        "source": source.copy(),
        "table": table,
        "value": value,
        "provisional": list(provisional),
    }


def line_step(item: Any, row: LineRow, basis: SelfpayBasis, entry: Any) -> LineStep:
    # a LineRow is read by unpacking it into its names (mypy checks the shape)
    line, billed, cls, _denied_line, denied, excluded, over, pre, covered, findings = row
    selfpay, selfpay_rule, selfpay_source, price_cap, held = basis
    step: LineStep = {
        "step": "line",
        "code": item.code,
        "line": line,
        "billed": _text(billed),
        "class": cls,
        "denied": _text(denied),
        "excluded": _text(excluded),
        "over_limit": _text(over),
        "pre_self_pay": _text(pre),
        "covered": _text(covered),
        "findings": [f["id"] for f in findings],
        "price_cap": price_cap,
        "selfpay": selfpay,
        "selfpay_rule": selfpay_rule,
        "selfpay_source": selfpay_source,
    }
    if held is not None:  # a ceiling cut the proportion: the one it cut, beside its bound
        step["selfpay_held"] = {
            "origin": "catalogue" if entry.selfpay_prop is not None else "default",
            "selfpay": held[0],
            "rule": held[1],
            "source": held[2],
        }
    return step


def deductible_step(
    pool: str,
    period: DeductiblePeriod,
    rule: str,
    source: Citation,
    amount: Decimal,
    met: Decimal,
    admission: Admission | None,
    value: Decimal,
    provisional: tuple[str, ...],
    composition: Composition,
    derivation: Derivation | None = None,
) -> DeductibleStep:
    step: DeductibleStep = {
        "step": "deductible",
        "pool": pool,
        "period": period,
        "rule": rule,
        "source": source.copy(),
        "figures": {"amount": money(amount), "met": money(met), "admission": admission},
        "value": money(value),
        "composition": copy(composition),
        "provisional": list(provisional),
    }
    if derivation is not None:
        step["figures"]["derivation"] = derivation
    return step


def fund_step(
    covered: Decimal,
    deductible: Decimal,
    value: Decimal,
    entering: Decimal | None = None,
    pooled: Decimal | None = None,
) -> FundStep:
    """`entering`: what a fund ceiling left of covered − deductible; `pooled`: the year's
    amount entering the fund before this claim, where the ratio is banded on it
    (`bands cumulative`)."""
    step: FundStep = {
        "step": "fund",
        "figures": {"covered": money(covered), "deductible": money(deductible)},
        "value": money(value),
    }
    if entering is not None:  # a fund ceiling left this much of covered − deductible
        step["figures"]["entering"] = money(entering)
    if pooled is not None:
        step["figures"]["pooled"] = money(pooled)
    return step


def cap_step(
    rule: str,
    source: Citation,
    cap: Decimal,
    pools: tuple[str, ...],
    paid: Decimal,
    left: Decimal,
    value: Decimal,
    provisional: tuple[str, ...],
    composition: Composition,
    derivation: Derivation | None = None,
) -> CapStep:
    step: CapStep = {
        "step": "cap",
        "rule": rule,
        "source": source.copy(),
        "figures": {
            "cap": money(cap),
            "pools": list(pools),
            "paid": money(paid),
            "left": money(left),
        },
        "value": money(value),
        "composition": copy(composition),
        "provisional": list(provisional),
    }
    if derivation is not None:
        step["figures"]["derivation"] = derivation
    return step


LimitEntry = tuple[str, Decimal, tuple[int, ...], str, "Citation"]
"""A per-condition limit row at one version: (condition, amount, note ids, location, source)."""


def limit_step(
    rule: str,
    used: list[LimitEntry],
    first: Citation,
    limit: Decimal,
    pool: str,
    paid: Decimal,
    left: Decimal,
    value: Decimal,
    notes: tuple[str, ...],
) -> LimitStep:
    """The limits of the conditions certified (`used`); `first` cites the table's first row
    when none is; `notes` are the policy's provisional notes, by id."""
    return {
        "step": "limit",
        "rule": rule,
        "source": (used[0][4] if used else first).copy(),
        "figures": {
            "conditions": {u[0]: money(u[1]) for u in used},
            "limit": money(limit),
            "rows": [u[3] for u in used],
            "pool": pool,
            "paid": money(paid),
            "left": money(left),
        },
        "value": money(value),
        "provisional": [notes[i] for i in sorted({i for u in used for i in u[2]})],
    }


CancelledRow = tuple[str, str, "Citation", tuple[int, ...]]
"""A cancelling limit row: (condition, location, source, note ids)."""


def cancelled_limit_step(
    rows: list[CancelledRow], notes: tuple[str, ...], value: Decimal
) -> LimitStep:
    """Limits cancelled (`none`): the cancelling rows that apply to the person; `notes` are
    the policy's provisional notes, by id. Keys in the order this step was always written
    (it began as a sorted compile-time constant)."""
    return {
        "figures": {"limit": None, "rows": [row[1] for row in rows]},
        "provisional": [notes[i] for i in sorted({i for row in rows for i in row[3]})],
        "rule": rows[0][1],
        "source": rows[0][2].copy(),
        "step": "limit",
        "value": money(value),
    }


def critical_illness_step(
    rule: str,
    source: Citation,
    self_burden_before: Decimal,
    self_burden: Decimal,
    bands: str,
    schedule: Schedule,
    paid: Decimal,
    computed: Decimal,
    payment_cap_left: Decimal | None,
    value: Decimal,
    provisional: tuple[str, ...],
    composition: Composition,
    pre_self_pay: Decimal | None = None,
) -> CriticalIllnessStep:
    step: CriticalIllnessStep = {
        "step": "critical_illness",
        "rule": rule,
        "source": source.copy(),
        "figures": {
            "self_burden_before": money(self_burden_before),
            "self_burden": money(self_burden),
            "by_band": band_payments(schedule, self_burden_before, self_burden),
            "bands": bands,
            "schedule": copy(schedule),
            "paid": money(paid),
            "computed": money(computed),
            "payment_cap_left": money(payment_cap_left) if payment_cap_left is not None else None,
        },
        "value": money(value),
        "composition": copy(composition),
        "provisional": list(provisional),
    }
    if pre_self_pay is not None:
        step["figures"]["pre_self_pay"] = money(pre_self_pay)
    return step


def by_generic(records: tuple[Any, ...], length: int) -> dict[str, list[Any]]:
    """Dispensing records by the first `length` characters of their code (the generic),
    each list in history order, so the duplicate check reads only an item's own generic."""
    index: dict[str, list[Any]] = {}
    for record in records:
        index.setdefault(record.code[:length], []).append(record)
    return index
