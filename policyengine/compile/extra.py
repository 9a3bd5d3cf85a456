"""Emit the extra pre-self-pay shares of named `pre_self_pay` tables (异地就医先行自付 …).

Each table is resolved at compile time like any other; the row for the claim is looked up
once, before the lines, and each line in scope gives `covered × rate` (half-up to the fen)
of what it has left to the pre-self-pay, in declaration order. A policy without such a
table emits nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from policyengine.compile.tables import level_of
from policyengine.ir import RowIR, TableIR

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler
    from policyengine.compile.writer import Code


@dataclass(frozen=True)
class Extra:
    """One named table as the function reads it: its lookup's local and its lines' list."""

    table: TableIR
    var: str  # the row's payload (rate, note ids, location, source, step notes, meta) or None
    rate: str  # the row's rate for this claim (computed where it reads the claim's facts)
    lines: str  # the trace's (line, base, share) list
    derived: str  # the step builder's derivation argument ("" where no row reads a fact)


def lookups(vc: VersionCompiler, w: Code) -> list[Extra]:
    """Look each table's row up before the lines; the ones in force at this version."""
    out: list[Extra] = []
    for index, table in enumerate(vc.policy.extra_pre_self_pay):

        def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
            if row is None:
                return None
            rate, meta = vc.figure(row, facts.get("level"))
            return (
                rate,
                vc.note_ids(*vc.row_notes(row)),
                row.location,
                row.origin.as_json(),
                tuple(vc.step_notes(row)),
                meta,
            )

        resolved, name = vc.table_var(table, table.rows, payload, None)
        if not resolved.entries:
            continue
        var, rate = f"hx{index}", f"xr{index}"
        w(f"{var} = {vc.lookup(resolved, name)}")
        with w.block(f"if {var} is not None:"):
            w(f"N.update({var}[1])")
            w(f"{rate} = {var}[0]")
            derived = vc.evaluate_figure(w, resolved, rate)
        extra = Extra(
            table,
            var,
            rate,
            f"xl{index}",
            f", _derivation({var}[5], fx, {rate}) if {var}[5] is not None else None"
            if derived
            else "",
        )
        if vc.trace:
            w(f"{extra.lines} = []")
        out.append(extra)
    return out


def shares(vc: VersionCompiler, w: Code, extras: list[Extra]) -> None:
    """In the line loop, after `cov` (amount − over − 乙类 pre): each table's share."""
    for extra in extras:
        with w.block(f"if {extra.var} is not None:"):
            w(f"x = _fen(cov * {extra.rate})")
            if vc.trace:
                w(f"{extra.lines}.append((it.line, cov, x))")
            w("pre += x")
            w("cov -= x")


def steps(vc: VersionCompiler, w: Code, extras: list[Extra]) -> None:
    """After the lines (traced variant): each table's step."""
    if not vc.trace:
        return
    for extra in extras:
        var = extra.var
        with w.block(f"if {var} is not None:"):
            w(
                f"tr.append(_extra_pre_self_pay_step({extra.table.name!r}, {extra.table.title!r}, "
                f"{var}[2], {var}[3], "
                f"{extra.rate}, {extra.lines}, {var}[4]{extra.derived}))"
            )


def ceiling_lookup(vc: VersionCompiler, w: Code) -> str | None:
    """The `pre_self_pay ceiling` row of the claim, looked up before the lines: the local
    holding its payload (bound or None for `none`, note ids, location, source), or None
    where the policy has no such table in force."""
    table = vc.policy.pre_self_pay_ceiling
    if table is None:
        return None

    def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        bound = level_of(vc.policy.value(row.expr, vc.day), facts.get("level"))
        notes = vc.row_notes(row, dated=vc.dated(table, facts))
        return (bound, vc.note_ids(*notes), row.location, row.origin.as_json())

    resolved, name = vc.table_var(table, table.rows, payload, None)
    if not resolved.entries:
        return None
    w(f"hcl = {vc.lookup(resolved, name)}")
    return "hcl"


def ceiling_bound(vc: VersionCompiler, w: Code, var: str | None) -> None:
    """In a 乙类 line, after its proportion `prop` (the catalogue's or the default's): the
    ceiling's row, where one applies, holds it at most at its bound (the trace's `sp` then
    names that row, and `held` the proportion it cut)."""
    if var is None:
        return
    table = vc.policy.pre_self_pay_ceiling
    kinds = f" and e.kind in {vc.const(frozenset(table.items))}" if table and table.items else ""
    with w.block(f"if {var} is not None{kinds}:"):
        w(f"N.update({var}[1])")
        with w.block(f"if {var}[0] is not None and prop > {var}[0]:"):
            w(f"prop = {var}[0]")
            if vc.trace:
                w("held = sp")
                w(f"sp = (_ratio_text(prop), {var}[2], _copy({var}[3]))")
