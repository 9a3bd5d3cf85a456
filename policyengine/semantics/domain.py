"""What a `when` means, and the finite set of claim classes it can tell apart.

A claim's facts for matching are a `Facts` mapping of the facts semantics/facts.py declares:
words and whole numbers, and sets of names (group, diagnosis, certified: the names the
claim has). `matches` is the single definition of a `when`; the checker
enumerates `cases` — every combination of the values the rows mention — to find
overlapping rows, gaps and incomplete tables exhaustively.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from policyengine.ir import CondIR, Note, RowIR
from policyengine.semantics.facts import FACTS, SET_FACTS

Facts = Mapping[str, Any]
SET_KEYS = SET_FACTS
MAX_CASES = 50_000


def matches(conds: Iterable[CondIR], facts: Facts) -> bool:
    return all(cond_matches(cond, facts.get(cond.key)) for cond in conds)


def dated_out(rows: Iterable[RowIR], day: dt.date, facts: Facts) -> tuple[Note, ...]:
    """The notes on the provisional dates of the rows that match the claim but are not in
    force on `day`: those dates decided that the row does not apply, so they shaped the
    result as much as the dates of the row that does (the epidemic period's 90 days)."""
    return tuple(
        note
        for row in rows
        if row.date_notes and not row.active(day) and matches(row.conds, facts)
        for note in row.date_notes
    )


def cond_matches(cond: CondIR, value: Any) -> bool:
    if cond.key in SET_KEYS:
        hit = bool(cond.names & value) if value else False
    elif cond.ranges:
        hit = value is not None and any(low <= value <= high for low, high in cond.ranges)
    else:
        hit = value in cond.names
    return hit != cond.negated


def describe(conds: Iterable[CondIR]) -> str:
    parts = []
    for cond in conds:
        values = sorted(cond.names) + [
            str(low) if low == high else f"{low}..{high}" for low, high in cond.ranges
        ]
        parts.append(f"{cond.key} {'not ' if cond.negated else ''}{' or '.join(values)}")
    return ", ".join(parts) if parts else "always"


def describe_case(case: Facts) -> str:
    parts = []
    for key, value in case.items():
        if key in SET_KEYS:
            shown = " and ".join(sorted(value)) if value else "none"
            parts.append(f"{key} {shown}")
        elif value is not None:
            parts.append(f"{key} {value}")
    return ", ".join(parts) if parts else "every claim"


def cases(
    condition_lists: Iterable[Iterable[CondIR]],
    *,
    extra_keys: Iterable[str] = (),
    visits: Iterable[str] | None = None,
    declared: Mapping[str, tuple[Any, ...]] | None = None,
) -> list[dict[str, Any]]:
    """Every combination of the values the conditions distinguish (bounded)."""
    mentioned: dict[str, set[Any]] = {}
    for conds in condition_lists:
        for cond in conds:
            bucket = mentioned.setdefault(cond.key, set())
            bucket.update(cond.names)
            bucket.update(cond.ranges)
    for key in extra_keys:
        mentioned.setdefault(key, set())
    for key in list(mentioned):  # a fact that exists only for some values of another
        fact = FACTS.get(key)  # an unknown key is the names pass's N001, not a crash here
        dependency = fact.only_when if fact is not None else None
        if dependency is not None:
            mentioned.setdefault(dependency[0], set())
    keys = [key for key in FACTS if key in mentioned]
    words = declared or {}
    # Count before building the axes: a set key of n names has 2ⁿ values.
    total = 1
    for key in keys:
        total *= max(FACTS[key].axis_size(mentioned[key], visits, words.get(key)), 1)
        if total > MAX_CASES:
            raise ValueError(
                f"the conditions distinguish more than {MAX_CASES:,} classes of claims"
            )
    axes = [(key, FACTS[key].axis(mentioned[key], visits, words.get(key))) for key in keys]
    out = []
    for combo in itertools.product(*(values for _key, values in axes)):
        case = dict(zip((key for key, _v in axes), combo, strict=True))
        if _consistent(case):
            out.append(case)
    return out


def _consistent(case: Mapping[str, Any]) -> bool:
    """A fact that exists only for some values of another (status for employees, admission
    order for inpatient visits) is None exactly where the other has none of them."""
    for key, value in case.items():
        dependency = FACTS[key].only_when
        if dependency is None or dependency[0] not in case:
            continue
        if (value is None) == (case[dependency[0]] in dependency[1]):
            return False
    return True


def iter_pairs(items: list[Any]) -> Iterator[tuple[Any, Any]]:
    return itertools.combinations(items, 2)
