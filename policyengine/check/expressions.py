"""Part of pass `names`: what figure expressions name besides figures — the functions they
call (semantics/functions.py: a known name, the right number of values), the facts of the
claim they read (semantics/facts.py ATOMS: no figure may take such a name), and a ratio
table's `adjustments` statement (said once, in a ratio table, `sum` or `largest`).
"""

from __future__ import annotations

from collections.abc import Iterator

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.diagnostics import suggestion
from policyengine.semantics.facts import ATOMS
from policyengine.semantics.functions import FUNCTIONS, arity_problem

COMBINATIONS = ("sum", "largest")


def calls_in(value: n.Value | None) -> Iterator[n.Call]:
    """Every function call in a value, outermost first."""
    pending: list[n.Value | None] = [value]
    while pending:
        expr = pending.pop()
        if isinstance(expr, n.Call):
            yield expr
            pending.extend(reversed(expr.args))
        elif isinstance(expr, n.BinOp):
            pending.extend((expr.right, expr.left))
        elif isinstance(expr, n.Neg):
            pending.append(expr.arg)
        elif isinstance(expr, n.ByLevel):
            pending.extend(reversed(expr.items))
        elif isinstance(expr, n.Bands):
            pending.extend(p for s in expr.statements for p in (s.rate, s.high, s.low))


def check_calls(ctx: CheckContext, value: n.Value | None) -> None:
    for found in calls_in(value):
        if found.fn not in FUNCTIONS:
            ctx.diags.error(
                "N001",
                f"unknown function `{found.fn}`",
                found.fn_span,
                hint=suggestion(found.fn, FUNCTIONS) or f"functions: {', '.join(FUNCTIONS)}",
            )
            continue
        problem = arity_problem(found.fn, len(found.args))
        if problem:
            ctx.diags.error(
                "T002",
                problem,
                found.span,
                hint=f"`{found.fn}` is {FUNCTIONS[found.fn].meaning}",
            )


def check_figure_name(ctx: CheckContext, decl: n.LetDecl) -> None:
    if decl.name in ATOMS:
        ctx.diags.error(
            "N001",
            f"`{decl.name}` is a fact of the claim: a figure cannot take its name",
            decl.span,
            hint=f"`{decl.name}` is {ATOMS[decl.name].meaning}; name the figure otherwise",
        )


def check_combination(ctx: CheckContext, decl: n.TableDecl) -> None:
    combination = decl.combination
    if combination is None:
        return
    if decl.kind != "ratio":
        ctx.diags.error(
            "N004",
            f"`adjustments` is not a setting of a {decl.kind} table",
            combination.span,
            hint="it says how a ratio table's `adjust` rows combine",
        )
        return
    if decl.combinations > 1:
        ctx.diags.error("N002", f"ratio `{decl.name}` says `adjustments` twice", decl.span)
    if combination.rule not in COMBINATIONS:
        ctx.diags.error(
            "N001",
            f"unknown way to combine adjustments `{combination.rule}`",
            combination.rule_span,
            hint=suggestion(combination.rule, COMBINATIONS)
            or "`sum` adds every adjustment that applies, `largest` takes the largest",
        )
    for bound in (combination.at_most, combination.at_least):
        check_calls(ctx, bound)
