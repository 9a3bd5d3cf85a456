"""The reference interpreter's lines: a line's decomposition before the payers (with the
乙类 pre-self-pay proportion it rests on), its trace step, the allocation of each payer's
payment to the lines, and the decision (spec §2–3).

Written independently of runtime.finish (the compiled evaluator's), so that the
differential test compares two implementations.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from policyengine.semantics.matching import ratio_text
from policyengine.semantics.money import fen, money
from policyengine.semantics.values import Val

if TYPE_CHECKING:
    from policyengine.catalogue import CatalogueItem
    from policyengine.contract.fastclaim import Item
    from policyengine.contract.results import FindingDict, LineDict
    from policyengine.contract.trace import Citation, HeldSelfpay, LineStep
    from policyengine.interpret.evaluator import Run
    from policyengine.semantics.vocabulary import Decision, ItemClass

ZERO = Decimal(0)
BUCKETS = ("denied", "excluded", "over_limit", "pre_self_pay", "covered")


class SplitLine(NamedTuple):
    """A line's disposition and decomposition, before the payers are allocated to it."""

    line: int
    billed: Decimal
    item_class: ItemClass | None
    buckets: dict[str, Decimal]  # BUCKETS
    findings: list[str]


class SelfpayBasis(NamedTuple):
    """What a line's split rests on, as its trace step states it."""

    price_cap: str | None = None
    selfpay: str | None = None
    selfpay_rule: str | None = None
    selfpay_source: Citation | None = None
    held: HeldSelfpay | None = None  # the proportion a `pre_self_pay ceiling` row cut


def split_line(
    run: Run, item: Item, entry: CatalogueItem | None, denied: bool, excluded: bool
) -> tuple[dict[str, Decimal], SelfpayBasis]:
    """The national decomposition of one line (spec §2, buckets 1–5)."""
    amount = item.amount
    split = dict.fromkeys(BUCKETS, ZERO)
    if denied or excluded:
        split["denied" if denied else "excluded"] = amount
        return split, SelfpayBasis()
    over = ZERO
    price_cap = None
    if entry is not None and entry.price_cap is not None:
        over = max(ZERO, fen(amount - entry.price_cap * item.quantity))
        price_cap = money(entry.price_cap)
    pre = ZERO
    basis = SelfpayBasis(price_cap)
    if entry is not None and entry.cls == "B":
        proportion, rule, source, held = selfpay(run, entry)
        pre = fen((amount - over) * proportion)
        basis = SelfpayBasis(price_cap, ratio_text(proportion), rule, source, held)
    covered = amount - over - pre
    for extra in run.extras:
        share = extra.share(item.line, covered)
        pre += share
        covered -= share
    split.update(over_limit=over, pre_self_pay=pre, covered=covered)
    return split, basis


def selfpay(
    run: Run, entry: CatalogueItem
) -> tuple[Decimal, str, Citation | None, HeldSelfpay | None]:
    """The 乙类 proportion, its rule and source: the catalogue's, else the policy's default
    row; held at most at the `pre_self_pay ceiling` row that applies to the claim, if
    any, and then with the proportion it held (the trace shows both)."""
    proportion: Decimal
    source: Citation | None
    if entry.selfpay_prop is not None:
        proportion, rule, source = entry.selfpay_prop, entry.location, None
    else:
        row = run.required(run.policy.pre_self_pay, "pre-self-pay default")
        proportion = run.level(run.value(row))
        rule, source = row.location, row.origin.as_json()
    table = run.policy.pre_self_pay_ceiling
    if table is None or (table.items and entry.kind not in table.items):
        return proportion, rule, source, None
    ceiling = run.lookup(table)
    if ceiling is not None:
        bound = run.value(ceiling)
        if isinstance(bound, Val) and bound.amounts and proportion > bound.amounts[0]:
            held: HeldSelfpay = {
                "origin": "catalogue" if entry.selfpay_prop is not None else "default",
                "selfpay": ratio_text(proportion),
                "rule": rule,
                "source": source,
            }
            return bound.amounts[0], ceiling.location, ceiling.origin.as_json(), held
    return proportion, rule, source, None


def line_step(code: str, line: SplitLine, basis: SelfpayBasis) -> LineStep:
    buckets = line.buckets
    step: LineStep = {
        "step": "line",
        "code": code,
        "line": line.line,
        "billed": money(line.billed),
        "class": line.item_class,
        "denied": money(buckets["denied"]),
        "excluded": money(buckets["excluded"]),
        "over_limit": money(buckets["over_limit"]),
        "pre_self_pay": money(buckets["pre_self_pay"]),
        "covered": money(buckets["covered"]),
        "findings": list(line.findings),
        "price_cap": basis.price_cap,
        "selfpay": basis.selfpay,
        "selfpay_rule": basis.selfpay_rule,
        "selfpay_source": basis.selfpay_source,
    }
    if basis.held is not None:  # the ceiling's bound is `selfpay`; what it cut, beside it
        step["selfpay_held"] = basis.held
    return step


def allocate(lines: list[SplitLine], payments: dict[str, Decimal]) -> list[LineDict]:
    """Each payer pro rata to line `covered` (half-up); the difference to the line with the
    largest covered (lowest line on ties). A line never gets more than it has left after
    the payers before (fund, then critical illness) nor less than zero: what does not fit
    moves on to the next largest line."""
    covered = [Decimal(money(line.buckets["covered"])) for line in lines]
    total = sum(covered, ZERO)
    by_size = sorted(range(len(lines)), key=lambda i: (-covered[i], lines[i].line))
    left = list(covered)
    shares: dict[str, list[Decimal]] = {}
    for payer, payment in payments.items():
        part = [
            min(fen(payment * c / total), left[i]) if total else ZERO for i, c in enumerate(covered)
        ]
        difference = payment - sum(part, ZERO)
        for index in by_size:
            if difference > 0:
                moved = min(left[index] - part[index], difference)
            elif difference < 0:
                moved = -min(part[index], -difference)
            else:
                break
            part[index] += moved
            difference -= moved
        left = [room - share for room, share in zip(left, part, strict=True)]
        shares[payer] = part
    out: list[LineDict] = []
    for index, line in enumerate(lines):
        paid = sum((part[index] for part in shares.values()), ZERO)
        billed, denied = Decimal(money(line.billed)), Decimal(money(line.buckets["denied"]))
        out.append(
            {
                "line": line.line,
                "billed": money(line.billed),
                "class": line.item_class,
                "denied": money(line.buckets["denied"]),
                "excluded": money(line.buckets["excluded"]),
                "over_limit": money(line.buckets["over_limit"]),
                "pre_self_pay": money(line.buckets["pre_self_pay"]),
                "covered": money(line.buckets["covered"]),
                "findings": line.findings,
                "payers": {
                    "fund": money(shares["fund"][index]),
                    "critical_illness": money(shares["critical_illness"][index]),
                },
                "patient": money(billed - denied - paid),
            }
        )
    return out


def decision(findings: list[FindingDict], line_count: int, denied_lines: set[int]) -> Decision:
    """Spec §3: reject, partial, review or pay, in that order."""
    claim_actions = {f["action"] for f in findings if f["line"] is None}
    if len(denied_lines) == line_count or claim_actions & {"reject", "exclude"}:
        return "reject"
    if denied_lines:
        return "partial"
    if any(f["action"] == "review" for f in findings):
        return "review"
    return "pay"
