"""Emit the fund's ratio for one visit type at one version (spec §2, step 7).

For each class of claims the ratio table distinguishes, the base row and the adjustments
that apply are found at compile time. Where every figure is a constant the ratio is folded
— combined as the table says (`adjustments sum|largest`) and held within its bounds — and
its trace step is a constant of the module. Where a figure reads the claim's facts (`age`,
`level`, …) the entry holds a RatioSpec the run time evaluates for the claim
(runtime_figures.ratio_of, ratio_step), with the step as a template to fill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine.compile.tables import resolve
from policyengine.compile.writer import Code, Raw
from policyengine.ir import Note, RowIR, TableIR
from policyengine.semantics.domain import matches
from policyengine.semantics.matching import ratio_text
from policyengine.semantics.values import BandsVal, Val

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler
    from policyengine.contract.trace import RatioAdjustment, RatioCombination, RatioStep

ZERO = Decimal(0)


def ratio(vc: VersionCompiler, w: Code, visit: str, failure: str) -> bool:
    table = vc.policy.ratios.get(visit)
    alias: TableIR | None = None
    if table is not None and table.alias is not None:
        alias, table = table, vc.policy.ratios.get(table.alias)
    if table is None:
        w(failure)
        return False
    adjust = [r for r in table.adjust if r.active(vc.day)]
    bounds = _bounds(vc, table)
    entries = _Entries(vc, table, alias, adjust, bounds)
    resolved = resolve(
        vc.policy,
        list(table.rows),
        vc.day,
        entries.payload,
        visits=(visit,),
        extra_rows=list(table.adjust),  # those out of force with provisional dates too (notes)
    )
    name = vc.module.table_const(resolved)
    vc.category_lookup = None
    if "category" in resolved.keys:  # lines of a category are paid at its own ratio
        w("cat = None")
        vc.category_lookup = vc.lookup(resolved, name)
    vc.dynamic_ratio = entries.dynamic
    w(f"hr = {vc.lookup(resolved, name)}")
    with w.block("if hr is None:"):
        w(failure)
    w("rate = hr[0]")
    w("N.update(hr[1])")
    if entries.dynamic:
        with w.block("if rate is None:"):
            if vc.trace:
                w("rate, st = _ratio_step(_copy(hr[2]), hr[3], hr[4], fx)")
                w("tr.append(st)")
            else:
                w("rate = _ratio_of(hr[3], fx)")
        if vc.trace:
            with w.block("else:"):
                w("tr.append(_copy(hr[2]))")
    elif vc.trace:
        w("tr.append(_copy(hr[2]))")
    return True


def _bounds(vc: VersionCompiler, table: TableIR) -> tuple[Decimal | None, Decimal | None]:
    combination = table.combination
    if combination is None:
        return None, None
    found: list[Decimal | None] = []
    for expr in (combination.at_least, combination.at_most):
        value = vc.policy.value(expr, vc.day) if expr is not None else None
        found.append(value.amounts[0] if isinstance(value, Val) else None)
    return found[0], found[1]


class _Entries:
    """The payload of each class of claims: (rate or None, note ids, step, spec, metas)."""

    def __init__(
        self,
        vc: VersionCompiler,
        table: TableIR,
        alias: TableIR | None,
        adjust: list[RowIR],
        bounds: tuple[Decimal | None, Decimal | None],
    ) -> None:
        self.vc = vc
        self.table = table
        self.alias = alias
        self.adjust = adjust
        self.bounds = bounds
        self.dynamic = False

    def payload(self, row: RowIR | None, facts: dict[str, Any]) -> Any:
        if row is None:
            return None
        vc, combination = self.vc, self.table.combination
        level = facts.get("level")
        base, base_meta = vc.figure(row, level)
        applying = [r for r in self.adjust if matches(r.conds, facts)]
        parts = [vc.figure(r, level) for r in applying]
        dated = vc.dated(self.table, facts)
        notes = vc.row_notes(row, *applying, dated=dated)
        notes += self.alias.alias_notes if self.alias else ()
        notes += combination.notes if combination is not None else ()
        metas = (base_meta, tuple(meta for _figure, meta in parts))
        dynamic = base_meta is not None or any(meta is not None for meta in metas[1])
        points = [figure for figure, _meta in parts]
        rate: Any
        final: Any
        if isinstance(base, BandsVal):  # adjustments do not apply to a banded ratio (check)
            rate, final, added, unclamped = vc.module.bands_function(base), base, ZERO, ZERO
        elif dynamic:
            self.dynamic = True
            rate, final, added, unclamped = None, None, None, None
        else:
            largest = combination is not None and combination.rule == "largest" and points
            added = max(points) if largest else sum(points, ZERO)
            unclamped = base + added
            rate = final = self.held(unclamped)
        step = self.step(row, base, applying, points, final, added, unclamped, (level, dated))
        spec = None
        if rate is None:
            how = combination.rule if combination is not None else None
            spec = (base, tuple(points), how, *self.bounds)
        return (rate, vc.note_ids(*notes), step if vc.trace else None, spec, metas)

    def held(self, rate: Decimal) -> Decimal:
        at_least, at_most = self.bounds
        if at_least is not None and rate < at_least:
            rate = at_least
        if at_most is not None and rate > at_most:
            rate = at_most
        return rate

    def step(
        self,
        row: RowIR,
        base: Any,
        applying: list[RowIR],
        points: list[Any],
        final: Any,
        added: Decimal | None,
        unclamped: Decimal | None,
        claims: tuple[int | None, tuple[Note, ...]],
    ) -> RatioStep:
        """The step, a constant of the generated module copied into each trace (its keys
        come out sorted, as compile/writer.literal writes every dict); where a figure reads
        the claim's facts, a template whose figures the run time fills (text left empty).
        `claims`: the class's hospital level and the provisional dates its lookup passed."""
        level, dated = claims
        adjustments: list[RatioAdjustment] = [
            {"rule": r.location, "points": _text(p), "source": r.origin.as_json()}
            for r, p in zip(applying, points, strict=True)
        ]
        step: RatioStep = {
            "step": "ratio",
            "form": "bands" if isinstance(base, BandsVal) else "rate",
            "rule": row.location,
            "source": row.origin.as_json(),
            "figures": {
                "base": _text(base),
                "alias": self.alias.alias_step() if self.alias else None,
                "adjustments": adjustments,
            },
            "value": _text(final),
            "composition": self.vc.policy.composition(row, self.vc.day, level),
            "provisional": self.vc.step_notes(row, *applying, dated=dated),
        }
        combination = self.table.combination
        if combination is not None and not isinstance(base, BandsVal):
            at_least, at_most = self.bounds
            found: RatioCombination = {
                "how": "largest" if combination.rule == "largest" else "sum",
                "points": _text(added),
                "unclamped": _text(unclamped),
                "at_least": ratio_text(at_least) if at_least is not None else None,
                "at_most": ratio_text(at_most) if at_most is not None else None,
                "rule": combination.location,
                "source": combination.origin.as_json(),
            }
            step["figures"]["combination"] = found
        return step


def _text(value: Any) -> str:
    """A constant's text; a figure the run time computes is filled in there (`Raw`)."""
    if isinstance(value, BandsVal):
        return value.describe()
    if value is None or isinstance(value, Raw):
        return ""
    return ratio_text(value)
