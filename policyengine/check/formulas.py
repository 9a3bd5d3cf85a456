"""Figures that depend on the claim (semantics/formula.py), for the passes `units` and
`tables`: the range such a figure can take — by interval arithmetic over the domains of the
facts it reads, narrowed by the row's own `when` — so that units and bounds (T003) are checked
before anything runs; and the facts a row must make sure a claim has (`referring_level`
exists only for a referred visit).
"""

from __future__ import annotations

from decimal import Decimal

from policyengine.check.context import CheckContext
from policyengine.ir import CondIR
from policyengine.semantics import formula as f
from policyengine.semantics.facts import ATOMS
from policyengine.semantics.values import Formula, Val


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
