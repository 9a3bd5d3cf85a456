"""The end of settlement the generated code calls (through runtime.py, which re-exports
`finish` and `LineRow`): numbering aside, it allocates each payer's payment to lines, sums
the totals, formats money and takes the decision (spec §2–3) — the result as a ResultDict.
Written independently of the interpreter's allocation (interpret/lines.py), so that the
differential test compares two implementations, not one."""

from __future__ import annotations

from decimal import Decimal
from operator import itemgetter
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
_covered_of = itemgetter(8)  # a LineRow's covered, read in C


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
    covered_sum: Decimal,
    deductible: Decimal,
    fund: Decimal,
    critical: Decimal,
    notes: list[str],
    trace: list[Step] | None,
) -> ResultDict:
    """The result: lines with each payer's share, totals, the decision (spec §2–3).
    `covered_sum` is the lines' covered added up in line order, as the generated code
    settled them (it has the total already; the lines' list is built only to allocate).

    The hot end of settlement (a fifth to a quarter of it): the generated code puts ZERO
    itself in a line's buckets that are empty, so those are neither added nor formatted; a
    payer paying nothing (the second layer, mostly) is neither allocated nor formatted."""
    count = len(lines)
    if not fund or not covered_sum:  # (mostly: under the deductible, or nothing covered)
        fund_shares = [ZERO] * count
    elif count == 1 and fund <= covered_sum:
        fund_shares = [fund]  # one line takes the whole payment: what _shares would find
    else:
        fund_shares = _shares(fund, list(map(_covered_of, lines)), covered_sum, None)
    critical_shares = None  # the second layer pays nothing: mostly
    if critical and covered_sum:
        covered = list(map(_covered_of, lines))
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
        billed_text = _text(billed)
        fund_share = fund_shares[index]
        if critical_shares is None:
            critical_text = _ZERO_TEXT
            if denied is not ZERO:
                patient_text = _text(billed - denied - fund_share)
            elif fund_share is ZERO:  # billed − 0.00 is written as billed is (both at 2 places)
                patient_text = billed_text
            else:
                patient_text = _text(billed - fund_share)
        else:
            critical_share = critical_shares[index]
            critical_text = _text(critical_share)
            patient_text = _text(billed - denied - fund_share - critical_share)
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
                "payers": {
                    "fund": _ZERO_TEXT if fund_share is ZERO else _text(fund_share),
                    "critical_illness": critical_text,
                },
                "patient": patient_text,
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
            "denied": _ZERO_TEXT if denied_sum is ZERO else _text(denied_sum),
            "excluded": _ZERO_TEXT if excluded_sum is ZERO else _text(excluded_sum),
            "over_limit": _ZERO_TEXT if over_sum is ZERO else _text(over_sum),
            "pre_self_pay": _ZERO_TEXT if pre_sum is ZERO else _text(pre_sum),
            "covered": _text(covered_sum),
            "deductible": _ZERO_TEXT if deductible is ZERO else _text(deductible),
            "payers": {
                "fund": _text(fund),
                "critical_illness": _ZERO_TEXT if critical is ZERO else _text(critical),
            },
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
