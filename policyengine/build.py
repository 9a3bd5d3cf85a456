"""Build the AST (nodes.py) from the Lark parse tree, keeping a Span on every node: the
declarations here, the values (figures, expressions, `bands`) and the pieces every part shares
in build_values.py."""

from __future__ import annotations

import datetime as dt

from lark import Token, Tree

from policyengine import nodes as n
from policyengine.build_values import EXPRESSIONS, PROVENANCE, TreeReader
from policyengine.diagnostics import Diagnostics
from policyengine.span import SourceText, Span

_HEADER_SETTINGS = {"tiers", "default_tier", "benefit_year", "money_rounding"}


class Builder(TreeReader):
    """Walks one file's tree. Bad literals (an impossible date) become diagnostics."""

    # ------------------------------------------------------------ file
    def file_node(self, tree: Tree[Token]) -> n.RuleFile:
        decls: list[n.Decl] = []
        for item in self.trees(tree):
            builder = getattr(self, f"decl_{item.data}")
            decls.append(builder(item))
        return n.RuleFile(self.file, tuple(decls))

    # ------------------------------------------------------------ declarations
    def decl_policy_decl(self, tree: Tree[Token]) -> n.PolicyDecl:
        name, *rest = self.tokens(tree, "NAME", "STRING")
        title = self.string(rest[0]) if rest else None
        uses: list[str] = []
        uses_spans: list[Span] = []
        start: dt.date | None = None
        start_prov: n.Provenance | None = None
        is_layer = complete = False
        tiers: list[n.Tier] = []
        settings: list[n.Setting] = []
        for stmt in self.trees(tree):
            if stmt.data == "uses":
                names = self.tokens(stmt.children[0], "NAME")  # type: ignore[arg-type]
                uses.extend(str(name) for name in names)
                uses_spans.extend(self.span(name) for name in names)
            elif stmt.data == "layer":
                is_layer = True
            elif stmt.data == "policy_complete":
                complete = True
            elif stmt.data in _HEADER_SETTINGS:
                declared = [self.tier(t) for t in self.trees(stmt, "tier")]
                tiers.extend(declared)
                words = [t.name for t in declared] or self.header_words(stmt)
                settings.append(
                    n.Setting(
                        str(stmt.data),
                        tuple(words),
                        self.optional_provenance(stmt),
                        self.span(stmt),
                    )
                )
            else:  # policy_start
                start = self.date(self.tokens(stmt, "DATE")[0])
                start_prov = self.optional_provenance(stmt)
        return n.PolicyDecl(
            str(name),
            title,
            tuple(uses),
            start,
            start_prov,
            is_layer,
            complete,
            self.span(tree),
            tuple(uses_spans),
            tuple(tiers),
            tuple(settings),
        )

    def tier(self, tree: Tree[Token]) -> n.Tier:
        name, *title = self.tokens(tree, "NAME", "STRING")
        return n.Tier(str(name), self.string(title[0]) if title else None, self.span(tree))

    def header_words(self, stmt: Tree[Token]) -> list[str]:
        return [str(t) for t in self.tokens(stmt, "NAME", "MONTH_DAY")]

    def decl_source_decl(self, tree: Tree[Token]) -> n.SourceDecl:
        name = self.tokens(tree, "NAME")[0]
        fields = []
        for field in self.trees(tree, "source_field"):
            key, value = field.children
            assert isinstance(key, Token) and isinstance(value, Token)
            parsed: str | dt.date = (
                self.string(value) if value.type == "STRING" else self.date(value)
            )
            fields.append((str(key), parsed, self.span(field)))
        return n.SourceDecl(str(name), tuple(fields), self.span(tree))

    def decl_condition_decl(self, tree: Tree[Token]) -> n.ConditionDecl:
        name, *title = self.tokens(tree, "NAME", "STRING")
        terms_tree = self.first_tree(tree, "icd_terms")
        with_tree = self.first_tree(tree, "icd_with")
        assert terms_tree is not None
        return n.ConditionDecl(
            str(name),
            self.string(title[0]) if title else None,
            tuple(self.icd_term(t) for t in self.trees(terms_tree, "icd_term")),
            tuple(self.icd_term(t) for t in self.trees(with_tree, "icd_term")) if with_tree else (),
            self.optional_provenance(tree),
            self.span(tree),
        )

    def icd_term(self, tree: Tree[Token]) -> n.IcdTerm:
        codes = self.tokens(tree, "ICD")
        high = str(codes[1]) if len(codes) > 1 else None
        return n.IcdTerm(str(codes[0]), high, self.span(tree))

    def decl_catalogue_decl(self, tree: Tree[Token]) -> n.CatalogueDecl:
        name = self.tokens(tree, "NAME")[0]
        strings = self.tokens(tree, "STRING")
        title = self.string(strings[0]) if len(strings) > 1 else None
        file_token = strings[-1]
        return n.CatalogueDecl(
            str(name),
            title,
            self.string(file_token),
            self.span(file_token),
            self.optional_provenance(tree),
            self.span(tree),
        )

    def decl_let_decl(self, tree: Tree[Token]) -> n.LetDecl:
        name, *title = self.tokens(tree, "NAME", "STRING")
        span = self.span(tree)
        value_tree = next(t for t in self.trees(tree) if t.data in EXPRESSIONS)
        return n.LetDecl(
            str(name),
            self.string(title[0]) if title else None,
            self.value(value_tree, span),
            self.optional_dates(tree),
            self.optional_provenance(tree),
            self.optional_date_provenance(tree),
            span,
        )

    def decl_table_decl(self, tree: Tree[Token]) -> n.TableDecl:
        kind_tree = tree.children[0]
        assert isinstance(kind_tree, Tree)
        name, *title = self.tokens(tree, "NAME", "STRING")
        period_tree = self.first_tree(tree, "period")
        period_token = period_tree.children[0] if period_tree else None
        settings, rows = self.table_body(tree)
        combinations = [self.combination(t) for t in self.trees(tree, "adjustments")]
        return n.TableDecl(
            str(kind_tree.data),
            str(name),
            self.string(title[0]) if title else None,
            str(period_token) if period_token is not None else None,
            self.span(period_token) if isinstance(period_token, Token) else None,
            settings,
            rows,
            self.span(tree),
            combinations[0] if combinations else None,
            len(combinations),
        )

    def combination(self, tree: Tree[Token]) -> n.Combination:
        rule = self.tokens(tree, "NAME")[0]
        span = self.span(tree)
        bounds: dict[str, n.Expr] = {}
        for bound in self.trees(tree, "at_most", "at_least"):
            value = next(t for t in self.trees(bound) if t.data in EXPRESSIONS)
            if bound.data in bounds:
                self.diagnostics.error("N002", f"`{bound.data.replace('_', ' ')}` twice", span)
            bounds[str(bound.data)] = self.value_expr(value, span)
        return n.Combination(
            str(rule),
            self.span(rule),
            bounds.get("at_most"),
            bounds.get("at_least"),
            self.optional_provenance(tree),
            span,
        )

    def table_body(self, tree: Tree[Token]) -> tuple[tuple[n.Setting, ...], tuple[n.Row, ...]]:
        settings: list[n.Setting] = []
        rows: list[n.Row] = []
        for stmt in self.trees(tree):
            if stmt.data in ("row", "adjust"):
                rows.append(self.row(stmt, is_adjust=stmt.data == "adjust"))
            elif stmt.data in ("complete", "pools", "self_burden", "items"):
                list_tree = stmt.children[0]
                assert isinstance(list_tree, Tree)
                settings.append(
                    n.Setting(str(stmt.data), tuple(self.names(list_tree)), None, self.span(stmt))
                )
            elif stmt.data in ("programme", "alias", "base"):
                target = self.tokens(stmt, "NAME")[0]
                settings.append(
                    n.Setting(
                        str(stmt.data),
                        (str(target),),
                        self.optional_provenance(stmt),
                        self.span(stmt),
                    )
                )
        return tuple(settings), tuple(rows)

    def row(self, tree: Tree[Token], *, is_adjust: bool) -> n.Row:
        label_tokens = self.tokens(tree, "NAME")
        body = self.first_tree(tree, "row_body")
        assert body is not None
        span = self.span(tree)
        conds_tree = self.first_tree(body, "conds")
        value_tree = next(t for t in self.trees(body) if t.data in EXPRESSIONS)
        overrides_tree = self.first_tree(body, "overrides")
        overrides: tuple[str, ...] = ()
        if overrides_tree is not None:
            list_tree = overrides_tree.children[0]
            assert isinstance(list_tree, Tree)
            overrides = tuple(self.names(list_tree))
        return n.Row(
            str(label_tokens[0]) if label_tokens else None,
            self.conds(conds_tree) if conds_tree is not None else (),
            self.value(value_tree, span),
            self.optional_dates(body),
            self.optional_provenance(body),
            self.optional_date_provenance(body),
            overrides,
            is_adjust,
            span,
        )

    def conds(self, tree: Tree[Token]) -> tuple[n.Cond, ...]:
        result = []
        for cond in self.trees(tree, "cond"):
            key = self.tokens(cond, "NAME")[0]
            negated = bool(self.tokens(cond, "NOT"))
            values = tuple(self.cond_value(v) for v in self.trees(cond, "cond_value"))
            result.append(n.Cond(str(key), negated, values, self.span(cond)))
        return tuple(result)

    def cond_value(self, tree: Tree[Token]) -> n.CondValue:
        span = self.span(tree)
        names = self.tokens(tree, "NAME")
        if names:
            return n.CondValue(str(names[0]), None, None, span)
        ints = [self.integer(t) for t in self.tokens(tree, "INT")]
        return n.CondValue(None, ints[0], ints[-1], span)

    def decl_rule_decl(self, tree: Tree[Token]) -> n.RuleDecl:
        keyword = tree.children[0]
        assert isinstance(keyword, Tree)
        header_names = []
        title: str | None = None
        provenance: n.Provenance | None = None
        for child in tree.children[1:]:
            if isinstance(child, Token) and child.type == "NAME":
                header_names.append(child)
            elif isinstance(child, Token) and child.type == "STRING":
                title = self.string(child)
            elif isinstance(child, Tree) and child.data in PROVENANCE:
                provenance = self.provenance(child)
        kind_token = header_names[0]
        name = str(header_names[1]) if len(header_names) > 1 else str(kind_token)
        return self.rule_body(tree, keyword.data == "audit", kind_token, name, title, provenance)

    def rule_body(
        self,
        tree: Tree[Token],
        audit: bool,
        kind_token: Token,
        name: str,
        title: str | None,
        provenance: n.Provenance | None,
    ) -> n.RuleDecl:
        action: Token | None = None
        when: list[tuple[n.Cond, ...]] = []
        dates: n.Dates | None = None
        date_prov: n.Provenance | None = None
        overrides: list[tuple[str, Span]] = []
        programme: str | None = None
        params: list[n.Param] = []
        tables: list[n.ParamTable] = []
        for stmt in self.trees(tree):
            data = stmt.data
            if data == "action":
                action = self.tokens(stmt, "NAME")[0]
            elif data == "applies_when":
                conds_tree = stmt.children[0]
                assert isinstance(conds_tree, Tree)
                when.append(self.conds(conds_tree))
            elif data == "effective":
                dates = self.optional_dates(stmt)
                date_prov = self.optional_date_provenance(stmt)
            elif data == "rule_overrides":
                for qualified in self.trees(stmt.children[0], "qualified"):  # type: ignore[arg-type]
                    parts = [str(t) for t in self.tokens(qualified, "NAME")]
                    overrides.append((".".join(parts), self.span(qualified)))
            elif data == "programme":
                programme = str(self.tokens(stmt, "NAME")[0])
            elif data == "param_table":
                for wrong in self.trees(stmt, "adjustments"):
                    self.diagnostics.error(
                        "N004",
                        "`adjustments` is a setting of ratio tables",
                        self.span(wrong),
                        hint="it says how a ratio's `adjust` rows combine",
                    )
                table_name = self.tokens(stmt, "NAME")[0]
                settings, rows = self.table_body(stmt)
                tables.append(n.ParamTable(str(table_name), settings, rows, self.span(stmt)))
            elif data == "param":
                params.append(self.param(stmt))
        return n.RuleDecl(
            audit=audit,
            kind=str(kind_token),
            kind_span=self.span(kind_token),
            name=name,
            title=title,
            provenance=provenance,
            action=str(action) if action is not None else None,
            action_span=self.span(action) if action is not None else None,
            when=tuple(when),
            dates=dates,
            date_provenance=date_prov,
            overrides=tuple(overrides),
            programme=programme,
            params=tuple(params),
            tables=tuple(tables),
            span=self.span(tree),
        )

    def param(self, tree: Tree[Token]) -> n.Param:
        name = tree.children[0]
        assert isinstance(name, Token)
        span = self.span(tree)
        args = tuple(self.value_expr(t, span) for t in self.trees(tree) if t.data in EXPRESSIONS)
        return n.Param(str(name), args, self.optional_provenance(tree), span)

    def decl_moments_decl(self, tree: Tree[Token]) -> n.MomentsDecl:
        list_tree = tree.children[0]
        assert isinstance(list_tree, Tree)
        return n.MomentsDecl(
            tuple(self.names(list_tree)), self.optional_provenance(tree), self.span(tree)
        )


def build(source: SourceText, tree: Tree[Token], diagnostics: Diagnostics) -> n.RuleFile:
    return Builder(source, diagnostics).file_node(tree)
