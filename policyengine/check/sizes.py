"""Size limits of figures, for the pass `units`: a figure is computed by recursion through the
figures it names, so its nesting and its number of terms with those figures written out are
bounded (P006) before anything evaluates it.
"""

from __future__ import annotations

from policyengine import nodes as n
from policyengine.check.context import CheckContext

# A figure is computed by recursion through the figures it names (here, in ir.py, in the
# compiler and the interpreter), unmemoised: its nesting, with the figures it names
# written out, stays well inside Python's recursion limit, and so does the number of terms
# (`let a2 = a1 + a1`, `let a3 = a2 + a2`, … doubles at each step). A bundled figure nests
# 3 levels and has at most 3 terms.
MAX_FIGURE_NESTING = 200
MAX_FIGURE_TERMS = 10_000


class TooLarge(Exception):
    """A row's or parameter's value over MAX_FIGURE_TERMS with its figures written out."""


def check_terms(ctx: CheckContext, expr: n.Value) -> None:
    """Raise TooLarge if `expr`, its figures written out, has more than MAX_FIGURE_TERMS
    terms (the figures themselves are checked by `check_sizes`): the products of so many
    terms would overflow Decimal's exponents."""
    terms = _combine([_shape(expr)], ctx.figure_sizes)[1]
    if terms > MAX_FIGURE_TERMS:
        raise TooLarge(
            f"this value has more than {MAX_FIGURE_TERMS:,} terms with the figures it uses "
            "written out"
        )


def check_sizes(ctx: CheckContext) -> None:
    """Report the figures over MAX_FIGURE_NESTING or MAX_FIGURE_TERMS (only the first of a
    chain: the figures built on one are over the limits because of it)."""
    sizes = ctx.figure_sizes = _figure_sizes(ctx)
    ctx.oversized = {
        name
        for name, (nesting, terms) in sizes.items()
        if nesting > MAX_FIGURE_NESTING or terms > MAX_FIGURE_TERMS
    }
    for name in sorted(ctx.oversized):
        refs = {ref for v in ctx.lets[name] for ref, _depth in _shape(v.value)[1]}
        if refs & ctx.oversized:
            continue
        nesting = sizes[name][0]
        ctx.diags.error(
            "P006",
            f"figure `{name}` nests more than {MAX_FIGURE_NESTING} levels deep with the "
            "figures it uses written out"
            if nesting > MAX_FIGURE_NESTING
            else f"figure `{name}` has more than {MAX_FIGURE_TERMS:,} terms with the figures "
            "it uses written out",
            ctx.lets[name][0].span,
            hint="define it from fewer figures, or state its value",
        )


def _figure_sizes(ctx: CheckContext) -> dict[str, tuple[int, int]]:
    """Figure → (nesting, terms) with the figures it uses written out, the larger over its
    versions; both capped just above their limits. Found bottom-up without recursion, since
    a chain of figures may be as long as the rule files allow; a cycle (reported by the
    typing) counts as a single term."""
    shapes = {name: [_shape(v.value) for v in versions] for name, versions in ctx.lets.items()}
    sizes: dict[str, tuple[int, int]] = {}
    started: set[str] = set()
    for root in shapes:
        pending = [(root, False)]
        while pending:
            name, children_done = pending.pop()
            if name in sizes:
                continue
            if children_done:
                sizes[name] = _combine(shapes[name], sizes)
            elif name not in started:  # started and not done: a cycle back to it
                started.add(name)
                pending.append((name, True))
                pending.extend(
                    (ref, False)
                    for _leaves, refs, _nesting in shapes[name]
                    for ref, _depth in refs
                    if ref in shapes and ref not in sizes
                )
    return sizes


def _combine(
    shapes: list[tuple[int, list[tuple[str, int]], int]], sizes: dict[str, tuple[int, int]]
) -> tuple[int, int]:
    nesting = terms = 0
    for leaves, refs, depth in shapes:
        used = [(sizes.get(ref, (0, 1)), at) for ref, at in refs]
        nesting = max(nesting, depth, *(at + 2 + sub for (sub, _t), at in used))
        terms = max(terms, leaves + sum(sub_terms for (_n, sub_terms), _at in used))
    return min(nesting, MAX_FIGURE_NESTING + 1), min(terms, MAX_FIGURE_TERMS + 1)


def _shape(value: n.Value) -> tuple[int, list[tuple[str, int]], int]:
    """(terms other than figures, [(figure, depth at which it is named)], depth)."""
    leaves = 0
    refs: list[tuple[str, int]] = []
    deepest = 0
    pending: list[tuple[n.Value | None, int]] = [(value, 1)]
    while pending:
        expr, depth = pending.pop()
        if expr is None:
            continue
        deepest = max(deepest, depth)
        if isinstance(expr, n.Ref):
            refs.append((expr.name, depth))
        elif isinstance(expr, n.BinOp):
            pending += [(expr.left, depth + 1), (expr.right, depth + 1)]
        elif isinstance(expr, n.ByLevel):
            pending += [(item, depth + 1) for item in expr.items]
        elif isinstance(expr, n.Neg):
            pending.append((expr.arg, depth + 1))
        elif isinstance(expr, n.Call):
            pending += [(arg, depth + 1) for arg in expr.args]
        elif isinstance(expr, n.Bands):
            pending += [
                (part, depth + 1) for s in expr.statements for part in (s.low, s.high, s.rate)
            ]
        else:
            leaves += 1
    return leaves, refs, deepest
