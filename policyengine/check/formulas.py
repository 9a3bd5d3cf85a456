"""Figures that depend on the claim (semantics/formula.py), for the passes `units` and
`tables`: the range such a figure can take — by interval arithmetic over the domains of the
facts it reads, narrowed by the row's own `when` — so that units and bounds (T003) are checked
before anything runs; and the facts a row must make sure a claim has (`referring_level`
exists only for a referred visit), and which tables may hold such a figure at all.
"""

from __future__ import annotations

from decimal import Decimal

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.ir import CondIR
from policyengine.semantics import formula as f
from policyengine.semantics.facts import ATOMS
from policyengine.semantics.values import Formula, Val

# The tables whose figures may read the claim's facts (`age`, `level`, …): each is looked up
# for one claim (the units pass's kinds: a cap is yearly, `cap per visit`, `cap per day`; a
# `pre_self_pay` table is the default, a `named pre_self_pay` one an extra share such as
# 异地就医先行自付). A limit or a second layer's schedule is the year's, the same for every claim.
FORMULA_TABLES = frozenset(
    {
        "deductible",
        "ratio",
        "cap",
        "cap per visit",
        "cap per day",
        "fund_ceiling",
        "pre_self_pay",
        "named pre_self_pay",
    }
)
# Of those, the yearly amounts held against a sum of the year's claims (what the pools paid,
# what entered the fund): they may read the person's facts (`age`, `enrolled_years`), never
# a fact of the visit (`level`, `referring_level`, `admission_rank`: facts.Atom.of_visit) —
# else the claims of one year at different hospitals would hold the same sum to different
# amounts. A cap per visit or per day is this visit's, or this day's: it may read them all.
YEARLY_SUMS = {"cap": "what its pools paid", "fund_ceiling": "what entered its pools"}

# Why a table outside FORMULA_TABLES takes no figure of the claim's facts, where it is not
# that the figure is the year's (a limit, a second layer's schedule, a rule's parameter).
_CONSTANT_WHY = {
    "pre_self_pay ceiling": "is a constant of its row (not computed per claim yet)",
}


def domains(conds: tuple[CondIR, ...] = (), level: int | None = None) -> f.Domains:
    """Each fact's range: its declared bounds, narrowed by the row's `when` (a tested range
    of `age`, `level`, … that is not negated) and by the class's level where it is known."""
    out = {name: (Decimal(a.bounds[0]), Decimal(a.bounds[1])) for name, a in ATOMS.items()}
    for cond in conds:
        if cond.key in out and cond.ranges and not cond.negated:
            low, high = out[cond.key]
            tested_low = Decimal(min(r[0] for r in cond.ranges))
            tested_high = Decimal(max(r[1] for r in cond.ranges))
            out[cond.key] = (max(low, tested_low), min(high, tested_high))
    if level is not None:
        out["level"] = (Decimal(level), Decimal(level))
    return out


def value_range(
    value: Val | Formula, conds: tuple[CondIR, ...] = (), level: int | None = None
) -> tuple[Decimal, Decimal]:
    """The least and greatest the value can be (at `level`, if given). Raises
    formula.DivisionByZero where a divisor can be zero."""
    if isinstance(value, Val):
        amounts = [value.at_level(level)] if level is not None else list(value.amounts)
        return min(amounts), max(amounts)
    return f.bounds(value.node, domains(conds, level))


def missing_fact(ctx: CheckContext, value: Formula, conds: tuple[CondIR, ...]) -> str | None:
    """A fact the value reads that a claim the row matches may not have, with the `when`
    that makes sure it has (`referring_level`: `referral within_alliance or …`)."""
    for name in sorted(value.atoms):
        requires = ATOMS[name].requires
        if requires is None:
            continue
        key, values = requires
        tested = [c for c in conds if c.key == key and not c.negated]
        if not tested or not all(v in values for c in tested for v in c.names):
            return f"`{name}` exists only when `{key} {' or '.join(values)}`"
    del ctx
    return None


def formula_allowed(
    ctx: CheckContext, kind: str, value: Formula, conds: tuple[CondIR, ...], span: n.Span
) -> bool:
    """A figure of the claim's facts is a row of a table looked up per claim (a yearly one
    reading only the person's facts), whose `when` makes sure the claim has every fact it
    reads. Reports why not, and returns False, where it is not."""
    if kind not in FORMULA_TABLES:
        facts = ", ".join(f"`{a}`" for a in sorted(value.atoms))
        ctx.diags.error(
            "T002",
            f"a {kind} figure {_CONSTANT_WHY.get(kind, 'is the same for every claim')}: "
            f"it cannot read {facts}",
            span,
            hint="state the figure, or give the classes of claims their own rows with `when`",
        )
        return False
    visit_facts = sorted(name for name in value.atoms if ATOMS[name].of_visit)
    if kind in YEARLY_SUMS and visit_facts:
        facts = ", ".join(f"`{name}`" for name in visit_facts)
        ctx.diags.error(
            "T002",
            f"a {kind} is yearly, held against {YEARLY_SUMS[kind]} this year: it cannot read "
            f"{facts}, a fact of the visit, not of the person",
            span,
            hint="it may read `age` and `enrolled_years`"
            + ("; a cap of each visit is a `cap … per visit`" if kind == "cap" else ""),
        )
        return False
    missing = missing_fact(ctx, value, conds)
    if missing is not None:
        ctx.diags.error(
            "N005",
            f"this figure reads a fact some claims this row matches do not have: {missing}",
            span,
            hint="test it in the row's `when`",
        )
        return False
    return True
