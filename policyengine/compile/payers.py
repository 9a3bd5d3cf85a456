"""Emit the claim payers for one visit type at one version (spec §2, steps 6–8).

Each table is resolved at compile time (compile/tables.py); the emitted code looks the
claim's facts up, applies the figure, and — in the traced variant — records the step with
the rule's location, its citation and the provisional figures it used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policyengine.compile import categories, fund_limits
from policyengine.compile.ratios import ratio
from policyengine.compile.writer import Code, Raw
from policyengine.ir import Note, RowIR, TableIR
from policyengine.semantics.facts import FACTS
from policyengine.semantics.matching import schedule
from policyengine.semantics.money import fen, to_unit
from policyengine.semantics.values import BandsVal, Val

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler
    from policyengine.contract.trace import Composition

# Money figures (deductibles, caps, limits, payment caps) are folded in as fen(): two places,
# as the run time's formatting expects, rounded as the interpreter rounds them. The checker
# refuses a figure finer than the fen (T004), so the rounding never acts on a checked policy.


def failure(what: str, visit: str) -> str:
    return (
        f"raise _RuleFailure('no {what} applies to {visit} visits of this person (scheme %s) on %s'"
        " % (person.scheme, day))"
    )


def visit_payers(vc: VersionCompiler, w: Code, visit: str) -> None:
    if not _deductible(vc, w, visit):
        return
    if not ratio(vc, w, visit, failure("ratio", visit)):
        return
    w("base = covered - ded")
    ceiling = fund_limits.fund_ceiling(vc, w, visit)
    cumulative = _cumulative(vc, visit)
    if cumulative:  # the check keeps per-category rows out of such a table
        _cumulative_fund(vc, w, visit)
    else:
        categories.fund(vc, w, vc.category_lookup, failure("ratio", visit))
    if vc.trace:
        args = (", entering" if ceiling else "") + (", pooled=pooled" if cumulative else "")
        w(f"tr.append(_fund_step(covered, ded, computed{args}))")
    _cap(vc, w, visit)
    fund_limits.period_caps(vc, w, visit)
    _limit(vc, w, visit)
    _second_layer(vc, w, visit)


def _cumulative(vc: VersionCompiler, visit: str) -> bool:
    """Whether a row of the visit type's ratio (or the ratio it is paid `as`) in force at
    this version is `bands cumulative`: only then does the code read history.pooled."""
    table = vc.policy.ratios.get(visit)
    if table is not None and table.alias is not None:
        table = vc.policy.ratios.get(table.alias)
    if table is None:
        return False
    values = [vc.policy.value(r.expr, vc.day) for r in table.rows if r.active(vc.day)]
    return any(isinstance(v, BandsVal) and v.cumulative for v in values)


def _cumulative_fund(vc: VersionCompiler, w: Code, visit: str) -> None:
    """The fund where the ratio may be banded on the year's pooled amount of the visit type
    (runtime.Cumulative: F(P + x) − F(P)); the trace's fund step then shows P."""
    w("pooled = None")
    with w.block("if rate.__class__ is _D:"):
        w(f"computed = {vc.rounded('base * rate')}")
    with w.block("elif rate.__class__ is _Cumulative:"):
        w(f"pooled = history.pooled.get({visit!r}, _Z)")
        w(f"computed = {vc.rounded('rate(base, pooled)')}")
    with w.block("else:"):
        w(f"computed = {vc.rounded('rate(base)')}")


def _row_meta(
    vc: VersionCompiler, row: RowIR, table: TableIR, facts: dict[str, Any]
) -> tuple[Any, ...]:
    """(note ids, location, source, step notes) of a row at this version, for a class of
    claims (`facts`): the dates of the table's rows it passed over count too."""
    dated = vc.dated(table, facts)
    return (
        vc.note_ids(*vc.row_notes(row, dated=dated)),
        row.location,
        row.origin.as_json(),
        tuple(vc.step_notes(row, dated=dated)),
    )


def _composition(vc: VersionCompiler, row: RowIR, facts: dict[str, Any]) -> Composition | None:
    """How the row's figure is composed, for the traced variant's step (ir.composition)."""
    return vc.policy.composition(row, vc.day, facts.get("level")) if vc.trace else None


def _deductible(vc: VersionCompiler, w: Code, visit: str) -> bool:
    table = vc.policy.deductibles.get(visit)
    if table is None:
        w(failure("deductible", visit))
        return False

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        amount, meta = vc.figure(row, facts.get("level"))
        if meta is None:
            amount = to_unit(amount, unit) if amount is not None else vc.zero
        return (amount, *_row_meta(vc, row, table, facts), meta, _composition(vc, row, facts))

    unit = vc.policy.money_unit
    resolved, name = vc.table_var(table, table.rows, payload, (visit,))
    w(f"hd = {vc.lookup(resolved, name)}")
    with w.block("if hd is None:"):
        w(failure("deductible", visit))
    w("amount = hd[0]")
    derived = vc.evaluate_figure(w, resolved, "amount")
    w(f"met = history.deductible_met.get({visit!r}, _Z)" if table.period == "year" else "met = _Z")
    w("left = amount - met")
    with w.block("if left < 0:"):
        w("left = _Z")
    w("ded = covered if covered < left else left")
    w("N.update(hd[1])")
    if vc.trace:
        vc.need("admission")
        extra = ", _derivation(hd[5], fx, amount) if hd[5] is not None else None" if derived else ""
        w(
            f"tr.append(_deductible_step({visit!r}, {table.period!r}, hd[2], hd[3], amount, met, "
            f"admission, ded, hd[4], hd[6]{extra}))"
        )
    return True


def _cap(vc: VersionCompiler, w: Code, visit: str) -> None:
    table = vc.policy.cap_of(visit, None)
    if table is None:
        w("fund = computed")
        return

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        cap, meta = vc.figure(row, facts.get("level"))
        if meta is None:
            cap = to_unit(cap, vc.policy.money_unit) if cap is not None else None
        return (cap, *_row_meta(vc, row, table, facts), meta, _composition(vc, row, facts))

    resolved, name = vc.table_var(table, table.rows, payload, table.pools)
    w(f"hc = {vc.lookup(resolved, name)}")
    with w.block("if hc is None:"):
        w(failure("annual cap", visit))
    w("N.update(hc[1])")
    w("fund = computed")
    w("cap = hc[0]")
    derived = vc.evaluate_figure(w, resolved, "cap")
    with w.block("if cap is not None:"):
        w("paid = " + " + ".join(f"history.paid.get({p!r}, _Z)" for p in table.pools))
        fund_limits.hold(w, "left", "cap - paid", "fund")
        if vc.trace:
            extra = ", _derivation(hc[5], fx, cap) if hc[5] is not None else None"
            w(
                f"tr.append(_cap_step(hc[2], hc[3], cap, {vc.const(tuple(table.pools))}, paid, "
                f"left, fund, hc[4], hc[6]{extra if derived else ''}))"
            )


def _limit(vc: VersionCompiler, w: Code, visit: str) -> None:
    table = vc.policy.limits.get(visit)
    if table is None:
        return
    rows = [r for r in table.rows if r.active(vc.day)]
    numeric = []
    for row in rows:
        value = vc.policy.value(row.expr, vc.day)
        if isinstance(value, Val) and value.amounts:
            numeric.append((row, fen(value.amounts[0])))
    # rows out of force with provisional dates for the person's conditions (domain.dated_out)
    dated = tuple(
        (row.certified_condition, vc.note_ids(*row.date_notes))
        for row in table.rows
        if row.date_notes and not row.active(vc.day)
    )
    if not numeric and not rows and not dated:
        return
    certified = _certified(vc, w, table)
    if dated:
        with w.block(f"for entry in {vc.const(dated)}:"), w.block(f"if entry[0] in {certified}:"):
            w("N.update(entry[1])")
    if not numeric:
        if rows:  # the limits are cancelled (`none`): say so, citing the cancellation
            _cancelled_limit(vc, w, rows, certified)
        return
    entries = tuple(
        (
            row.certified_condition,
            amount,
            vc.note_ids(*vc.row_notes(row)),
            row.location,
            row.origin.as_json(),
        )
        for row, amount in numeric
    )
    pool = table.pools[0] if table.pools else visit
    w("lim = _Z")
    w("used = []")
    with w.block(f"for entry in {vc.const(entries)}:"), w.block(f"if entry[0] in {certified}:"):
        w("lim += entry[1]")
        w("used.append(entry)")
        w("N.update(entry[2])")
    w(f"paid = history.paid.get({pool!r}, _Z)")
    fund_limits.hold(w, "left", "lim - paid", "fund")
    if vc.trace:
        first = vc.const(entries[0][4])
        w(
            f"tr.append(_limit_step({table.location!r}, used, {first}, lim, {pool!r}, paid, left, "
            "fund, _NOTES))"
        )


def _cancelled_limit(vc: VersionCompiler, w: Code, rows: list[RowIR], certified: str) -> None:
    """The limits are cancelled (`none`): the step cites the cancelling rows of the person's
    certified conditions (every row for a person certified for none of them)."""
    entries = tuple(
        (
            row.certified_condition,
            row.location,
            row.origin.as_json(),
            vc.note_ids(*vc.row_notes(row)),
        )
        for row in rows
    )
    every = vc.const(entries)
    w(f"crows = [e for e in {every} if e[0] in {certified}] or list({every})")
    with w.block("for entry in crows:"):
        w("N.update(entry[3])")
    if vc.trace:
        w("tr.append(_cancelled_limit_step(crows, _NOTES, fund))")


def _certified(vc: VersionCompiler, w: Code, table: TableIR) -> str:
    """Emit the conditions the person is certified for in the table's programme; their
    local's name."""
    certified = FACTS["certified"]  # the certifications of this table's programme
    vc.need(*certified.uses)
    w(f"{certified.var} = {certified.source.replace('PROGRAMME', repr(table.programme))}")
    return certified.var


def _second_layer(vc: VersionCompiler, w: Code, visit: str) -> None:
    table = vc.policy.second_layer
    if table is None or visit not in table.self_burden:
        return

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        bands = vc.policy.value(row.expr, vc.day)
        # the row's notes, its table's dates' and `base includes pre_self_pay`'s
        notes = (*vc.row_notes(row, dated=vc.dated(table, facts)), *table.base_notes)
        meta = (
            vc.note_ids(*notes),
            row.location,
            row.origin.as_json(),
            tuple(str(n) for n in sorted(set(notes), key=Note.sort_key)),
        )
        composition = _composition(vc, row, facts)
        if not isinstance(bands, BandsVal):
            return (None, None, *meta, None, None, composition)
        cap = fen(bands.payment_cap) if bands.payment_cap is not None else None
        return (
            vc.module.bands_function(bands),
            cap,
            *meta,
            bands.describe(),
            schedule(bands),
            composition,
        )

    resolved, name = vc.table_var(table, table.rows, payload, table.self_burden)
    w(f"hs = {vc.lookup(resolved, name)}")
    with w.block("if hs is not None:"):
        w("N.update(hs[2])")
        with w.block("if hs[0] is not None:"):
            w("sb = history.self_burden.inpatient")
            w("s = covered - fund")
            pre = "None"
            if table.base_includes_pre_self_pay:  # rows hold each line's pre-self-pay at [7]
                w("pre = sum([r[7] for r in rows], _Z)")
                w("s += pre")
                pre = "pre"
            w(f"ci = {vc.rounded('hs[0](sb + s) - hs[0](sb)')}")
            w("computed = ci")
            w("cap_left = None")
            with w.block("if hs[1] is not None:"):
                room = "hs[1] - history.paid.get('critical_illness', _Z)"
                fund_limits.hold(w, "cap_left", room, "ci")
            if vc.trace:
                w(
                    "tr.append(_critical_illness_step(hs[3], hs[4], sb, s, hs[6], hs[7], "
                    "history.paid.get('critical_illness', _Z), computed, cap_left, ci, hs[5], "
                    f"hs[8], {pre}))"
                )


__all__ = ["Raw", "visit_payers"]
