"""Resolve a decision table, for one version of the policy, into a dict keyed by claim facts.

For every class of claims the active rows distinguish (domain.cases), the winning row is
found once, at compile time, and its value folded for the hospital level. At run time a
lookup is one `dict.get` on a tuple of the claim's facts.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from policyengine.ir import PolicyIR, RowIR
from policyengine.semantics.domain import SET_KEYS, cases, matches
from policyengine.semantics.facts import FACTS
from policyengine.semantics.formula import Const, partial
from policyengine.semantics.values import BandsVal, Formula, Val, Value


class CompileError(Exception):
    pass


@dataclass(frozen=True)
class Resolved:
    """A table at one version: its key (fact names in order) and entries key → payload."""

    keys: tuple[str, ...]
    set_masks: dict[str, frozenset[str]]  # for set facts: the names the rows mention
    breaks: dict[str, tuple[int, ...]]  # for ranged whole numbers (age): where classes start
    entries: dict[tuple[Any, ...], Any]
    # for open words (a department): the words the rows name; any other word is None's class
    named: dict[str, frozenset[str]] = field(default_factory=dict)

    def key_source(self, constant: Any) -> str:
        """Python source building this table's key from the generated function's locals."""
        parts = []
        for key in self.keys:
            var = FACTS[key].var
            if key in SET_KEYS:
                parts.append(f"({var} & {constant(self.set_masks[key])})")
            elif key in self.breaks:
                breaks = constant(self.breaks[key])
                bucket = f"{breaks}[_bisect({breaks}, {var}) - 1]"
                if FACTS[key].only_when is not None:  # None where the fact does not exist
                    bucket = f"({bucket} if {var} is not None else None)"
                parts.append(bucket)
            elif key in self.named:
                parts.append(f"({var} if {var} in {constant(self.named[key])} else None)")
            else:
                parts.append(var)
        if len(parts) == 1:
            return f"({parts[0]},)"
        return "(" + ", ".join(parts) + ")"


def winner(rows: list[RowIR], facts: dict[str, Any]) -> RowIR | None:
    live = [r for r in rows if matches(r.conds, facts)]
    live = [r for r in live if not any(r.id in other.overrides for other in live)]
    if len(live) > 1:
        raise CompileError(f"rows {', '.join(r.location for r in live)} conflict")
    return live[0] if live else None


def level_of(value: Value, level: int | None) -> Any:
    """The value for a class of claims at `level`: a Decimal, a `bands` schedule, None for
    `none` — or, for a figure that reads other facts of the claim, a Formula."""
    if isinstance(value, BandsVal):
        return value.at_level(level or 1)
    if isinstance(value, Formula):
        node = partial(value.node, {"level": level} if level is not None else {})
        return node.value if isinstance(node, Const) else Formula(value.unit, node)
    if not value.amounts:
        return None  # `none`
    return value.at_level(level or 1)


def needs_level(policy: PolicyIR, rows: list[RowIR], day: dt.date) -> bool:
    for row in rows:
        value = policy.value(row.expr, day)
        if isinstance(value, Val | BandsVal) and value.by_level:
            return True
        if isinstance(value, Formula) and "level" in value.atoms:
            return True
    return False


def resolve(
    policy: PolicyIR,
    rows: list[RowIR],
    day: dt.date,
    payload: Any,
    *,
    visits: tuple[str, ...] | None = None,
    extra_rows: list[RowIR] = (),  # type: ignore[assignment]
) -> Resolved:
    """`payload(row, facts)` gives the entry for the winning row of each class of claims."""
    active = [r for r in rows if r.active(day)]
    everything = active + [r for r in extra_rows if r.active(day)]
    extra = ("level",) if needs_level(policy, everything, day) else ()
    # rows out of force with provisional dates: the classes tell apart the claims they match,
    # whose results those dates shaped (domain.dated_out; the payload lists their notes)
    dated = [r for r in (*rows, *extra_rows) if r.date_notes and not r.active(day)]
    everything += dated
    classes = cases(
        [r.conds for r in everything], extra_keys=extra, visits=visits, declared=policy.declared
    )
    keys = tuple(classes[0].keys()) if classes else ()
    masks = {
        key: frozenset(
            name for r in everything for c in r.conds if c.key == key for name in c.names
        )
        for key in keys
        if key in SET_KEYS
    }
    breaks = {
        key: tuple(sorted({facts[key] for facts in classes}))
        for key in keys
        if FACTS[key].kind == "integer" and FACTS[key].values is None
    }
    named = {
        key: frozenset(
            name for r in everything for c in r.conds if c.key == key for name in c.names
        )
        for key in keys
        if FACTS[key].kind == "word" and FACTS[key].values is None and not FACTS[key].declared
    }
    entries: dict[tuple[Any, ...], Any] = {}
    for facts in classes:
        row = winner(active, facts)
        entry = payload(row, facts)
        if entry is not None:
            entries[tuple(facts[k] for k in keys)] = entry
    return Resolved(keys, masks, breaks, entries, named)


def age_bucket(breaks: tuple[int, ...], age: int) -> int:
    return breaks[bisect.bisect_right(breaks, age) - 1]
