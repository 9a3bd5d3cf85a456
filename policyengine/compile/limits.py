"""Emit the audit rule bases' limits and restrictions (docs/claims.md, "Audit limits"; issue
16 item 13): 限数量, limits.py's twin of interpret/limits.py.

A limit over several lines keeps its running total in a dict made before the loop over lines
(`VersionCompiler.loop_state`), keyed by what it sums over, updated as each line is read:
the loop visits lines in ascending `line`, so the total at a line is that of the lines before
it and itself, as the interpreter sums it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from policyengine.compile.findings import line_emit
from policyengine.semantics.vocabulary import GENERIC_PREFIX_LENGTH, ITEM_KINDS

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler
    from policyengine.compile.writer import Code
    from policyengine.ir import RuleIR


def _state(vc: VersionCompiler, rule: RuleIR, prefix: str, init: str = "{}") -> str:
    var = f"{prefix}{rule.id}"
    vc.loop_state[var] = init
    return var


def _quantity_limit(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    per = rule.names("per")[0]
    totals = _state(vc, rule, "qty")
    with w.block("if inc and e.max_quantity is not None:"):
        w(f"q = {totals}.get(code)")
        with w.block("if q is None:"):
            if per == "day":
                vc.need("vdate")
                # the day's records of the code, once per code and claim
                w(
                    "q = sum([r.quantity for r in (*history.services, *history.dispensed) "
                    "if r.code == code and r.date == vdate], 0)"
                )
            else:
                w("q = 0")
        w("q = q + it.quantity")
        w(f"{totals}[code] = q")
        with w.block("if q > e.max_quantity:"):
            w(f"rs = [_fm.quantity_over(code, q, e.max_quantity, {per!r})]")
            line_emit(vc, w, rule)


def _amount_limit(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    limit = vc.rule_table_var(rule, "max_amount", whole=False)
    if limit is None:
        return
    per = rule.names("per")[0]
    kinds = rule.names("kinds", ITEM_KINDS)
    test = f"{limit} is not None"
    if set(kinds) != set(ITEM_KINDS):
        test += f" and ek in {vc.const(frozenset(kinds))}"
    with w.block(f"if {test}:"):
        if per == "line":
            w("t = it.amount")
        else:
            total = _state(vc, rule, "amt", "0")
            w(f"{total} = {total} + it.amount")
            w(f"t = {total}")
        _over_row(vc, w, rule, limit, "t", f"_fm.amount_over(t, {limit}[0], {per!r})")


def _frequency_limit(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    limit = vc.rule_table_var(rule, "max_times")
    if limit is None:
        return
    days = int(rule.params["within"].values[0])
    counts = _state(vc, rule, "frq")
    vc.need("vdate")
    with w.block(f"if ek == 'service' and {limit} is not None:"):
        w(f"n = {counts}.get(code)")
        with w.block("if n is None:"):
            # the window: the visit's day and the days - 1 before it
            w(
                "n = sum([1 for s in history.services if s.code == code and s.date <= vdate "
                f"and (vdate - s.date).days < {days}])"
            )
        w("n += 1")
        w(f"{counts}[code] = n")
        _over_row(vc, w, rule, limit, "n", f"_fm.too_frequent(n, {limit}[0], {days})")


def _course_length(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    limit = vc.rule_table_var(rule, "max_days")
    if limit is None:
        return
    totals = _state(vc, rule, "crs")
    visit = vc.fact("visit")
    with w.block(f"if ek == 'drug' and {visit} == 'inpatient' and {limit} is not None:"):
        w(f"g = code[:{GENERIC_PREFIX_LENGTH}]")
        w(f"d = {totals}.get(g, 0) + (it.days_supply or 0)")
        w(f"{totals}[g] = d")
        over = f"_fm.course_too_long(d, {limit}[0])"
        _over_row(vc, w, rule, limit, "d", over, when="it.days_supply is not None")


def _over_row(
    vc: VersionCompiler,
    w: Code,
    rule: RuleIR,
    limit: str,
    figure: str,
    finding: str,
    when: str | None = None,
) -> None:
    """The line's finding when `figure` exceeds the rule table's row (`limit` holds the
    row's figure and its notes, which then count as used)."""
    test = f"{figure} > {limit}[0]" if when is None else f"{when} and {figure} > {limit}[0]"
    with w.block(f"if {test}:"):
        w(f"rs = [{finding}]")
        w(f"N.update({limit}[1])")
        line_emit(vc, w, rule)


def _department_restricted(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    department = vc.fact("department")
    with w.block(f"if inc and e.departments and {department} not in e.departments:"):
        w(f"rs = [_fm.department_only(e.departments, {department})]")
        line_emit(vc, w, rule)


def _scheme_restricted(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    scheme = vc.fact("scheme")
    with w.block(f"if inc and e.schemes and {scheme} not in e.schemes:"):
        w(f"rs = [_fm.scheme_only(e.schemes, {scheme})]")
        line_emit(vc, w, rule)


LIMIT_EMITTERS: dict[str, Callable[[VersionCompiler, Code, RuleIR], None]] = {
    "quantity_limit": _quantity_limit,
    "amount_limit": _amount_limit,
    "frequency_limit": _frequency_limit,
    "course_length": _course_length,
    "department_restricted": _department_restricted,
    "scheme_restricted": _scheme_restricted,
}
