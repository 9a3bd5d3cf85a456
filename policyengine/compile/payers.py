"""Emit the claim payers for one visit type at one version (spec §2, steps 6–8).

Each table is resolved at compile time (compile/tables.py); the emitted code looks the
claim's facts up, applies the figure, and — in the traced variant — records the step with
the rule's location, its citation and the provisional figures it used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policyengine.compile import categories, fund_limits
from policyengine.compile.tables import level_of
from policyengine.compile.writer import Code, Raw
from policyengine.ir import Note, RowIR, TableIR
from policyengine.semantics.domain import matches
from policyengine.semantics.facts import FACTS
from policyengine.semantics.matching import ratio_text, schedule
from policyengine.semantics.money import fen
from policyengine.semantics.values import BandsVal, Val

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler
    from policyengine.contract.trace import RatioStep

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
    if not _ratio(vc, w, visit):
        return
    w("base = covered - ded")
    ceiling = fund_limits.fund_ceiling(vc, w, visit)
    categories.fund(vc, w, vc.category_lookup, failure("ratio", visit))
    if vc.trace:
        w(f"tr.append(_fund_step(covered, ded, computed{', entering' if ceiling else ''}))")
    _cap(vc, w, visit)
    fund_limits.period_caps(vc, w, visit)
    _limit(vc, w, visit)
    _second_layer(vc, w, visit)


def _row_meta(vc: VersionCompiler, row: RowIR) -> tuple[Any, ...]:
    """(note ids, location, source, step notes) of a row at this version."""
    return (
        vc.note_ids(*vc.row_notes(row)),
        row.location,
        row.origin.as_json(),
        tuple(vc.step_notes(row)),
    )


def _deductible(vc: VersionCompiler, w: Code, visit: str) -> bool:
    table = vc.policy.deductibles.get(visit)
    if table is None:
        w(failure("deductible", visit))
        return False

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        amount = level_of(vc.policy.value(row.expr, vc.day), facts.get("level"))
        return (fen(amount) if amount is not None else vc.zero, *_row_meta(vc, row))

    resolved, name = vc.table_var(table, table.rows, payload, (visit,))
    w(f"hd = {vc.lookup(resolved, name)}")
    with w.block("if hd is None:"):
        w(failure("deductible", visit))
    w("amount = hd[0]")
    w(f"met = history.deductible_met.get({visit!r}, _Z)" if table.period == "year" else "met = _Z")
    w("left = amount - met")
    with w.block("if left < 0:"):
        w("left = _Z")
    w("ded = covered if covered < left else left")
    w("N.update(hd[1])")
    if vc.trace:
        vc.need("admission")
        w(
            f"tr.append(_deductible_step({visit!r}, {table.period!r}, hd[2], hd[3], amount, met, "
            "admission, ded, hd[4]))"
        )
    return True


def _ratio(vc: VersionCompiler, w: Code, visit: str) -> bool:
    table = vc.policy.ratios.get(visit)
    alias: TableIR | None = None
    if table is not None and table.alias is not None:
        alias, table = table, vc.policy.ratios.get(table.alias)
    if table is None:
        w(failure("ratio", visit))
        return False
    adjust = [r for r in table.adjust if r.active(vc.day)]

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        level = facts.get("level")
        base = level_of(vc.policy.value(row.expr, vc.day), level)
        applying = [r for r in adjust if matches(r.conds, facts)]
        points = [level_of(vc.policy.value(r.expr, vc.day), level) for r in applying]
        final = base + sum(points) if not isinstance(base, BandsVal) else base
        notes = vc.row_notes(row, *applying) + (alias.alias_notes if alias else ())
        # a constant of the generated module, copied into each trace (its keys come out
        # sorted, as compile/writer.literal writes every dict)
        step: RatioStep = {
            "step": "ratio",
            "form": "bands" if isinstance(base, BandsVal) else "rate",
            "rule": row.location,
            "source": row.origin.as_json(),
            "figures": {
                "base": _describe(base),
                "alias": alias.alias_step() if alias else None,
                "adjustments": [
                    {"rule": r.location, "points": ratio_text(p), "source": r.origin.as_json()}
                    for r, p in zip(applying, points, strict=True)
                ],
            },
            "value": _describe(final),
            "provisional": vc.step_notes(row, *applying),
        }
        rate = vc.module.bands_function(final) if isinstance(final, BandsVal) else final
        return (rate, vc.note_ids(*notes), step if vc.trace else None)

    resolved = _resolve_with(vc, table, payload, visit, adjust)
    vc.category_lookup = None
    if "category" in resolved[0].keys:  # lines of a category are paid at its own ratio
        w("cat = None")
        vc.category_lookup = vc.lookup(resolved[0], resolved[1])
    w(f"hr = {vc.lookup(resolved[0], resolved[1])}")
    with w.block("if hr is None:"):
        w(failure("ratio", visit))
    w("rate = hr[0]")
    w("N.update(hr[1])")
    if vc.trace:
        w("tr.append(_copy(hr[2]))")
    return True


def _resolve_with(
    vc: VersionCompiler, table: TableIR, payload: Any, visit: str, adjust: list[RowIR]
) -> tuple[Any, str]:
    from policyengine.compile.tables import resolve

    resolved = resolve(
        vc.policy, list(table.rows), vc.day, payload, visits=(visit,), extra_rows=adjust
    )
    return resolved, vc.module.table_const(resolved)


def _describe(value: Any) -> str:
    return value.describe() if isinstance(value, BandsVal) else ratio_text(value)


def _cap(vc: VersionCompiler, w: Code, visit: str) -> None:
    table = vc.policy.cap_of(visit, None)
    if table is None:
        w("fund = computed")
        return

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        cap = level_of(vc.policy.value(row.expr, vc.day), facts.get("level"))
        return (
            fen(cap) if cap is not None else None,
            *_row_meta(vc, row),
        )

    resolved, name = vc.table_var(table, table.rows, payload, table.pools)
    w(f"hc = {vc.lookup(resolved, name)}")
    with w.block("if hc is None:"):
        w(failure("annual cap", visit))
    w("N.update(hc[1])")
    w("fund = computed")
    with w.block("if hc[0] is not None:"):
        w("paid = " + " + ".join(f"history.paid.get({p!r}, _Z)" for p in table.pools))
        w("left = hc[0] - paid")
        with w.block("if left < 0:"):
            w("left = _Z")
        with w.block("if left < fund:"):
            w("fund = left")
        if vc.trace:
            w(
                f"tr.append(_cap_step(hc[2], hc[3], hc[0], {vc.const(tuple(table.pools))}, paid, "
                "left, fund, hc[4]))"
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
    if not numeric:
        if rows:  # the limits are cancelled (`none`): say so, citing the cancellation
            _cancelled_limit(vc, w, rows)
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
    certified = FACTS["certified"]  # the certifications of this table's programme
    vc.need(*certified.uses)
    w(f"{certified.var} = {certified.source.replace('PROGRAMME', repr(table.programme))}")
    w("lim = _Z")
    w("used = []")
    with (
        w.block(f"for entry in {vc.const(entries)}:"),
        w.block(f"if entry[0] in {certified.var}:"),
    ):
        w("lim += entry[1]")
        w("used.append(entry)")
        w("N.update(entry[2])")
    w(f"paid = history.paid.get({pool!r}, _Z)")
    w("left = lim - paid")
    with w.block("if left < 0:"):
        w("left = _Z")
    with w.block("if left < fund:"):
        w("fund = left")
    if vc.trace:
        first = vc.const(entries[0][4])
        w(
            f"tr.append(_limit_step({table.location!r}, used, {first}, lim, {pool!r}, paid, left, "
            "fund, _NOTES))"
        )


def _cancelled_limit(vc: VersionCompiler, w: Code, rows: list[RowIR]) -> None:
    notes = vc.note_ids(*vc.row_notes(*rows))
    if notes:
        w(f"N.update({vc.const(notes)})")
    if vc.trace:
        source = vc.const(rows[0].origin.as_json())
        locations = vc.const(tuple(r.location for r in rows))
        notes_text = vc.const(tuple(vc.step_notes(*rows)))
        w(
            f"tr.append(_cancelled_limit_step({rows[0].location!r}, {source}, {locations}, "
            f"{notes_text}, fund))"
        )


def _second_layer(vc: VersionCompiler, w: Code, visit: str) -> None:
    table = vc.policy.second_layer
    if table is None or visit not in table.self_burden:
        return

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        bands = vc.policy.value(row.expr, vc.day)
        notes = (*vc.row_notes(row), *table.base_notes)  # and `base includes pre_self_pay`'s
        meta = (
            vc.note_ids(*notes),
            row.location,
            row.origin.as_json(),
            tuple(str(n) for n in sorted(set(notes), key=Note.sort_key)),
        )
        if not isinstance(bands, BandsVal):
            return (None, None, *meta, None, None)
        cap = fen(bands.payment_cap) if bands.payment_cap is not None else None
        return (vc.module.bands_function(bands), cap, *meta, bands.describe(), schedule(bands))

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
                w("cap_left = hs[1] - history.paid.get('critical_illness', _Z)")
                with w.block("if cap_left < 0:"):
                    w("cap_left = _Z")
                with w.block("if cap_left < ci:"):
                    w("ci = cap_left")
            if vc.trace:
                w(
                    "tr.append(_critical_illness_step(hs[3], hs[4], sb, s, hs[6], hs[7], "
                    "history.paid.get('critical_illness', _Z), computed, cap_left, ci, hs[5], "
                    f"{pre}))"
                )


__all__ = ["Raw", "visit_payers"]
