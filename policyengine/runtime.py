"""Helpers the generated code calls: the policy-independent tail of settlement.

`finish` numbers findings, formats money, allocates each payer's payment to lines and
takes the decision (spec §2–3). It is written independently of interpret.py so that the
differential test compares two implementations, not one.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from policyengine.semantics.matching import age_on, condition_matches, has_prefix, title_at_least
from policyengine.semantics.values import Band, BandsVal, banded_total

# Money in the compiled evaluator always carries exactly two decimal places (claims' money
# is normalised on entry, policy money at compile time, sums and differences keep the
# smallest exponent), so a result is formatted with str() alone.
ZERO = Decimal("0.00")
FEN = Decimal("0.01")

__all__ = [
    "ZERO",
    "Band",
    "BandsVal",
    "age_on",
    "banded_total",
    "by_generic",
    "condition_matches",
    "fen",
    "finish",
    "has_prefix",
    "title_at_least",
]


def fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, ROUND_HALF_UP)


_text = str


def _shares(payment: Decimal, covered: list[Decimal], taken: list[Decimal]) -> list[Decimal]:
    """Pro rata to line `covered`, half-up to the fen, never more than a line's room (its
    covered less what earlier payers took); the rounding remainder goes to the largest line,
    and where it does not fit, on to the next largest (spec §2, kept within every line)."""
    total = sum(covered, ZERO)
    if not total or not payment:
        return [ZERO] * len(covered)
    room = [c - t for c, t in zip(covered, taken, strict=True)]
    shares = [min(fen(payment * c / total), r) for c, r in zip(covered, room, strict=True)]
    rest = payment - sum(shares, ZERO)
    if not rest:
        return shares
    # lines are in ascending order, so a stable sort puts the lowest line first among equals
    for index in sorted(range(len(covered)), key=lambda i: covered[i], reverse=True):
        if not rest:
            break
        add = min(room[index] - shares[index], rest) if rest > 0 else -min(shares[index], -rest)
        shares[index] += add
        rest -= add
    return shares


def finish(
    claim_id: str,
    policy: dict[str, str],
    findings: list[dict[str, Any]],
    lines: list[list[Any]],
    deductible: Decimal,
    fund: Decimal,
    critical: Decimal,
    notes: list[str],
    trace: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """lines: [line, billed, class, denied?, denied, excluded, over_limit, pre_self_pay, "
    "covered, finding refs]."""
    covered = [row[8] for row in lines]
    fund_shares = _shares(fund, covered, [ZERO] * len(covered))
    critical_shares = _shares(critical, covered, fund_shares)
    out_lines = []
    billed_sum = denied_sum = excluded_sum = over_sum = pre_sum = covered_sum = ZERO
    denied_count = 0
    for row, fund_share, critical_share in zip(lines, fund_shares, critical_shares, strict=True):
        line, billed, cls, denied_flag, denied, excluded, over, pre, cover, refs = row
        denied_count += denied_flag
        billed_sum += billed
        denied_sum += denied
        excluded_sum += excluded
        over_sum += over
        pre_sum += pre
        covered_sum += cover
        out_lines.append(
            {
                "line": line,
                "billed": _text(billed),
                "class": cls,
                "denied": _text(denied),
                "excluded": _text(excluded),
                "over_limit": _text(over),
                "pre_self_pay": _text(pre),
                "covered": _text(cover),
                "findings": [f["id"] for f in refs] if refs else [],
                "payers": {"fund": _text(fund_share), "critical_illness": _text(critical_share)},
                "patient": _text(billed - denied - fund_share - critical_share),
            }
        )
    sums = (billed_sum, denied_sum, excluded_sum, over_sum, pre_sum, covered_sum)
    patient = billed_sum - denied_sum - fund - critical
    if trace is not None:
        trace.append({"step": "patient", "value": _text(patient)})
    result: dict[str, Any] = {
        "claim_id": claim_id,
        "policy": policy,
        "decision": _decision(findings, denied_count, len(lines)),
        "totals": {
            "billed": _text(sums[0]),
            "denied": _text(sums[1]),
            "excluded": _text(sums[2]),
            "over_limit": _text(sums[3]),
            "pre_self_pay": _text(sums[4]),
            "covered": _text(sums[5]),
            "deductible": _text(deductible),
            "payers": {"fund": _text(fund), "critical_illness": _text(critical)},
            "patient": _text(patient),
        },
        "lines": out_lines,
        "findings": findings,
        "provisional": notes,
    }
    if trace is not None:
        result["trace"] = trace
    return result


def _decision(findings: list[dict[str, Any]], denied: int, count: int) -> str:
    review = False
    for finding in findings:
        action = finding["action"]
        if finding["line"] is None and action in {"reject", "exclude"}:
            return "reject"
        review = review or action == "review"
    if denied == count:
        return "reject"
    if denied:
        return "partial"
    return "review" if review else "pay"


RANK = {"resident": 0, "attending": 1, "associate_chief": 2, "chief": 3}


def by_line(item: Any) -> int:
    return int(item.line)


def ascending(items: Any) -> bool:
    return all(items[i].line < items[i + 1].line for i in range(len(items) - 1))


def copy(value: Any) -> Any:
    """A fresh copy of a constant trace fragment, so results never share mutable state."""
    if isinstance(value, dict):
        return {k: copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [copy(v) for v in value]
    return value


def line_step(item: Any, row: list[Any], basis: tuple[Any, ...], entry: Any) -> dict[str, Any]:
    return {
        "step": "line",
        "code": item.code,
        "line": row[0],
        "billed": _text(row[1]),
        "class": row[2],
        "denied": _text(row[4]),
        "excluded": _text(row[5]),
        "over_limit": _text(row[6]),
        "pre_self_pay": _text(row[7]),
        "covered": _text(row[8]),
        "findings": [f["id"] for f in row[9]],
        "price_cap": basis[3],
        "selfpay": basis[0],
        "selfpay_rule": basis[1],
        "selfpay_source": basis[2],
    }


def by_generic(records: tuple[Any, ...], length: int) -> dict[str, list[Any]]:
    """Dispensing records by the first `length` characters of their code (the generic),
    each list in history order, so the duplicate check reads only an item's own generic."""
    index: dict[str, list[Any]] = {}
    for record in records:
        index.setdefault(record.code[:length], []).append(record)
    return index
