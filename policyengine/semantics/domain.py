"""What a `when` means, and the finite set of claim classes it can tell apart.

A claim's facts for matching are a `Facts` mapping: scalar keys (scheme, status, visit,
level, hospital_kind, admission, sex, age) and set keys (group, diagnosis, certified:
the names the claim has). `matches` is the single definition of a `when`; the checker
enumerates `cases` — every combination of the values the rows mention — to find
overlapping rows, gaps and incomplete tables exhaustively.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from policyengine.ir import CondIR
from policyengine.semantics.vocabulary import (
    ADMISSIONS,
    HOSPITAL_KINDS,
    LEVELS,
    SCHEMES,
    SEXES,
    STATUSES,
    VISITS,
)

Facts = Mapping[str, Any]
SET_KEYS = frozenset({"group", "diagnosis", "certified"})
MAX_CASES = 50_000


def matches(conds: Iterable[CondIR], facts: Facts) -> bool:
    return all(cond_matches(cond, facts.get(cond.key)) for cond in conds)


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
    if "status" in mentioned:
        mentioned.setdefault("scheme", set())
    if "admission" in mentioned:
        mentioned.setdefault("visit", set())
    keys = _ordered(mentioned)
    # Count before building the axes: a set key of n names has 2ⁿ values.
    total = 1
    for key in keys:
        total *= max(_axis_size(key, mentioned[key], visits), 1)
        if total > MAX_CASES:
            raise ValueError(
                f"the conditions distinguish more than {MAX_CASES:,} classes of claims"
            )
    axes = [(key, _axis(key, mentioned[key], visits)) for key in keys]
    out = []
    for combo in itertools.product(*(values for _key, values in axes)):
        case = dict(zip((key for key, _v in axes), combo, strict=True))
        if _consistent(case):
            out.append(case)
    return out


_ORDER = (
    "scheme",
    "status",
    "visit",
    "admission",
    "level",
    "hospital_kind",
    "group",
    "diagnosis",
    "certified",
    "sex",
    "age",
)


def _ordered(keys: Iterable[str]) -> list[str]:
    present = set(keys)
    return [k for k in _ORDER if k in present]


def _axis_size(key: str, mentioned: set[Any], visits: Iterable[str] | None) -> int:
    if key in SET_KEYS:
        return 1 << len({n for n in mentioned if isinstance(n, str)})
    return len(_axis(key, mentioned, visits))


def _axis(key: str, mentioned: set[Any], visits: Iterable[str] | None) -> list[Any]:
    if key in SET_KEYS:
        names = sorted(n for n in mentioned if isinstance(n, str))
        return [
            frozenset(c) for r in range(len(names) + 1) for c in itertools.combinations(names, r)
        ]
    if key == "age":
        points = {0, 150}
        for low, high in (m for m in mentioned if isinstance(m, tuple)):
            points.update({low, high + 1})
        return sorted(p for p in points if 0 <= p <= 150)
    fixed: dict[str, tuple[Any, ...]] = {
        "scheme": SCHEMES,
        "status": (*STATUSES, None),
        "visit": tuple(visits) if visits is not None else VISITS,
        "admission": (*ADMISSIONS, None),
        "level": LEVELS,
        "hospital_kind": HOSPITAL_KINDS,
        "sex": SEXES,
    }
    return list(fixed[key])


def _consistent(case: Mapping[str, Any]) -> bool:
    """Status exists for employees only; admission order for inpatient visits only."""
    if "status" in case and (case["status"] is None) != (case.get("scheme") == "resident"):
        return False
    if "admission" in case and "visit" in case:
        return bool((case["admission"] is None) != (case["visit"] == "inpatient"))
    return True


def iter_pairs(items: list[Any]) -> Iterator[tuple[Any, Any]]:
    return itertools.combinations(items, 2)
