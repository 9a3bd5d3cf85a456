"""The audit rule bases' limits and restrictions, reference form (docs/claims.md, "Audit
limits"; issue 16 item 13): 限数量, 限金额, 限频次, 限疗程, 限专科, 限险种.

A limit over several lines sums, in ascending `line`, the lines before this one and this
one: every line at which the running total passes the limit has a finding.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine.interpret.items import in_catalogue, kind_of
from policyengine.semantics import findings as fm
from policyengine.semantics.values import Val
from policyengine.semantics.vocabulary import GENERIC_PREFIX_LENGTH, ITEM_KINDS

if TYPE_CHECKING:
    from policyengine.interpret.evaluator import Run
    from policyengine.ir import RowIR, RuleIR


def table_limit(run: Run, rule: RuleIR, table: str) -> tuple[Decimal, RowIR] | None:
    """The figure of the rule table's row that applies to this claim, at the hospital's level
    (None where no row applies or the row says `none`: then nothing is limited)."""
    row = run.lookup(rule.tables[table])
    if row is None:
        return None
    value = run.policy.value(row.expr, run.day)
    assert isinstance(value, Val)
    if not value.amounts:
        return None
    return value.at_level(run.facts["level"]), row


def _quantity_limit(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if not in_catalogue(run, entry) or entry.max_quantity is None:
        return []
    per = rule.names("per")[0]
    total = sum((o.quantity for o in earlier if o.code == item.code), 0) + item.quantity
    if per == "day":
        history, day = run.claim.history, run.claim.visit.date
        same_day = [
            *(r.quantity for r in history.services if r.code == item.code and r.date == day),
            *(r.quantity for r in history.dispensed if r.code == item.code and r.date == day),
        ]
        total += sum(same_day, 0)
    if total <= entry.max_quantity:
        return []
    return [fm.quantity_over(item.code, total, entry.max_quantity, per)]


def _amount_limit(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    kinds = rule.names("kinds", ITEM_KINDS)
    found = table_limit(run, rule, "max_amount")
    if found is None or kind_of(item, entry) not in kinds:
        return []
    limit, row = found
    per = rule.names("per")[0]
    total = item.amount
    if per == "visit":
        catalogue = run.policy.catalogue
        before = (o.amount for o in earlier if kind_of(o, catalogue.get(o.code)) in kinds)
        total = sum(before, 0) + item.amount
    if total <= limit:
        return []
    run.use(row)
    return [fm.amount_over(total, limit, per)]


def _frequency_limit(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    found = table_limit(run, rule, "max_times")
    if found is None or kind_of(item, entry) != "service":
        return []
    limit, row = found
    days = int(rule.params["within"].values[0])
    day = run.claim.visit.date
    # the window is the visit's day and the days - 1 before it (a difference of dates: no
    # date arithmetic that could pass year 1 or 9999)
    count = 1 + sum(
        1
        for s in run.claim.history.services
        if s.code == item.code and s.date <= day and (day - s.date).days < days
    )
    catalogue = run.policy.catalogue
    count += sum(
        1 for o in earlier if o.code == item.code and kind_of(o, catalogue.get(o.code)) == "service"
    )
    if count <= limit:
        return []
    run.use(row)
    return [fm.too_frequent(count, int(limit), days)]


def _course_length(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if run.claim.visit.type != "inpatient" or item.days_supply is None:
        return []
    found = table_limit(run, rule, "max_days")
    if found is None or kind_of(item, entry) != "drug":
        return []
    limit, row = found
    prefix = item.code[:GENERIC_PREFIX_LENGTH]
    catalogue = run.policy.catalogue
    total = item.days_supply + sum(
        o.days_supply or 0
        for o in earlier
        if o.code[:GENERIC_PREFIX_LENGTH] == prefix and kind_of(o, catalogue.get(o.code)) == "drug"
    )
    if total <= limit:
        return []
    run.use(row)
    return [fm.course_too_long(total, int(limit))]


def _department_restricted(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if not in_catalogue(run, entry) or not entry.departments:
        return []
    department = run.claim.visit.department
    if department in entry.departments:
        return []
    return [fm.department_only(entry.departments, department)]


def _scheme_restricted(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if not in_catalogue(run, entry) or not entry.schemes:
        return []
    scheme = run.claim.person.scheme
    return [] if scheme in entry.schemes else [fm.scheme_only(entry.schemes, scheme)]


LIMIT_CHECKS = {
    "quantity_limit": _quantity_limit,
    "amount_limit": _amount_limit,
    "frequency_limit": _frequency_limit,
    "course_length": _course_length,
    "department_restricted": _department_restricted,
    "scheme_restricted": _scheme_restricted,
}
