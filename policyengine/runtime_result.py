"""The end of settlement the generated code calls (through runtime.py, which re-exports
`finish` and `LineRow`): numbering aside, it allocates each payer's payment to lines, sums
the totals, formats money and takes the decision (spec §2–3) — the result as a ResultDict.
Written independently of the interpreter's allocation (interpret/lines.py), so that the
differential test compares two implementations, not one."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, TypeAlias

from policyengine.semantics.money import ZERO, pro_rata

if TYPE_CHECKING:
    from policyengine.contract.results import FindingDict, LineDict, PolicyDict, ResultDict
    from policyengine.contract.trace import Step
    from policyengine.semantics.vocabulary import Decision, ItemClass

__all__ = ["LineRow", "finish"]


# One line as the generated code settles it (spec §2, buckets 1–5), for `finish`: a tuple of
# fixed shape, read only by unpacking it into the names below, which mypy checks against
# this declaration. Not a NamedTuple: building one per line and reading it back cost 4–10%
# of settling a 10- or 100-line claim (measured: tuple subclasses miss CPython's specialised
# paths); a plain tuple costs nothing over the list it replaced.
LineRow: TypeAlias = tuple[
    int,  # line
    Decimal,  # billed
    "ItemClass | None",  # item_class: None outside the catalogue
    bool,  # denied_line: rejected — counts towards the decision (its billed may be 0.00)
    Decimal,  # denied
    Decimal,  # excluded
    Decimal,  # over_limit
    Decimal,  # pre_self_pay
    Decimal,  # covered
    "list[FindingDict]",  # findings: the line's own
]


_text = str
_ZERO_TEXT = str(ZERO)


def _shares(
    payment: Decimal, covered: list[Decimal], total: Decimal, room: list[Decimal] | None
) -> list[Decimal]:
    """`payment` (not zero) pro rata to line `covered` (which sums to `total`, not zero),
    half-up to the fen, never more than a line's room: its covered less what earlier payers
    took (`room`; None for the first payer, whose room is its covered); the rounding
    remainder goes to the largest line, and where it does not fit, on to the next largest
    (spec §2, kept within every line)."""
    room = covered if room is None else room
    shares = [
        left if left < share else share  # min(share, left), in one comparison
        for share, left in zip(pro_rata(payment, covered, total), room, strict=True)
    ]
    rest = payment - sum(shares, ZERO)
    if not rest:
        return shares
    # mostly the remainder fits the largest line (the first of the largest): the loop below
    # would take it there in its first step
    largest = covered.index(max(covered))
    fits = room[largest] - shares[largest] >= rest if rest > 0 else shares[largest] >= -rest
    if fits:
        shares[largest] += rest
        return shares
    # lines are in ascending order, so a stable sort puts the lowest line first among equals
    for index in sorted(range(len(covered)), key=covered.__getitem__, reverse=True):
        if not rest:
            break
        add = min(room[index] - shares[index], rest) if rest > 0 else -min(shares[index], -rest)
        shares[index] += add
        rest -= add
    return shares


def finish(
    claim_id: str,
    policy: PolicyDict,
    findings: list[FindingDict],
    lines: list[LineRow],
    deductible: Decimal,
    fund: Decimal,
    critical: Decimal,
    notes: list[str],
    trace: list[Step] | None,
) -> ResultDict:
    """The result: lines with each payer's share, totals, the decision (spec §2–3).

    The hot end of settlement (a fifth to a quarter of it): the generated code puts ZERO
    itself in a line's buckets that are empty, so those are neither added nor formatted; a
    payer paying nothing (the second layer, mostly) is neither allocated nor formatted."""
    covered = [row[8] for row in lines]
    covered_sum = sum(covered, ZERO)
    count = len(lines)
    fund_shares = (
        _shares(fund, covered, covered_sum, None) if fund and covered_sum else [ZERO] * count
    )
    critical_shares = None  # the second layer pays nothing: mostly
    if critical and covered_sum:
        room = [c - f for c, f in zip(covered, fund_shares, strict=True)]
        critical_shares = _shares(critical, covered, covered_sum, room)
    # the totals are added up in the one loop over the lines that writes them
    billed_sum = denied_sum = excluded_sum = over_sum = pre_sum = ZERO
    denied_count = 0
    out_lines: list[LineDict] = []
    for index, row in enumerate(lines):
        line, billed, cls, denied_line, denied, excluded, over, pre, cover, refs = row
        billed_sum += billed
        denied_count += denied_line
        if denied is not ZERO:
            denied_sum += denied
        if excluded is not ZERO:
            excluded_sum += excluded
        if over is not ZERO:
            over_sum += over
        if pre is not ZERO:
            pre_sum += pre
        fund_share = fund_shares[index]
        if critical_shares is None:
            critical_text = _ZERO_TEXT
            patient = billed - fund_share if denied is ZERO else billed - denied - fund_share
        else:
            critical_share = critical_shares[index]
            critical_text = _text(critical_share)
            patient = billed - denied - fund_share - critical_share
        billed_text = _text(billed)
        out_lines.append(
            {
                "line": line,
                "billed": billed_text,
                "class": cls,
                "denied": _ZERO_TEXT if denied is ZERO else _text(denied),
                "excluded": _ZERO_TEXT if excluded is ZERO else _text(excluded),
                "over_limit": _ZERO_TEXT if over is ZERO else _text(over),
                "pre_self_pay": _ZERO_TEXT if pre is ZERO else _text(pre),
                "covered": billed_text
                if cover is billed
                else (_ZERO_TEXT if cover is ZERO else _text(cover)),
                "findings": [f["id"] for f in refs] if refs else [],
                "payers": {"fund": _text(fund_share), "critical_illness": critical_text},
                "patient": _text(patient),
            }
        )
    patient = billed_sum - denied_sum - fund - critical
    result: ResultDict = {
        "claim_id": claim_id,
        "policy": policy,
        "decision": "pay"
        if count and not denied_count and not findings
        else _decision(findings, denied_count, count),
        "totals": {
            "billed": _text(billed_sum),
            "denied": _text(denied_sum),
            "excluded": _text(excluded_sum),
            "over_limit": _text(over_sum),
            "pre_self_pay": _text(pre_sum),
            "covered": _text(covered_sum),
            "deductible": _text(deductible),
            "payers": {"fund": _text(fund), "critical_illness": _text(critical)},
            "patient": _text(patient),
        },
        "lines": out_lines,
        "findings": findings,
        "provisional": notes,
    }
    if trace is not None:
        trace.append({"step": "patient", "value": _text(patient)})
        result["trace"] = trace
    return result


def _decision(findings: list[FindingDict], denied: int, count: int) -> Decision:
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
