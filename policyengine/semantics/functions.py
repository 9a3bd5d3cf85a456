"""The functions a figure may call — their one home: the names pass checks a call's name and
number of values against FUNCTIONS, figures.py evaluates them here, over constant values
(`Val`, folded at once) or figures that depend on the claim (`Formula`, formula.py).

    min(a, b, …), max(a, b, …)   the least / greatest, all of one unit
    floor(x)                     a count rounded down to a whole number
    round(x)                     money rounded half-up to the policy's unit (the fen or jiao)
    at_level(X, n)               a `by level` figure X at hospital level n (clamped to 1..3,
                                 a fraction rounded down): one level down is `level − 1`
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policyengine.semantics import formula as f
from policyengine.semantics.values import Formula, Val, lift, unit_word
from policyengine.semantics.vocabulary import MoneyUnit


@dataclass(frozen=True)
class FunctionSpec:
    arity: tuple[int, int | None]  # least and most values (None: any number)
    words: str  # what it takes, for messages: "a count"
    meaning: str


FUNCTIONS = {
    "min": FunctionSpec((1, None), "values of one unit", "the least of its values"),
    "max": FunctionSpec((1, None), "values of one unit", "the greatest of its values"),
    "floor": FunctionSpec((1, 1), "a count", "a count rounded down to a whole number"),
    "round": FunctionSpec((1, 1), "money", "money rounded half-up to the policy's unit"),
    "at_level": FunctionSpec(
        (2, 2), "a `by level` figure and a level", "a `by level` figure at a hospital level"
    ),
}


class CallError(Exception):
    """A call the units or the number of values forbid (figures.py reports its span)."""


class UnknownCall(CallError):
    """An unknown function, or the wrong number of values: the names pass reports it."""


def arity_problem(name: str, count: int) -> str | None:
    """Why `name` cannot take `count` values, or None."""
    spec = FUNCTIONS[name]
    low, high = spec.arity
    if count < low or (high is not None and count > high):
        many = f"{low}" if low == high else f"at least {low}"
        return f"`{name}` takes {many} value{'s' if low != 1 or high != low else ''}, not {count}"
    return None


def call(name: str, args: Sequence[Val | Formula], unit: MoneyUnit) -> Val | Formula:
    """The function's value; raises CallError for units or numbers of values it refuses."""
    if name not in FUNCTIONS:
        raise UnknownCall(f"unknown function `{name}`")
    problem = arity_problem(name, len(args))
    if problem:
        raise UnknownCall(problem)
    if any(a.unit in ("none", "bands") for a in args):
        raise CallError(f"`{name}` cannot take `none` or a `bands` block")
    if name in ("min", "max"):
        return _extreme(name, args)
    if name == "at_level":
        return _at_level(args[0], args[1])
    arg = args[0]
    wanted = "count" if name == "floor" else "money"
    if arg.unit != wanted:
        raise CallError(f"`{name}` takes {FUNCTIONS[name].words}, not {unit_word(arg.unit)}")
    if isinstance(arg, Val):
        amounts = tuple(f.value(f.Call(name, (f.Const(a),)), {}, unit) for a in arg.amounts)
        return Val(arg.unit, amounts)
    return Formula(arg.unit, f.fold(f.Call(name, (arg.node,)), unit))


def _extreme(name: str, args: Sequence[Val | Formula]) -> Val | Formula:
    units = {a.unit for a in args}
    if len(units) != 1:
        listed = ", ".join(unit_word(a.unit) for a in args)
        raise CallError(f"`{name}` takes values of one unit, not {listed}")
    unit = args[0].unit
    pick = min if name == "min" else max
    if all(isinstance(a, Val) for a in args):
        values = [a for a in args if isinstance(a, Val)]
        if any(v.by_level for v in values):
            return Val(unit, tuple(pick(v.at_level(level) for v in values) for level in (1, 2, 3)))
        return Val(unit, (pick(v.amounts[0] for v in values),))
    return Formula(unit, f.fold(f.Call(name, tuple(lift(a) for a in args))))


def _at_level(figure: Val | Formula, level: Val | Formula) -> Val | Formula:
    if level.unit != "count":
        raise CallError(f"`at_level` takes a level (a count), not {unit_word(level.unit)}")
    if isinstance(figure, Val) and not figure.by_level:
        return figure  # the same at every level
    if isinstance(figure, Val) and isinstance(level, Val) and not level.by_level:
        return Val(figure.unit, (figure.amounts[f.level_index(level.amounts[0])],))
    node = f.with_level(lift(figure), lift(level))
    return Formula(figure.unit, f.fold(node))
