"""Emit the limits of issue 16 around the fund's payment (spec §5): a ceiling on the cost
entering the fund (`fund_ceiling`), before the ratio applies, and caps `per visit` and `per
day` on the fund, after the yearly cap. A policy without them emits nothing here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policyengine.compile.tables import level_of
from policyengine.ir import Note, RowIR, TableIR
from policyengine.semantics.money import fen
from policyengine.semantics.vocabulary import CAP_PERIODS

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler
    from policyengine.compile.writer import Code


def _failure(what: str, visit: str) -> str:
    return (
        f"raise _RuleFailure('no {what} applies to {visit} visits of this person (scheme %s) on %s'"
        " % (person.scheme, day))"
    )


def _lookup(vc: VersionCompiler, w: Code, table: TableIR, var: str, what: str, visit: str) -> bool:
    """`var` = the row's (money or None, note ids, location, source, step notes)."""

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        amount = level_of(vc.policy.value(row.expr, vc.day), facts.get("level"))
        notes = vc.row_notes(row)
        return (
            fen(amount) if amount is not None else None,
            vc.note_ids(*notes),
            row.location,
            row.origin.as_json(),
            tuple(str(n) for n in sorted(set(notes), key=Note.sort_key)),
        )

    resolved, name = vc.table_var(table, table.rows, payload, table.pools)
    if not resolved.entries:  # no row in force at this version
        return False
    w(f"{var} = {vc.lookup(resolved, name)}")
    with w.block(f"if {var} is None:"):
        w(_failure(what, visit))
    w(f"N.update({var}[1])")
    return True


def fund_ceiling(vc: VersionCompiler, w: Code, visit: str) -> bool:
    """After `base = covered − ded`: base limited to the ceiling less the year's pooled amounts
    of its pools. True where the policy has one (the fund step then states `entering`)."""
    table = vc.policy.fund_ceiling_of(visit)
    if table is None or not _lookup(vc, w, table, "hf", "fund ceiling", visit):
        return False
    if vc.trace:
        w("entering = None")
    with w.block("if hf[0] is not None:"):
        w("pooled = " + " + ".join(f"history.pooled.get({p!r}, _Z)" for p in table.pools))
        w("left = hf[0] - pooled")
        with w.block("if left < 0:"):
            w("left = _Z")
        w("amount = base")
        with w.block("if left < base:"):
            w("base = left")
        if vc.trace:
            w("entering = base")
            w(
                f"tr.append(_fund_ceiling_step(hf[2], hf[3], hf[0], {vc.const(table.pools)}, "
                "pooled, left, amount, base, hf[4]))"
            )
    return True


def period_caps(vc: VersionCompiler, w: Code, visit: str) -> None:
    """After the yearly cap: the caps `per visit` (this claim's fund) and `per day` (the fund
    on the visit date, history.paid_today)."""
    for period in CAP_PERIODS:
        table = vc.policy.cap_of(visit, period)
        var = f"hc_{period}"
        if table is None or not _lookup(vc, w, table, var, f"cap per {period}", visit):
            continue
        with w.block(f"if {var}[0] is not None:"):
            if period == "day":
                pools = (f"history.paid_today.get({p!r}, _Z)" for p in table.pools)
                w("paid = " + " + ".join(pools))
            else:
                w("paid = _Z")
            w(f"left = {var}[0] - paid")
            with w.block("if left < 0:"):
                w("left = _Z")
            with w.block("if left < fund:"):
                w("fund = left")
            if vc.trace:
                w(
                    f"tr.append(_period_cap_step({period!r}, {var}[2], {var}[3], {var}[0], "
                    f"{vc.const(table.pools)}, paid, left, fund, {var}[4]))"
                )
