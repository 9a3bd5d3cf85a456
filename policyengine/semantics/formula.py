"""Figures that depend on the claim: a small arithmetic over the claim's whole-number facts.

A figure such as `2 pt × max(0, floor((age − 40) ÷ 10))` cannot be folded into a constant:
figures.py evaluates it into a `Formula` — its unit and a tree of these nodes, the constant
parts already folded. The tree is read three ways:

- `value(node, facts, unit)` — its value for a claim (both evaluators; the compiler folds
  what it knows at compile time with `partial`, e.g. the hospital level of a table's class);
- `bounds(node, domains)` — the range it can take over the facts' domains (interval
  arithmetic), so that the checker checks units and bounds (T003) before anything runs;
- compile/formulas.py writes it as Python for the generated code.

Arithmetic runs in the settlement's context (money.CONTEXT, 34 digits), so a quotient is the
same whoever computes it; `round` rounds money half-up to the policy's unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

from policyengine.semantics.money import CONTEXT, to_unit
from policyengine.semantics.vocabulary import LEVELS, MoneyUnit

FIRST_LEVEL, LAST_LEVEL = Decimal(min(LEVELS)), Decimal(max(LEVELS))


@dataclass(frozen=True)
class Const:
    value: Decimal


@dataclass(frozen=True)
class Atom:
    """A whole-number fact of the claim (facts.ATOMS): age, level, admission_rank, …"""

    name: str


@dataclass(frozen=True)
class Op:
    op: str  # "+", "-", "×", "÷"
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    fn: str  # "min", "max", "floor", "round"
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Neg:
    arg: Node


@dataclass(frozen=True)
class Pick:
    """One of three values by a hospital level: `by level a / b / c` at the claim's level, or
    `at_level(X, n)` (the index clamped to 1..3, a fraction rounded down)."""

    options: tuple[Node, Node, Node]
    index: Node


Node = Const | Atom | Op | Call | Neg | Pick

Domains = Mapping[str, tuple[Decimal, Decimal]]


class DivisionByZero(ArithmeticError):
    pass


# ------------------------------------------------------------------ building


def fold(node: Node, unit: MoneyUnit = "fen") -> Node:
    """`node` with every part that reads no fact computed."""
    return partial(node, {}, unit)


def partial(node: Node, facts: Mapping[str, int], unit: MoneyUnit = "fen") -> Node:
    """`node` with the facts given substituted and what no longer reads a fact computed."""
    with localcontext(CONTEXT):
        return _partial(node, facts, unit)


def _partial(node: Node, facts: Mapping[str, int], unit: MoneyUnit) -> Node:
    if isinstance(node, Const):
        return node
    if isinstance(node, Atom):
        known = facts.get(node.name)
        return Const(Decimal(known)) if known is not None else node
    if isinstance(node, Op):
        left, right = _partial(node.left, facts, unit), _partial(node.right, facts, unit)
        if isinstance(left, Const) and isinstance(right, Const):
            return Const(_op(node.op, left.value, right.value))
        return Op(node.op, left, right)
    if isinstance(node, Call):
        args = tuple(_partial(a, facts, unit) for a in node.args)
        if all(isinstance(a, Const) for a in args):
            return Const(_call(node.fn, [a.value for a in args if isinstance(a, Const)], unit))
        return Call(node.fn, args)
    if isinstance(node, Neg):
        arg = _partial(node.arg, facts, unit)
        return Const(-arg.value) if isinstance(arg, Const) else Neg(arg)
    options = (
        _partial(node.options[0], facts, unit),
        _partial(node.options[1], facts, unit),
        _partial(node.options[2], facts, unit),
    )
    index = _partial(node.index, facts, unit)
    if isinstance(index, Const):
        return options[level_index(index.value)]
    return Pick(options, index)


def level_index(index: Decimal) -> int:
    """0, 1 or 2: the level `index` names, clamped to 1..3 (a fraction rounded down)."""
    whole = index.to_integral_value(ROUND_FLOOR)
    return int(min(max(whole, FIRST_LEVEL), LAST_LEVEL)) - 1


def with_level(node: Node, index: Node) -> Node:
    """`node` read at the level `index` instead of the claim's own: `at_level(X, n)`."""
    if isinstance(node, Atom):
        return (
            Call("max", (Const(FIRST_LEVEL), Call("min", (Const(LAST_LEVEL), index))))
            if (node.name == "level")
            else node
        )
    if isinstance(node, Op):
        return Op(node.op, with_level(node.left, index), with_level(node.right, index))
    if isinstance(node, Call):
        return Call(node.fn, tuple(with_level(a, index) for a in node.args))
    if isinstance(node, Neg):
        return Neg(with_level(node.arg, index))
    if isinstance(node, Pick):
        return Pick(
            (
                with_level(node.options[0], index),
                with_level(node.options[1], index),
                with_level(node.options[2], index),
            ),
            with_level(node.index, index),
        )
    return node


def atoms(node: Node) -> frozenset[str]:
    """The facts `node` reads."""
    if isinstance(node, Atom):
        return frozenset({node.name})
    if isinstance(node, Op):
        return atoms(node.left) | atoms(node.right)
    if isinstance(node, Call):
        return frozenset().union(*(atoms(a) for a in node.args))
    if isinstance(node, Neg):
        return atoms(node.arg)
    if isinstance(node, Pick):
        return frozenset().union(*(atoms(o) for o in node.options)) | atoms(node.index)
    return frozenset()


# ------------------------------------------------------------------ the value for a claim


def value(node: Node, facts: Mapping[str, int], unit: MoneyUnit = "fen") -> Decimal:
    """The value of `node` for a claim with these facts (every fact it reads given)."""
    done = partial(node, facts, unit)
    if not isinstance(done, Const):
        raise LookupError(f"facts not given: {', '.join(sorted(atoms(done)))}")
    return done.value


def _op(op: str, left: Decimal, right: Decimal) -> Decimal:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "×":
        return left * right
    if not right:
        raise DivisionByZero("division by zero")
    return left / right


def _call(fn: str, args: list[Decimal], unit: MoneyUnit) -> Decimal:
    if fn == "min":
        return min(args)
    if fn == "max":
        return max(args)
    if fn == "floor":
        return args[0].to_integral_value(ROUND_FLOOR)
    return to_unit(args[0], unit)  # round


# ------------------------------------------------------------------ the range it can take


def bounds(node: Node, domains: Domains, unit: MoneyUnit = "fen") -> tuple[Decimal, Decimal]:
    """The least and greatest value `node` can take with each fact within its domain (an
    interval that holds every value; where facts repeat it may be wider than the values).
    Raises DivisionByZero where a divisor's range holds zero."""
    with localcontext(CONTEXT):
        return _bounds(node, domains, unit)


def _bounds(node: Node, domains: Domains, unit: MoneyUnit) -> tuple[Decimal, Decimal]:
    if isinstance(node, Const):
        return node.value, node.value
    if isinstance(node, Atom):
        return domains[node.name]
    if isinstance(node, Op):
        low, high = _bounds(node.left, domains, unit)
        low2, high2 = _bounds(node.right, domains, unit)
        if node.op == "+":
            return low + low2, high + high2
        if node.op == "-":
            return low - high2, high - low2
        if node.op == "÷" and low2 <= 0 <= high2:
            raise DivisionByZero("the divisor can be zero")
        # a product or quotient is monotone in each operand over intervals without a zero
        # divisor, and so is its rounding: its extremes are those of the corners, rounded as
        # value() rounds them
        corners = [_op(node.op, a, b) for a in (low, high) for b in (low2, high2)]
        return min(corners), max(corners)
    if isinstance(node, Call):
        ranges = [_bounds(a, domains, unit) for a in node.args]
        if node.fn == "min":
            return min(r[0] for r in ranges), min(r[1] for r in ranges)
        if node.fn == "max":
            return max(r[0] for r in ranges), max(r[1] for r in ranges)
        low, high = ranges[0]
        return _call(node.fn, [low], unit), _call(node.fn, [high], unit)
    if isinstance(node, Neg):
        low, high = _bounds(node.arg, domains, unit)
        return -high, -low
    index_low, index_high = _bounds(node.index, domains, unit)
    chosen = range(level_index(index_low), level_index(index_high) + 1)
    ranges = [_bounds(node.options[i], domains, unit) for i in chosen]
    return min(r[0] for r in ranges), max(r[1] for r in ranges)
