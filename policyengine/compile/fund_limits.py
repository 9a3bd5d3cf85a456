"""Emit the limits of issue 16 around the fund's payment (spec §5): a ceiling on the cost
entering the fund (`fund_ceiling`), before the ratio applies, and caps `per visit` and `per
day` on the fund, after the yearly cap. A policy without them emits nothing here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policyengine.ir import Note, RowIR, TableIR
from policyengine.semantics.money import to_unit
from policyengine.semantics.vocabulary import CAP_PERIODS

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler
    from policyengine.compile.writer import Code


def _failure(what: str, visit: str) -> str:
    return (
        f"raise _RuleFailure('no {what} applies to {visit} visits of this person (scheme %s) on %s'"
        " % (person.scheme, day))"
    )


def _lookup(
    vc: VersionCompiler, w: Code, table: TableIR, var: str, figure: str, what: str, visit: str
) -> str | None:
    """`var` = the row's (money, None or a function of the claim's facts, note ids, location,
    source, step notes, derivation meta), and `figure` its figure for this claim. Returns the
    derivation's argument to the step builder (empty where no row reads the claim's facts),
    or None where no row is in force at this version."""

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        amount, meta = vc.figure(row, facts.get("level"))
        if meta is None:
            amount = to_unit(amount, vc.policy.money_unit) if amount is not None else None
        notes = vc.row_notes(row)
        return (
            amount,
            vc.note_ids(*notes),
            row.location,
            row.origin.as_json(),
            tuple(str(n) for n in sorted(set(notes), key=Note.sort_key)),
            meta,
        )

    resolved, name = vc.table_var(table, table.rows, payload, table.pools)
    if not resolved.entries:  # no row in force at this version
        return None
    w(f"{var} = {vc.lookup(resolved, name)}")
    with w.block(f"if {var} is None:"):
        w(_failure(what, visit))
    w(f"N.update({var}[1])")
    w(f"{figure} = {var}[0]")
    if not vc.evaluate_figure(w, resolved, figure):
        return ""
    return f", _derivation({var}[5], fx, {figure}) if {var}[5] is not None else None"


def fund_ceiling(vc: VersionCompiler, w: Code, visit: str) -> bool:
    """After `base = covered − ded`: base limited to the ceiling less the year's pooled amounts
    of its pools. True where the policy has one (the fund step then states `entering`)."""
    table = vc.policy.fund_ceiling_of(visit)
    if table is None:
        return False
    derived = _lookup(vc, w, table, "hf", "ceiling", "fund ceiling", visit)
    if derived is None:
        return False
    if vc.trace:
        w("entering = None")
    with w.block("if ceiling is not None:"):
        w("pooled = " + " + ".join(f"history.pooled.get({p!r}, _Z)" for p in table.pools))
        w("amount = base")
        hold(w, "left", "ceiling - pooled", "base")
        if vc.trace:
            w("entering = base")
            w(
                f"tr.append(_fund_ceiling_step(hf[2], hf[3], ceiling, {vc.const(table.pools)}, "
                f"pooled, left, amount, base, hf[4]{derived}))"
            )
    return True


def period_caps(vc: VersionCompiler, w: Code, visit: str) -> None:
    """After the yearly cap: the caps `per visit` (this claim's fund) and `per day` (the fund
    on the visit date, history.paid_today)."""
    for period in CAP_PERIODS:
        table = vc.policy.cap_of(visit, period)
        var = f"hc_{period}"
        if table is None:
            continue
        derived = _lookup(vc, w, table, var, "period_cap", f"cap per {period}", visit)
        if derived is None:
            continue
        with w.block("if period_cap is not None:"):
            if period == "day":
                pools = (f"history.paid_today.get({p!r}, _Z)" for p in table.pools)
                w("paid = " + " + ".join(pools))
            else:
                w("paid = _Z")
            hold(w, "left", "period_cap - paid", "fund")
            if vc.trace:
                w(
                    f"tr.append(_period_cap_step({period!r}, {var}[2], {var}[3], period_cap, "
                    f"{vc.const(table.pools)}, paid, left, fund, {var}[4]{derived}))"
                )


def hold(w: Code, left: str, room: str, target: str) -> None:
    """Emit what is left of an amount (`left = room`, not below 0) and hold `target` to it:
    the shape of every cap, limit and ceiling the fund or the second layer is held to."""
    w(f"{left} = {room}")
    with w.block(f"if {left} < 0:"):
        w(f"{left} = _Z")
    with w.block(f"if {left} < {target}:"):
        w(f"{target} = {left}")
