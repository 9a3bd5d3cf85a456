"""Emit the finding rules of one version as straight-line Python.

Claim-level rules run once; line-level rules run inside the loop over lines, whose
locals are: `it` (the item), `code`, `e` (catalogue entry or None), `inc` (in this
region's catalogue), `ek` (effective kind), `ln` (line number), `lf` (the line's
findings). Duplicate checks read `firsts` (generic prefix → first drug line) and `svc`
(service code → occurrences so far), which the loop updates after each line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from policyengine.compile.findings import emit_finding, line_emit
from policyengine.compile.limits import LIMIT_EMITTERS
from policyengine.compile.writer import Code
from policyengine.ir import CondIR, RuleIR
from policyengine.semantics.domain import SET_KEYS
from policyengine.semantics.facts import FACTS
from policyengine.semantics.vocabulary import (
    CONTRAINDICATION_CHECKS,
    DEFAULT_DAILY_FREQUENCY,
    DESIGNATED_CHECKS,
    GENERIC_PREFIX_LENGTH,
    TITLE_RANK,
)

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler


def when_source(vc: VersionCompiler, alternatives: tuple[tuple[CondIR, ...], ...]) -> str:
    if not alternatives:
        return "True"
    parts = [_conjunction(vc, alt) for alt in alternatives]
    return parts[0] if len(parts) == 1 else " or ".join(f"({p})" for p in parts)


def _conjunction(vc: VersionCompiler, conds: tuple[CondIR, ...]) -> str:
    if not conds:
        return "True"
    return " and ".join(_cond(vc, c) for c in conds)


def _cond(vc: VersionCompiler, cond: CondIR) -> str:
    var = vc.fact(cond.key)
    if cond.key in SET_KEYS:
        test = f"not {var}.isdisjoint({vc.const(frozenset(cond.names))})"
    elif cond.ranges:
        test = " or ".join(f"{low} <= {var} <= {high}" for low, high in cond.ranges)
        test = f"({test})" if len(cond.ranges) > 1 else test
        if FACTS[cond.key].only_when is not None:  # None where it does not exist (rank)
            test = f"({var} is not None and {test})"
    elif len(cond.names) == 1:
        test = f"{var} == {next(iter(cond.names))!r}"
    else:
        test = f"{var} in {vc.const(frozenset(cond.names))}"
    return f"not ({test})" if cond.negated else test


# ------------------------------------------------------------------ claim level


def claim_rule(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    w.comment(f"{rule.kind} `{rule.name}` — {rule.location}")
    with w.block(f"if {when_source(vc, rule.when)}:"):
        CLAIM_EMITTERS[rule.kind](vc, w, rule)


def _restricted_visit(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    w(f"rs = [_fm.visit_restricted({rule.title!r})]")
    _claim_emit(vc, w, rule)


def _claim_emit(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    emit_finding(vc, w, rule, "None", "rs")
    w("cacts.add(f['action'])")


def _certified_list(vc: VersionCompiler, rule: RuleIR) -> str:
    vc.need("dx")
    allowed = frozenset(c for c in rule.names("conditions") if c in vc.policy.conditions)
    return (
        f"[ct for ct in person.certifications if ct.programme == {rule.programme!r} "
        f"and ct.since <= vdate and ct.condition in {vc.const(allowed)} and ct.condition in dx]"
    )


def _certification(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    with w.block(f"if not {_certified_list(vc, rule)}:"):
        w(f"rs = [_fm.not_certified({rule.programme!r}, {rule.names('conditions')!r})]")
        _claim_emit(vc, w, rule)


def _prescriber(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    minimum = rule.names("min_title")[0]
    rank = TITLE_RANK[minimum]
    w(f"certs = {_certified_list(vc, rule)}")
    test = f"any(ct.doctor_title is not None and _RANK[ct.doctor_title] >= {rank} for ct in certs)"
    if rule.names("certified") == ("from_effective",) and rule.start is not None:
        # a certification made before the rule took effect stands, whoever made it
        test = f"({test} or any(ct.since < {vc.const(rule.start)} for ct in certs))"
    with w.block(f"if certs and not {test}:"):
        w(f"rs = [_fm.certifier_title({minimum!r})]")
        _claim_emit(vc, w, rule)


CLAIM_EMITTERS: dict[str, Callable[[VersionCompiler, Code, RuleIR], None]] = {
    "restricted_use": _restricted_visit,
    "certification_required": _certification,
    "prescriber_qualification": _prescriber,
}


# ------------------------------------------------------------------ line level


def line_rule(vc: VersionCompiler, w: Code, rule: RuleIR, guard: str | None) -> None:
    w.comment(f"{rule.kind} `{rule.name}` — {rule.location}")
    if guard is None:
        LINE_EMITTERS[rule.kind](vc, w, rule)
        return
    with w.block(f"if {guard}:"):
        LINE_EMITTERS[rule.kind](vc, w, rule)


def _not_covered(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    region = vc.policy.name
    selectors = rule.names("items")
    # each selector's test; a clean line fails them all under one guard, allocating nothing
    tests: list[tuple[str, str]] = []
    if "outside_catalogue" in selectors:
        reason = f"_fm.outside_catalogue({region!r}, e.local_region if e is not None else '')"
        tests.append(("not inc", reason))
    if "class_c" in selectors:
        tests.append(("inc and e.cls == 'C'", "_fm.class_c()"))
    if "local" in selectors:
        tests.append((f"e is not None and e.local_region == {region!r}", "_fm.local_item()"))
    for flag in rule.names("only_flagged"):
        tests.append((f"not (inc and e.{flag})", f"_fm.unflagged({flag!r})"))
    if not tests:
        return
    guard = " or ".join(f"({test})" for test, _reason in tests)
    with w.block(f"if {guard}:"):
        w("rs = []")
        for test, reason in tests:
            with w.block(f"if {test}:"):
                w(f"rs.append({reason})")
        line_emit(vc, w, rule)


def _restricted_line(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    checks = rule.names("checks")
    vc.need("udiag", "level", "sex", "age", "title")
    with w.block("if inc and e.code in _RESTRICTED:"):
        w("rs = []")
        if "indication" in checks:
            with w.block(
                "if e.indications and not any(u.startswith(e.indications) for u in udiag):"
            ):
                w("rs.append(_fm.indication(e.indications))")
        if "level" in checks:
            with w.block("if e.min_level is not None and level < e.min_level:"):
                w("rs.append(_fm.level_below(e.min_level, level))")
        if "sex" in checks:
            with w.block("if e.sex and sex != e.sex:"):
                w("rs.append(_fm.sex_only(e.sex))")
        if "age" in checks:
            test = (
                "(e.min_age is not None and age < e.min_age) "
                "or (e.max_age is not None and age > e.max_age)"
            )
            with w.block(f"if {test}:"):
                w("rs.append(_fm.age_outside(e.min_age, e.max_age, age))")
        if "title" in checks:
            with w.block(
                "if e.min_title and (title is None or _RANK[title] < _RANK[e.min_title]):"
            ):
                w("rs.append(_fm.title_below(e.min_title, title))")
        line_emit(vc, w, rule)


def _contraindication(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    checks = rule.names("checks", CONTRAINDICATION_CHECKS)
    vc.need("udiag", "sex", "age")
    with w.block("if inc and e.code in _CONTRA:"):
        w("rs = []")
        if "diagnosis" in checks:
            with w.block("if e.contra_dx and any(u.startswith(e.contra_dx) for u in udiag):"):
                w("rs.append(_fm.contra_diagnosis(e.contra_dx))")
        if "sex" in checks:
            with w.block("if e.contra_sex and sex == e.contra_sex:"):
                w("rs.append(_fm.contra_sex(e.contra_sex))")
        if "age" in checks:
            low = "(e.contra_min_age or 0)"
            test = (
                f"(e.contra_min_age is not None or e.contra_max_age is not None) and {low} <= age"
            )
            with w.block(f"if {test} and (e.contra_max_age is None or age <= e.contra_max_age):"):
                w("rs.append(_fm.contra_age(e.contra_min_age, e.contra_max_age, age))")
        line_emit(vc, w, rule)


def _designated(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    checks = rule.names("checks", DESIGNATED_CHECKS)
    vc.need("udiag", "level", "title")
    with w.block("if inc and e.negotiated:"):
        w("rs = []")
        min_level = rule.params.get("min_level")
        if "level" in checks and min_level is not None:
            floor = int(min_level.values[0])
            with w.block(f"if level < {floor}:"):
                w(f"rs.append(_fm.level_below({floor}, level))")
        min_title = rule.names("min_title")
        if "title" in checks and min_title:
            rank = TITLE_RANK[min_title[0]]
            with w.block(f"if title is None or _RANK[title] < {rank}:"):
                w(f"rs.append(_fm.title_below({min_title[0]!r}, title))")
        if "indication" in checks:
            with w.block(
                "if e.indications and not any(u.startswith(e.indications) for u in udiag):"
            ):
                w("rs.append(_fm.not_negotiated_indication(e.indications))")
        line_emit(vc, w, rule)


def _non_selected(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    with w.block("if inc:"):
        w("alt = _NONSEL.get(code)")
        with w.block("if alt is not None:"):
            w("rs = [_fm.selected_alternative(alt[0], list(alt[1]))]")
            line_emit(vc, w, rule)


def _duplicate_dispensing(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    tolerance = int(rule.params["tolerance"].values[0])
    vc.need("vdate")
    vc.track_drugs = True
    with w.block("if ek == 'drug':"):
        w(f"first = firsts.get(code[:{GENERIC_PREFIX_LENGTH}])")
        with w.block("if first is not None:"):
            w("rs = [_fm.same_drug_in_claim(first[0], first[1] == code)]")
        with w.block("else:"):
            w("rs = None")
            # the history indexed by generic once per claim, each list in history order: an
            # item reads only the records of its own generic (same code or same prefix)
            with w.block("if disp is None:"):
                w(f"disp = _by_generic(history.dispensed, {GENERIC_PREFIX_LENGTH})")
            with (
                w.block(f"for rec in disp.get(code[:{GENERIC_PREFIX_LENGTH}], ()):"),
                w.block("if rec.date <= vdate:"),
            ):
                w("left = (rec.date - vdate).days + rec.days_supply")
                with w.block(f"if left > {tolerance}:"):
                    w(f"rs = [_fm.supply_left(rec.code, rec.date.isoformat(), left, {tolerance})]")
                    w("break")
        line_emit(vc, w, rule)


def _excess_supply(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    limit_var = vc.rule_table_var(rule, "max_days")
    if limit_var is None:
        return
    with w.block(f"if ek == 'drug' and it.days_supply is not None and {limit_var} is not None:"):
        # the line is checked against the row: its figure and dates shape the result
        w(f"N.update({limit_var}[1])")
        with w.block(f"if it.days_supply > {limit_var}[0]:"):
            w(f"rs = [_fm.too_many_days(it.days_supply, {limit_var}[0])]")
            line_emit(vc, w, rule)


def _duplicate_service(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    vc.track_services = True
    with w.block("if ek == 'service':"):
        w(f"freq = (e.daily_frequency if e is not None else None) or {DEFAULT_DAILY_FREQUENCY}")
        w("seen = svc.get(code, 0)")
        with w.block("if seen >= freq:"):
            w("rs = [_fm.service_repeated(seen + 1, freq)]")
            line_emit(vc, w, rule)


LINE_EMITTERS: dict[str, Callable[[VersionCompiler, Code, RuleIR], None]] = {
    "not_covered": _not_covered,
    "restricted_use": _restricted_line,
    "contraindication": _contraindication,
    "designated_use": _designated,
    "non_selected_drug": _non_selected,
    "duplicate_dispensing": _duplicate_dispensing,
    "excess_supply": _excess_supply,
    "duplicate_service": _duplicate_service,
    **LIMIT_EMITTERS,
}
