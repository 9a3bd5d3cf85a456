"""Pass `names`: build the symbol tables, report duplicates and unknown names.

Resolves every `when` condition into a CondIR (key and values checked against the claim
contract's vocabulary), every figure reference against the `let`s, and every row label
an `overrides` names. Unknown words get a did-you-mean.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from policyengine import nodes as n
from policyengine.check.conditions import check_words, resolve_conds
from policyengine.check.context import CheckContext
from policyengine.check.expressions import check_calls, check_combination, check_figure_name
from policyengine.check.header import check_header
from policyengine.diagnostics import Related, did_you_mean, suggestion
from policyengine.semantics.facts import FACTS
from policyengine.semantics.vocabulary import (
    CAP_PERIODS,
    FINDING_KINDS,
    ITEM_KINDS,
    MOMENTS,
    PAID_POOLS,
    PERIODS,
    PROGRAMMES,
    TABLE_KINDS,
    TABLE_SETTINGS,
    VISITS,
)
from policyengine.span import Span

SOURCE_FIELDS = ("title", "number", "date", "file")
RESERVED = frozenset({"none", "always", "when", "policy", "not"})
_TABLE_NAMES = {
    "deductible": VISITS,
    "ratio": VISITS,
    "limit": VISITS,
    "second_layer": ("critical_illness",),
}
# The keywords that begin a statement of a rule body; anything else there is a parameter.
RULE_KEYWORDS = ("action", "when", "effective", "overrides", "programme")
_SETTING_WORDS = {
    "complete": "complete over",
    "pools": "pools",
    "programme": "programme",
    "self_burden": "self_burden",
    "alias": "as",
    "base": "base includes|excludes pre_self_pay",
    "items": "items",
}
# `base includes|excludes pre_self_pay`: whether the second layer's self-burden counts it
BASE_WORDS = ("includes", "excludes")


def run(ctx: CheckContext) -> None:
    _collect(ctx)
    for layer, decl in ctx.all_decls():
        if isinstance(decl, n.TableDecl):
            _check_table(ctx, decl)
        elif isinstance(decl, n.LetDecl):
            _check_refs(ctx, decl.value)
            check_calls(ctx, decl.value)
            check_figure_name(ctx, decl)
        elif isinstance(decl, n.SourceDecl):
            _check_source_fields(ctx, decl)
        elif isinstance(decl, n.MomentsDecl):
            check_words(ctx, decl.names, MOMENTS, "moment", decl.span)
        elif isinstance(decl, n.RuleDecl):
            _check_rule_names(ctx, decl)
        del layer


# ------------------------------------------------------------------ collection


def _collect(ctx: CheckContext) -> None:
    seen_rules: dict[str, n.RuleDecl] = {}
    for layer, decl in ctx.all_decls():
        ctx.layer_of[id(decl)] = layer
        if isinstance(decl, n.PolicyDecl):
            _collect_policy(ctx, layer.name, decl)
        elif isinstance(decl, n.SourceDecl):
            _unique(ctx, ctx.sources, decl.name, decl, "source document")
        elif isinstance(decl, n.ConditionDecl):
            _unique(ctx, ctx.conditions, decl.name, decl, "condition")
        elif isinstance(decl, n.LetDecl):
            ctx.lets.setdefault(decl.name, []).append(decl)
        elif isinstance(decl, n.TableDecl):
            _collect_table(ctx, decl)
        elif isinstance(decl, n.RuleDecl):
            _collect_rule(ctx, seen_rules, decl)
        elif isinstance(decl, n.CatalogueDecl):
            ctx.catalogues.append(decl)
        elif isinstance(decl, n.MomentsDecl):
            if ctx.moments is not None and ctx.layer_of.get(id(ctx.moments)) is layer:
                _duplicate(ctx, "moments", decl.span, ctx.moments.span)
            ctx.moments = decl
    _drop_overridden_rules(ctx, seen_rules)
    main = ctx.loaded.main
    if ctx.policy is None and main.files:
        decls = main.decls()
        span = decls[0].span if decls else None
        if span is None and not any(d.code.startswith("P") for d in ctx.diags.sorted()):
            span = Span(main.files[0].path, 1, 1, 1, 2)  # rule files that declare nothing
        if span is not None:
            ctx.diags.error(
                "I002",
                f"no `policy {main.name} {{ … }}` declaration in {main.name}/",
                span,
                hint="one file of a policy directory declares the policy, its layers and its start",
            )


def _collect_policy(ctx: CheckContext, layer_name: str, decl: n.PolicyDecl) -> None:
    if decl.name != layer_name:
        ctx.diags.error(
            "I002",
            f"policy `{decl.name}` is declared in directory `{layer_name}/`",
            decl.span,
            hint=f"name the policy `{layer_name}` (claims select it by `region`)",
        )
    if layer_name != ctx.loaded.main.name:
        check_header(ctx, decl, main=False)
        return
    if ctx.policy is not None:
        _duplicate(ctx, f"policy `{decl.name}`", decl.span, ctx.policy.span)
        return
    ctx.policy = decl
    check_header(ctx, decl, main=True)
    if decl.start is None:
        ctx.diags.error(
            "N005",
            f"policy `{decl.name}` has no start date",
            decl.span,
            hint='add `effective from YYYY-MM-DD` with its citation or `provisional "…"`',
        )


_Named = TypeVar("_Named", n.SourceDecl, n.ConditionDecl)


def _unique(
    ctx: CheckContext, table: dict[str, _Named], name: str, decl: _Named, what: str
) -> None:
    earlier = table.get(name)
    if earlier is not None:
        _duplicate(ctx, f"{what} `{name}`", decl.span, earlier.span)
        return
    table[name] = decl


def _duplicate(ctx: CheckContext, what: str, span: n.Span, first: n.Span) -> None:
    ctx.diags.error(
        "N002",
        f"{what} is defined twice",
        span,
        related=[Related(first, "first defined here")],
    )


def _collect_table(ctx: CheckContext, decl: n.TableDecl) -> None:
    key = (decl.kind, decl.name)
    earlier = ctx.tables.get(key)
    if earlier is not None:
        _duplicate(ctx, f"{decl.kind} `{decl.name}`", decl.span, earlier.span)
        return
    ctx.tables[key] = decl


def _collect_rule(ctx: CheckContext, seen: dict[str, n.RuleDecl], decl: n.RuleDecl) -> None:
    earlier = seen.get(decl.name)
    if earlier is not None:
        overridden = {target.split(".")[-1] for target, _ in decl.overrides}
        same_layer = ctx.layer_of[id(earlier)] is ctx.layer_of[id(decl)]
        if decl.name not in overridden or same_layer:
            _duplicate(ctx, f"rule `{decl.name}`", decl.span, earlier.span)
            return
    seen[decl.name] = decl
    ctx.rules.append(decl)


def _drop_overridden_rules(ctx: CheckContext, seen: dict[str, n.RuleDecl]) -> None:
    """A rule that says `overrides layer.name` replaces that rule of an imported layer."""
    by_qualified = {f"{ctx.layer_of[id(rule)].name}.{rule.name}": rule for rule in ctx.rules}
    dropped: set[int] = set()
    for rule in ctx.rules:
        for target, span in rule.overrides:
            qualified = target if "." in target else None
            victim = by_qualified.get(qualified) if qualified else _unqualified(ctx, rule, target)
            if victim is None or victim is rule:
                ctx.unresolved.add(id(rule))
                ctx.diags.error(
                    "R004",
                    f"rule `{rule.name}` overrides `{target}`, "
                    "which is not a rule of a layer it uses",
                    span,
                    hint=suggestion(target, by_qualified),
                )
                continue
            dropped.add(id(victim))
    ctx.rules = [r for r in ctx.rules if id(r) not in dropped]
    for name, rule in list(seen.items()):
        if id(rule) in dropped:
            del seen[name]


def _unqualified(ctx: CheckContext, rule: n.RuleDecl, target: str) -> n.RuleDecl | None:
    own_layer = ctx.layer_of[id(rule)]
    candidates = [r for r in ctx.rules if r.name == target and ctx.layer_of[id(r)] is not own_layer]
    return candidates[0] if len(candidates) == 1 else None


# ------------------------------------------------------------------ checks


def _check_source_fields(ctx: CheckContext, decl: n.SourceDecl) -> None:
    seen: set[str] = set()
    for name, _value, span in decl.fields:
        if name not in SOURCE_FIELDS:
            ctx.diags.error(
                "N004",
                f"unknown field `{name}` in source `{decl.name}`",
                span,
                hint=suggestion(name, SOURCE_FIELDS) or f"fields: {', '.join(SOURCE_FIELDS)}",
            )
        elif name in seen:
            ctx.diags.error("N002", f"field `{name}` is given twice", span)
        seen.add(name)
    if decl.field("title") is None:
        ctx.diags.error("N005", f"source `{decl.name}` has no `title`", decl.span)


def _check_table(ctx: CheckContext, decl: n.TableDecl) -> None:
    allowed_names = _TABLE_NAMES.get(decl.kind)
    if allowed_names is not None and decl.name not in allowed_names:
        ctx.diags.error(
            "N001",
            f"`{decl.name}` is not a {_table_word(decl.kind)} name",
            decl.span,
            hint=suggestion(decl.name, allowed_names)
            or f"expected one of: {', '.join(allowed_names)}",
        )
    _check_period(ctx, decl)
    allowed = TABLE_SETTINGS[decl.kind]
    if decl.kind == "pre_self_pay" and decl.name != "ceiling":
        allowed = allowed - {"items"}  # only a ceiling is kept to some kinds of items
    for setting in decl.settings:
        if setting.name not in allowed:
            words = ", ".join(_SETTING_WORDS[s] for s in sorted(allowed))
            ctx.diags.error(
                "N004",
                f"`{_SETTING_WORDS[setting.name]}` is not a setting of a {decl.kind} table",
                setting.span,
                hint=f"{decl.kind} tables take: {words}" if words else None,
            )
        _check_setting_values(ctx, setting)
    _check_rows(ctx, decl.rows, f"{decl.kind} {decl.name}", table_kind=decl.kind)
    check_combination(ctx, decl)
    if decl.kind == "limit":
        if decl.setting("programme") is None:
            ctx.diags.error(
                "N005",
                f"limit `{decl.name}` needs `programme` ({' or '.join(PROGRAMMES)})",
                decl.span,
                hint="the certifications of that programme decide which rows count",
            )
        for row in decl.rows:
            _check_limit_row(ctx, row)


def _table_word(kind: str) -> str:
    words = {"second_layer": "second layer", "pre_self_pay": "pre-self-pay"}
    return words.get(kind, kind.replace("_", " "))


def _check_period(ctx: CheckContext, decl: n.TableDecl) -> None:
    if decl.kind == "deductible" and decl.period is None:
        ctx.diags.error(
            "N005",
            f"deductible `{decl.name}` does not say `per year`, `per admission` or `per visit`",
            decl.span,
        )
    elif decl.period is not None and decl.period_span is not None:
        periods: tuple[str, ...] | None = {"deductible": PERIODS, "cap": CAP_PERIODS}.get(decl.kind)
        if periods is None:
            ctx.diags.error("N004", f"a {decl.kind} table has no period", decl.period_span)
        elif decl.period not in periods:
            ctx.diags.error(
                "N001",
                f"unknown period `per {decl.period}` of a {decl.kind} table",
                decl.period_span,
                hint=suggestion(decl.period, periods) or _periods_hint(periods),
            )


def _periods_hint(periods: tuple[str, ...]) -> str:
    words = [f"`per {p}`" for p in periods]
    return "use " + ", ".join(words[:-1]) + " or " + words[-1]


def _check_setting_values(ctx: CheckContext, setting: n.Setting) -> None:
    choices: Iterable[str] | None = {
        "complete": FACTS.keys(),
        "pools": PAID_POOLS,
        "programme": PROGRAMMES,
        "self_burden": VISITS,
        "base": BASE_WORDS,
        "items": ITEM_KINDS,
    }.get(setting.name)
    if choices is not None:
        special = {"base": "`base` word", "items": "item kind"}
        what = special.get(setting.name, _SETTING_WORDS[setting.name])
        check_words(ctx, setting.args, tuple(choices), what, setting.span)


def _check_limit_row(ctx: CheckContext, row: n.Row) -> None:
    certified = [c for c in row.conds if c.key == "certified"]
    only = certified[0] if len(row.conds) == len(certified) == 1 else None
    if only is None or len(only.values) != 1 or only.negated:
        ctx.diags.error(
            "N005",
            "a limit row tests one certified condition and nothing else: "
            "`when certified <condition>`",
            row.span,
            hint="per-condition limits add up over the person's certified conditions",
        )


def _check_rows(
    ctx: CheckContext, rows: tuple[n.Row, ...], table: str, *, table_kind: str | None = None
) -> None:
    labels: dict[str, n.Row] = {}
    for row in rows:
        if row.label is not None:
            if row.label in labels:
                _duplicate(ctx, f"row label `{row.label}`", row.span, labels[row.label].span)
            labels[row.label] = row
        _resolve_into(ctx, id(row), row.conds, table_kind=table_kind)
        _check_refs(ctx, row.value)
        check_calls(ctx, row.value)
    for row in rows:
        for target in row.overrides:
            if target not in labels or labels[target] is row:
                ctx.unresolved.add(id(row))
                ctx.diags.error(
                    "R004",
                    f"`overrides {target}`: no row labelled `{target}` in {table}",
                    row.span,
                    hint=suggestion(target, labels) or "label the row it overrides: `name: when …`",
                )
            elif row.is_adjust or labels[target].is_adjust:
                # the evaluators add up every adjustment that applies: none is an exception
                ctx.unresolved.add(id(row))
                ctx.diags.error(
                    "R004",
                    f"`overrides {target}`: an `adjust` row neither overrides nor is overridden",
                    row.span,
                    hint="adjustments cannot be exceptions to one another (the evaluators "
                    "would add both): make their `when`s exclusive",
                )


def _resolve_into(
    ctx: CheckContext, owner: int, conds: tuple[n.Cond, ...], *, table_kind: str | None = None
) -> None:
    """Resolve a row's or a `when`'s conditions; mark the owner unresolved on any error.
    A fact of one table kind's rows (`certified`: limit tables) is refused elsewhere."""
    before = len(ctx.diags)
    for cond in conds:
        fact = FACTS.get(cond.key)
        if fact is not None and fact.table is not None and fact.table != table_kind:
            ctx.diags.error(
                "N001",
                f"`{cond.key}` can be tested only in the rows of a `{fact.table}` table",
                cond.span,
                hint=fact.elsewhere_hint or None,
            )
    ctx.conds[owner] = resolve_conds(ctx, conds)
    if len(ctx.diags) > before:
        ctx.unresolved.add(owner)


def _check_refs(ctx: CheckContext, value: n.Value) -> None:
    for ref in n.refs_in(value):
        if ref.name not in ctx.lets:
            ctx.diags.error(
                "N001",
                f"unknown figure `{ref.name}`",
                ref.span,
                hint=suggestion(ref.name, ctx.lets) or "define it with `let`",
            )


def _check_rule_names(ctx: CheckContext, decl: n.RuleDecl) -> None:
    if decl.name in RESERVED:
        ctx.diags.error("N001", f"`{decl.name}` is a keyword and cannot name a rule", decl.span)
    for alternative in decl.when:
        _resolve_into(ctx, id(alternative), alternative)
    spec = FINDING_KINDS.get(decl.kind)
    if spec is None:
        ctx.diags.error(
            "N001",
            f"unknown finding kind `{decl.kind}`",
            decl.kind_span,
            hint=suggestion(decl.kind, FINDING_KINDS) or f"kinds: {', '.join(FINDING_KINDS)}",
        )
        # its tables' conditions stay unresolved: no overlaps of rows read as `always`
        ctx.unresolved.update(id(row) for table in decl.tables for row in table.rows)
        return
    _check_said_once(ctx, decl)
    for table in decl.tables:
        if table.name not in spec.tables:
            ctx.diags.error(
                "N004",
                f"`{decl.kind}` rules have no `{table.name}` table",
                table.span,
                hint=suggestion(table.name, spec.tables)
                or (f"tables: {', '.join(spec.tables)}" if spec.tables else "it takes no table"),
            )
        _check_rows(ctx, table.rows, f"{decl.kind} {table.name}")
    for param in decl.params:
        for arg in param.args:
            check_calls(ctx, arg)
        if param.name not in spec.params:
            known = list(spec.params) + list(spec.tables)
            keyword = misspelled_keyword(param.name, known)
            if keyword is not None:
                word = Span(
                    param.span.file,
                    param.span.line,
                    param.span.col,
                    param.span.line,
                    param.span.col + len(param.name),
                )
                ctx.diags.error(
                    "P003",
                    f"unknown keyword `{param.name}`; did you mean `{keyword}`?",
                    word,
                    hint=f"a rule's statements begin with {', '.join(RULE_KEYWORDS)} "
                    f"or a parameter ({', '.join(known) or 'none for this kind'})",
                )
                continue
            ctx.diags.error(
                "N004",
                f"`{decl.kind}` rules have no parameter `{param.name}`",
                param.span,
                hint=suggestion(param.name, known)
                or (f"parameters: {', '.join(known)}" if known else "it takes no parameters"),
            )


def _check_said_once(ctx: CheckContext, decl: n.RuleDecl) -> None:
    """A rule reads the first of a repeated parameter or table: a second one would be
    silently dropped (a second `conditions` line), so it is refused."""
    seen: set[str] = set()
    for name, span in sorted(
        [(p.name, p.span) for p in decl.params] + [(t.name, t.span) for t in decl.tables],
        key=lambda named: (named[1].line, named[1].col),
    ):
        if name in seen:
            ctx.diags.error(
                "N002",
                f"`{name}` is given twice in rule `{decl.name}`",
                span,
                hint=f"say `{name}` once (a list takes every value: `{name} a, b`)",
            )
        seen.add(name)


def misspelled_keyword(word: str, params: Iterable[str]) -> str | None:
    """The rule keyword `word` misspells, unless it is closer to one of the parameters."""
    if did_you_mean(word, params) is not None:
        return None
    return did_you_mean(word, RULE_KEYWORDS)


def table_names() -> tuple[str, ...]:
    return TABLE_KINDS
