"""Pass `rules`: finding rules are complete and do not conflict.

Each rule has a known action, the parameters its kind requires, and a programme where
its kind needs one. Two rules of a kind where only one may apply (every kind but
`not_covered` and `restricted_use`, which list independent reasons) must not both apply
to the same claim on the same day; a rule replacing a layer's rule says `overrides`. A row
of a rule's table must not apply to a visit type the kind never checks (R006: an
`excess_supply` row for inpatient claims, which the claims spec does not check).
"""

from __future__ import annotations

import itertools

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.check.dates import interval, overlap_start
from policyengine.check.names import misspelled_keyword
from policyengine.check.units import check_param
from policyengine.diagnostics import Related, suggestion
from policyengine.ir import CondIR
from policyengine.semantics.domain import cases, describe_case, matches
from policyengine.semantics.facts import FACTS
from policyengine.semantics.vocabulary import ACTIONS, FINDING_KINDS, PROGRAMMES, VISITS

# Rules of a single-instance kind are compared pairwise over the classes of claims their
# `when`s distinguish: a bundled policy has at most 3 of a kind, and a few dozen classes.
MAX_RULES_OF_A_KIND = 200
MAX_CONFLICT_WORK = 1_000_000  # classes of claims looked at, over the pairs of one kind


def run(ctx: CheckContext) -> None:
    for rule in ctx.rules:
        _check_rule(ctx, rule)
    _check_conflicts(ctx)


def _check_rule(ctx: CheckContext, rule: n.RuleDecl) -> None:
    spec = FINDING_KINDS.get(rule.kind)
    if spec is None:
        return  # reported by the names pass
    # `acton exclude` was reported as a misspelled keyword (names pass): no "has no action"
    known = (*spec.params, *spec.tables)
    typos = {misspelled_keyword(p.name, known) for p in rule.params}
    if rule.action is None:
        if "action" not in typos:
            ctx.diags.error(
                "N005",
                f"rule `{rule.name}` has no action",
                rule.span,
                hint=f"add `action` with one of: {', '.join(ACTIONS)}",
            )
    elif rule.action not in ACTIONS:
        ctx.diags.error(
            "N001",
            f"unknown action `{rule.action}`",
            rule.action_span or rule.span,
            hint=suggestion(rule.action, ACTIONS) or f"actions: {', '.join(ACTIONS)}",
        )
    if spec.needs_programme and rule.programme is None:
        if "programme" not in typos:
            ctx.diags.error(
                "N005",
                f"`{rule.kind}` rule `{rule.name}` needs `programme` ({' or '.join(PROGRAMMES)})",
                rule.span,
            )
    elif rule.programme is not None and rule.programme not in PROGRAMMES:
        ctx.diags.error(
            "N001",
            f"unknown programme `{rule.programme}`",
            rule.span,
            hint=suggestion(rule.programme, PROGRAMMES),
        )
    for name, param_spec in spec.params.items():
        if param_spec.required and rule.param(name) is None:
            ctx.diags.error("N005", f"`{rule.kind}` rule `{rule.name}` needs `{name}`", rule.span)
    for name in spec.tables:
        if rule.table(name) is None:
            ctx.diags.error(
                "N005",
                f"`{rule.kind}` rule `{rule.name}` needs a `{name} {{ … }}` table",
                rule.span,
            )
    _check_scope(ctx, rule)
    _check_period(ctx, rule)
    _check_unchecked_visits(ctx, rule)


# The facts that decide a claim's visit type: `visit`, and those that exist only for some
# visit types (`admission`, `admission_rank`: inpatient). The others are independent of it.
_VISIT_KEYS = frozenset(
    key
    for key, fact in FACTS.items()
    if key == "visit" or (fact.only_when is not None and fact.only_when[0] == "visit")
)


def _check_unchecked_visits(ctx: CheckContext, rule: n.RuleDecl) -> None:
    """A row of the rule's tables that applies, with the rule's `when`, to a visit type the
    kind never checks: refused, so that no such claim's lines are flagged (R006)."""
    unchecked = FINDING_KINDS[rule.kind].unchecked_visits
    if not unchecked or any(id(w) in ctx.unresolved for w in rule.when):
        return
    alternatives = [_visit_conds(ctx.conds.get(id(w), ())) for w in rule.when] or [()]
    for table in rule.tables:
        for row in table.rows:
            if id(row) in ctx.unresolved:
                continue
            own = _visit_conds(ctx.conds.get(id(row), ()))
            visits = sorted(
                {
                    case["visit"]
                    for case in cases([own, *alternatives], extra_keys=("visit",))
                    if case["visit"] in unchecked
                    and matches(own, case)
                    and any(matches(a, case) for a in alternatives)
                }
            )
            if visits:
                ctx.diags.error(
                    "R006",
                    f"this row of `{table.name}` of rule `{rule.name}` applies to "
                    f"{' and '.join(visits)} visits, which `{rule.kind}` does not check",
                    row.span,
                    hint=_unchecked_hint(rule.kind),
                )


def _visit_conds(conds: tuple[CondIR, ...]) -> tuple[CondIR, ...]:
    return tuple(cond for cond in conds if cond.key in _VISIT_KEYS)


def _unchecked_hint(kind: str) -> str:
    spec = FINDING_KINDS[kind]
    checked = [visit for visit in VISITS if visit not in spec.unchecked_visits]
    return (
        f"{spec.en} is not checked on {' or '.join(spec.unchecked_visits)} claims: limit the "
        f"row or the rule to the visits it checks (`when visit {' or '.join(checked)}`)"
    )


def _check_period(ctx: CheckContext, rule: n.RuleDecl) -> None:
    """`per` names one period (a limit's total is over one thing)."""
    per = rule.param("per")
    spec = FINDING_KINDS[rule.kind].params.get("per")
    if per is None or spec is None:
        return
    if len(per.args) != 1:
        ctx.diags.error("T002", f"`per` takes one value: {' or '.join(spec.choices)}", per.span)


def _check_scope(ctx: CheckContext, rule: n.RuleDecl) -> None:
    scope = rule.param("scope")
    if scope is None or rule.kind != "restricted_use":
        return
    spec = FINDING_KINDS[rule.kind].params["scope"]
    values = check_param(ctx, scope, spec)
    if len(values) != 1:
        ctx.diags.error("T002", "`scope` is `line` or `claim`", scope.span)
    elif values[0] == "claim" and not rule.when:
        ctx.diags.error(
            "N005",
            f"claim-level rule `{rule.name}` needs `when`: the visits it restricts",
            rule.span,
        )
    elif values[0] == "line" and rule.param("checks") is None:
        ctx.diags.error("N005", f"line-level rule `{rule.name}` needs `checks`", rule.span)


def _check_conflicts(ctx: CheckContext) -> None:
    by_kind: dict[str, list[n.RuleDecl]] = {}
    for rule in ctx.rules:
        spec = FINDING_KINDS.get(rule.kind)
        if spec is not None and not spec.additive:
            by_kind.setdefault(rule.kind, []).append(rule)
    for kind, rules in by_kind.items():
        if len(rules) > MAX_RULES_OF_A_KIND:
            ctx.diags.error(
                "P006",
                f"{len(rules):,} `{kind}` rules are too many to check for conflicts "
                f"(limit {MAX_RULES_OF_A_KIND:,})",
                rules[MAX_RULES_OF_A_KIND].span,
            )
            continue
        work = 0
        for first, second in itertools.combinations(rules, 2):
            work += _check_pair(ctx, first, second)
            if work > MAX_CONFLICT_WORK:
                ctx.diags.error(
                    "P006",
                    f"the `{kind}` rules distinguish too many classes of claims to check "
                    f"them for conflicts (limit {MAX_CONFLICT_WORK:,} over all pairs)",
                    second.span,
                )
                break


def _check_pair(ctx: CheckContext, first: n.RuleDecl, second: n.RuleDecl) -> int:
    """Report a conflict of the two rules; the number of classes of claims looked at."""
    owners = (first, second, *first.when, *second.when)
    if any(id(owner) in ctx.unresolved for owner in owners):
        return 0  # a name or an override target did not resolve: reported already
    a_start, a_end = interval(first.dates)
    b_start, b_end = interval(second.dates)
    if max(a_start, b_start) > min(a_end, b_end):
        return 0
    alternatives_a = [ctx.conds.get(id(w), ()) for w in first.when] or [()]
    alternatives_b = [ctx.conds.get(id(w), ()) for w in second.when] or [()]
    try:
        classes = cases([*alternatives_a, *alternatives_b], declared=ctx.declared)
    except ValueError as error:
        ctx.diags.error(
            "R003",
            f"rules `{first.name}` and `{second.name}` ({first.kind}) cannot be checked for a "
            f"conflict: {error}",
            second.span,
            related=[Related(first.span, "the other rule")],
        )
        return 0
    for case in classes:
        if any(matches(a, case) for a in alternatives_a) and any(
            matches(b, case) for b in alternatives_b
        ):
            ctx.diags.error(
                "R003",
                f"rules `{first.name}` and `{second.name}` ({first.kind}) both apply to "
                f"{describe_case(case)} from "
                f"{overlap_start(ctx.start, max(a_start, b_start), min(a_end, b_end))}",
                second.span,
                related=[Related(first.span, "the other rule")],
                hint="narrow one with `when`/`effective`, "
                "or replace a layer's rule with `overrides`",
            )
            break
    return len(classes)
