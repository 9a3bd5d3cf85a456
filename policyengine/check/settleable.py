"""Pass `settleable`: a policy that declares itself `complete` can settle every visit type.

A visit type needs a deductible and a ratio table, unless a claim-level rule that excludes
or rejects the claim applies to every visit of that type (then nothing is ever covered and
no figure is needed). Otherwise such a claim would fail at run time (RuleFailure).
"""

from __future__ import annotations

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.semantics.vocabulary import VISITS


def run(ctx: CheckContext) -> None:
    if ctx.policy is None or not ctx.policy.complete:
        return
    ratios = {name for kind, name in ctx.tables if kind == "ratio"}
    deductibles = {name for kind, name in ctx.tables if kind == "deductible"}
    for visit in VISITS:
        missing = [
            what
            for what, names in (("deductible", deductibles), ("ratio", ratios))
            if visit not in names
        ]
        if missing and not _always_refused(ctx, visit):
            ctx.diags.error(
                "R005",
                f"{visit} visits cannot be settled: "
                f"the policy has no {' and no '.join(missing)} for them",
                ctx.policy.span,
                hint=f"add `{missing[0]} {visit} …`, or a claim-level rule (`scope claim`, "
                f"`action exclude`) `when visit {visit}` if the policy does not cover such visits",
            )


def _always_refused(ctx: CheckContext, visit: str) -> bool:
    """A claim-level exclude/reject rule applies to every visit of this type at all dates."""
    for rule in ctx.rules:
        if rule.action not in ("exclude", "reject") or rule.dates is not None:
            continue
        scope = rule.param("scope")
        claim_level = scope is not None and any(
            isinstance(a, n.Ref) and a.name == "claim" for a in scope.args
        )
        if rule.kind != "restricted_use" or not claim_level:
            continue  # only an unconditional visit restriction refuses every such claim
        for alternative in rule.when:
            conds = ctx.conds.get(id(alternative), ())
            if (
                len(conds) == 1
                and conds[0].key == "visit"
                and not conds[0].negated
                and visit in conds[0].names
            ):
                return True
    return False
