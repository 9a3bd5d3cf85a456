"""Finding rules, reference form (spec §2 "Rules on lines" and §4).

Every rule runs on every line independently; each yields at most one finding per line,
listing every condition that failed. Claim-level findings come first (in rule order),
then lines in ascending `line`, rules in declaration order within a line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policyengine.interpret.items import in_catalogue, kind_of
from policyengine.interpret.limits import LIMIT_CHECKS, table_limit
from policyengine.ir import RuleIR
from policyengine.semantics import findings as fm
from policyengine.semantics.domain import matches
from policyengine.semantics.matching import condition_matches, has_prefix, title_at_least
from policyengine.semantics.vocabulary import (
    CONTRAINDICATION_CHECKS,
    DEFAULT_DAILY_FREQUENCY,
    DESIGNATED_CHECKS,
    GENERIC_PREFIX_LENGTH,
)

if TYPE_CHECKING:
    from policyengine.contract.results import FindingDict as Finding
    from policyengine.interpret.evaluator import Run


def applicable(run: Run, rule: RuleIR) -> bool:
    if not rule.active(run.day):
        return False
    return not rule.when or any(matches(alt, run.facts) for alt in rule.when)


def action(run: Run, rule: RuleIR) -> str:
    """At the `before` moment an audit rule only warns (津政办发〔2018〕4号 三(二)4)."""
    return "warn" if rule.audit and run.moment == "before" else rule.action


def emit(run: Run, rule: RuleIR, line: int | None, reasons: list[fm.Reason]) -> Finding:
    run.notes.update(rule.notes)
    for param in rule.params.values():
        run.notes.update(param.notes)
    return fm.record(
        0,
        rule.kind,
        action(run, rule),
        line,
        rule.location,
        fm.message(rule.kind, rule.title, reasons),
        rule.origin.as_json(),
    )


# ------------------------------------------------------------------ visit level


def visit_findings(run: Run) -> list[Finding]:
    out = []
    for rule in run.policy.rules:
        if rule.level != "claim" or not applicable(run, rule):
            continue
        reasons = VISIT_CHECKS[rule.kind](run, rule)
        if reasons:
            out.append(emit(run, rule, None, reasons))
    return out


def _matching_certifications(run: Run, rule: RuleIR) -> list[Any]:
    conditions = rule.names("conditions")
    diagnoses = run.claim.visit.diagnoses
    return [
        cert
        for cert in run.claim.person.certifications
        if cert.programme == rule.programme
        and cert.since <= run.claim.visit.date
        and cert.condition in conditions
        and cert.condition in run.policy.conditions
        and condition_matches(run.policy.conditions[cert.condition], diagnoses)
    ]


def _restricted_visit(run: Run, rule: RuleIR) -> list[fm.Reason]:
    return [fm.visit_restricted(rule.title)]


def _certification(run: Run, rule: RuleIR) -> list[fm.Reason]:
    if _matching_certifications(run, rule):
        return []
    return [fm.not_certified(rule.programme or "", rule.names("conditions"))]


def _prescriber(run: Run, rule: RuleIR) -> list[fm.Reason]:
    minimum = rule.names("min_title")[0]
    certs = _matching_certifications(run, rule)
    if not certs or any(title_at_least(c.doctor_title, minimum) for c in certs):
        return []
    # `certified from_effective`: a certification made before the rule took effect stands
    start = rule.start if rule.names("certified") == ("from_effective",) else None
    if start is not None and any(c.since < start for c in certs):
        return []
    return [fm.certifier_title(minimum)]


VISIT_CHECKS = {
    "restricted_use": _restricted_visit,
    "certification_required": _certification,
    "prescriber_qualification": _prescriber,
}


# ------------------------------------------------------------------ line level


def line_findings(run: Run) -> list[Finding]:
    rules = [r for r in run.policy.rules if r.level == "line" and applicable(run, r)]
    items = sorted(run.claim.items, key=lambda i: i.line)
    out = []
    for index, item in enumerate(items):
        entry = run.policy.catalogue.get(item.code)
        for rule in rules:
            reasons = LINE_CHECKS[rule.kind](run, rule, item, entry, items[:index])
            if reasons:
                out.append(emit(run, rule, item.line, reasons))
    return out


def _not_covered(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    selectors = rule.names("items")
    reasons = []
    if "outside_catalogue" in selectors and not in_catalogue(run, entry):
        reasons.append(fm.outside_catalogue(run.policy.name, entry.local_region if entry else ""))
    if "class_c" in selectors and in_catalogue(run, entry) and entry.cls == "C":
        reasons.append(fm.class_c())
    if "local" in selectors and entry is not None and entry.local_region == run.policy.name:
        reasons.append(fm.local_item())
    for flag in rule.names("only_flagged"):
        if not (in_catalogue(run, entry) and entry.flag(flag)):
            reasons.append(fm.unflagged(flag))
    return reasons


def _restricted_line(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if not in_catalogue(run, entry):
        return []
    checks = rule.names("checks")
    facts, diagnoses = run.facts, run.claim.visit.diagnoses
    reasons = []
    if (
        "indication" in checks
        and entry.indications
        and not has_prefix(diagnoses, entry.indications)
    ):
        reasons.append(fm.indication(entry.indications))
    if "level" in checks and entry.min_level is not None and facts["level"] < entry.min_level:
        reasons.append(fm.level_below(entry.min_level, facts["level"]))
    if "sex" in checks and entry.sex and facts["sex"] != entry.sex:
        reasons.append(fm.sex_only(entry.sex))
    age = facts["age"]
    too_young = entry.min_age is not None and age < entry.min_age
    too_old = entry.max_age is not None and age > entry.max_age
    if "age" in checks and (too_young or too_old):
        reasons.append(fm.age_outside(entry.min_age, entry.max_age, age))
    title = run.claim.visit.doctor.title
    if "title" in checks and entry.min_title and not title_at_least(title, entry.min_title):
        reasons.append(fm.title_below(entry.min_title, title))
    return reasons


def _contraindication(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if not in_catalogue(run, entry):
        return []
    checks = rule.names("checks", CONTRAINDICATION_CHECKS)
    reasons = []
    if (
        "diagnosis" in checks
        and entry.contra_dx
        and has_prefix(run.claim.visit.diagnoses, entry.contra_dx)
    ):
        reasons.append(fm.contra_diagnosis(entry.contra_dx))
    if "sex" in checks and entry.contra_sex and run.facts["sex"] == entry.contra_sex:
        reasons.append(fm.contra_sex(entry.contra_sex))
    low, high, age = entry.contra_min_age, entry.contra_max_age, run.facts["age"]
    bounded = low is not None or high is not None
    if "age" in checks and bounded and (low or 0) <= age and (high is None or age <= high):
        reasons.append(fm.contra_age(low, high, age))
    return reasons


def _designated(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if not in_catalogue(run, entry) or not entry.negotiated:
        return []
    checks = rule.names("checks", DESIGNATED_CHECKS)
    reasons = []
    min_level = rule.params.get("min_level")
    if "level" in checks and min_level is not None and run.facts["level"] < min_level.values[0]:
        reasons.append(fm.level_below(int(min_level.values[0]), run.facts["level"]))
    min_title = rule.names("min_title")
    title = run.claim.visit.doctor.title
    if "title" in checks and min_title and not title_at_least(title, min_title[0]):
        reasons.append(fm.title_below(min_title[0], title))
    if (
        "indication" in checks
        and entry.indications
        and not has_prefix(run.claim.visit.diagnoses, entry.indications)
    ):
        reasons.append(fm.not_negotiated_indication(entry.indications))
    return reasons


def _non_selected(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if not in_catalogue(run, entry) or entry.kind != "drug" or entry.selected or not entry.generic:
        return []
    alternatives = sorted(
        other.code
        for other in run.policy.catalogue.values()
        if other.selected and other.generic == entry.generic and in_catalogue(run, other)
    )
    return [fm.selected_alternative(entry.generic, alternatives)] if alternatives else []


def _duplicate_dispensing(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if kind_of(item, entry) != "drug":
        return []
    prefix = item.code[:GENERIC_PREFIX_LENGTH]
    for other in earlier:
        if kind_of(other, run.policy.catalogue.get(other.code)) == "drug" and (
            other.code == item.code or other.code[:GENERIC_PREFIX_LENGTH] == prefix
        ):
            return [fm.same_drug_in_claim(other.line, other.code == item.code)]
    tolerance = int(rule.params["tolerance"].values[0])
    visit_date = run.claim.visit.date
    for record in run.claim.history.dispensed:
        if record.date > visit_date:
            continue
        if record.code != item.code and record.code[:GENERIC_PREFIX_LENGTH] != prefix:
            continue
        # days of supply left (as a difference of dates: date + supply may pass year 9999)
        left = (record.date - visit_date).days + record.days_supply
        if left > tolerance:
            return [fm.supply_left(record.code, record.date.isoformat(), left, tolerance)]
    return []


def _excess_supply(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if kind_of(item, entry) != "drug" or item.days_supply is None:
        return []
    found = table_limit(run, rule, "max_days")
    if found is None:
        return []
    limit, row = int(found[0]), found[1]
    run.use(row)  # the line was checked against the row: its figure and dates shaped the result
    if item.days_supply <= limit:
        return []
    return [fm.too_many_days(item.days_supply, limit)]


def _duplicate_service(
    run: Run, rule: RuleIR, item: Any, entry: Any, earlier: list[Any]
) -> list[fm.Reason]:
    if kind_of(item, entry) != "service":
        return []
    frequency = (entry.daily_frequency if entry is not None else None) or DEFAULT_DAILY_FREQUENCY
    visit_date = run.claim.visit.date
    before = sum(
        1 for s in run.claim.history.services if s.code == item.code and s.date == visit_date
    )
    before += sum(
        1
        for other in earlier
        if other.code == item.code
        and kind_of(other, run.policy.catalogue.get(other.code)) == "service"
    )
    return [fm.service_repeated(before + 1, frequency)] if before >= frequency else []


LINE_CHECKS = {
    "not_covered": _not_covered,
    "restricted_use": _restricted_line,
    "contraindication": _contraindication,
    "designated_use": _designated,
    "non_selected_drug": _non_selected,
    "duplicate_dispensing": _duplicate_dispensing,
    "excess_supply": _excess_supply,
    "duplicate_service": _duplicate_service,
    **LIMIT_CHECKS,
}
