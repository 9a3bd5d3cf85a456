"""Build the AST (nodes.py) from the Lark parse tree, keeping a Span on every node."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from lark import Token, Tree

from policyengine import nodes as n
from policyengine.diagnostics import Diagnostics
from policyengine.span import SourceText, Span

Node = Tree[Token] | Token

_UNITS = {"yuan", "wan_yuan", "percent", "points", "days"}
_PROVENANCE = {"cite", "secondary", "provisional"}
_EXPRESSIONS = {"quantity", "by_level", "ref", "none", "binop", "bands"}
_DATES = {"from_until", "from_only", "until_only"}
_HEADER_SETTINGS = {"tiers", "default_tier", "benefit_year", "money_rounding"}
# `1 元 + 1 元 + …` nests without parentheses (the parser's nesting limit counts brackets):
# deeper expressions are refused rather than walked recursively here and in every pass.
MAX_EXPRESSION_DEPTH = 64
# Whole numbers of a `when` (ages, levels) are at most 150; longer digit strings are refused
# before int() (which refuses more than 4,300 digits with a ValueError).
MAX_INT_DIGITS = 9
# A figure is at most 10¹⁰ 元 (units.MAX_MONEY): 20 characters hold any sensible one, and
# keep products of figures within the exponents Decimal allows (else decimal.Overflow).
MAX_NUMBER_CHARS = 20


class Builder:
    """Walks one file's tree. Bad literals (an impossible date) become diagnostics."""

    def __init__(self, source: SourceText, diagnostics: Diagnostics) -> None:
        self.source = source
        self.file = source.display
        self.diagnostics = diagnostics
        # Lark counts lines by "\n" only; str.splitlines() would also split at \x0c, \u2028, …
        self.lines = source.text.split("\n")

    # ------------------------------------------------------------ helpers
    def span(self, node: Node, fallback: Span | None = None) -> Span:
        if isinstance(node, Token):
            line = node.line or 1
            col = node.column or 1
            return Span(
                self.file,
                line,
                col,
                node.end_line or line,
                node.end_column or col + len(str(node)),
            )
        meta = node.meta
        if meta.empty:
            return fallback or Span(self.file, 1, 1, 1, 2)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def string(self, token: Token) -> str:
        raw = str(token)[1:-1]
        return raw.replace('\\"', '"').replace("\\\\", "\\")

    def date(self, token: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(token))
        except ValueError:
            self.diagnostics.error("P004", f"`{token}` is not a date that exists", self.span(token))
            return dt.date(1, 1, 1)

    @staticmethod
    def trees(node: Tree[Token], *names: str) -> Iterator[Tree[Token]]:
        for child in node.children:
            if isinstance(child, Tree) and (not names or child.data in names):
                yield child

    @staticmethod
    def tokens(node: Tree[Token], *types: str) -> list[Token]:
        return [c for c in node.children if isinstance(c, Token) and (not types or c.type in types)]

    def first_tree(self, node: Tree[Token], *names: str) -> Tree[Token] | None:
        return next(self.trees(node, *names), None)

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
        value_tree = next(t for t in self.trees(tree) if t.data in _EXPRESSIONS)
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
        return n.TableDecl(
            str(kind_tree.data),
            str(name),
            self.string(title[0]) if title else None,
            str(period_token) if period_token is not None else None,
            self.span(period_token) if isinstance(period_token, Token) else None,
            settings,
            rows,
            self.span(tree),
        )

    def table_body(self, tree: Tree[Token]) -> tuple[tuple[n.Setting, ...], tuple[n.Row, ...]]:
        settings: list[n.Setting] = []
        rows: list[n.Row] = []
        for stmt in self.trees(tree):
            if stmt.data in ("row", "adjust"):
                rows.append(self.row(stmt, is_adjust=stmt.data == "adjust"))
            elif stmt.data in ("complete", "pools", "self_burden"):
                list_tree = stmt.children[0]
                assert isinstance(list_tree, Tree)
                settings.append(
                    n.Setting(str(stmt.data), tuple(self.names(list_tree)), None, self.span(stmt))
                )
            elif stmt.data in ("programme", "alias"):
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
        value_tree = next(t for t in self.trees(body) if t.data in _EXPRESSIONS)
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

    def integer(self, token: Token) -> int:
        if len(token) > MAX_INT_DIGITS:
            self.diagnostics.error(
                "P004", f"`{token[:20]}…` is too long a whole number", self.span(token)
            )
            return 0
        return int(str(token))

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
            elif isinstance(child, Tree) and child.data in _PROVENANCE:
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
        args = tuple(self.value_expr(t, span) for t in self.trees(tree) if t.data in _EXPRESSIONS)
        return n.Param(str(name), args, self.optional_provenance(tree), span)

    def decl_moments_decl(self, tree: Tree[Token]) -> n.MomentsDecl:
        list_tree = tree.children[0]
        assert isinstance(list_tree, Tree)
        return n.MomentsDecl(
            tuple(self.names(list_tree)), self.optional_provenance(tree), self.span(tree)
        )

    # ------------------------------------------------------------ shared pieces
    def names(self, tree: Tree[Token]) -> list[str]:
        return [str(t) for t in self.tokens(tree, "NAME")]

    def optional_provenance(self, tree: Tree[Token]) -> n.Provenance | None:
        found = self.first_tree(tree, *_PROVENANCE)
        return self.provenance(found) if found is not None else None

    def optional_date_provenance(self, tree: Tree[Token]) -> n.Provenance | None:
        found = self.first_tree(tree, "date_provenance")
        if found is None:
            return None
        inner = self.first_tree(found, *_PROVENANCE)
        assert inner is not None
        return self.provenance(inner)

    def provenance(self, tree: Tree[Token]) -> n.Provenance:
        span = self.span(tree)
        if tree.data == "provisional":
            return n.Provisional(self.string(self.tokens(tree, "STRING")[0]), span)
        doc = str(self.tokens(tree, "NAME")[0])
        clauses = self.tokens(tree, "CLAUSE")
        strings = self.tokens(tree, "STRING")
        clause = str(clauses[0]) if clauses else None
        quote = self.string(strings[0]) if strings else None
        if tree.data == "cite":
            assert quote is not None
            return n.Cite(doc, clause, quote, span)
        return n.Secondary(doc, clause, quote, span)

    def optional_dates(self, tree: Tree[Token]) -> n.Dates | None:
        found = self.first_tree(tree, *_DATES)
        if found is None:
            return None
        dates = [self.date(t) for t in self.tokens(found, "DATE")]
        span = self.span(found)
        if found.data == "from_until":
            return n.Dates(dates[0], dates[1], span)
        if found.data == "from_only":
            return n.Dates(dates[0], None, span)
        return n.Dates(None, dates[0], span)

    # ------------------------------------------------------------ values
    def value(self, tree: Tree[Token], fallback: Span) -> n.Value:
        if tree.data == "bands":
            return self.bands(tree)
        return self.value_expr(tree, fallback)

    def bands(self, tree: Tree[Token]) -> n.Bands:
        statements = []
        for stmt in self.trees(tree):
            span = self.span(stmt)
            exprs = [self.value_expr(t, span) for t in self.trees(stmt) if t.data in _EXPRESSIONS]
            provenance = self.optional_provenance(stmt)
            kind = str(stmt.data)
            if kind == "band":
                statements.append(
                    n.BandStmt("band", exprs[0], exprs[1], exprs[2], provenance, span)
                )
            elif kind == "band_open":
                statements.append(n.BandStmt("band", exprs[0], None, exprs[1], provenance, span))
            else:
                statements.append(n.BandStmt(kind, exprs[0], None, None, provenance, span))
        return n.Bands(tuple(statements), self.span(tree))

    def value_expr(self, tree: Tree[Token], fallback: Span, depth: int = 0) -> n.Expr:
        span = self.span(tree, fallback)
        data = tree.data
        if data in ("by_level", "binop") and depth >= MAX_EXPRESSION_DEPTH:
            self.diagnostics.error(
                "P006",
                f"expression nested deeper than {MAX_EXPRESSION_DEPTH} levels",
                span,
                hint="name parts of it with `let`",
            )
            return n.NoneValue(span)
        if data == "quantity":
            return self.quantity(tree, span)
        if data == "by_level":
            items = [self.value_expr(t, span, depth + 1) for t in self.trees(tree)]
            return n.ByLevel((items[0], items[1], items[2]), span)
        if data == "ref":
            return n.Ref(str(tree.children[0]), span)
        if data == "none":
            return n.NoneValue(span)
        if data == "binop":
            left, op, right = tree.children
            assert isinstance(left, Tree) and isinstance(right, Tree) and isinstance(op, Token)
            symbol = "×" if op.type == "TIMES" else str(op)
            return n.BinOp(
                symbol,
                self.value_expr(left, span, depth + 1),
                self.value_expr(right, span, depth + 1),
                span,
            )
        # `bands` where an expression is needed: the checker reports it with this span
        self.diagnostics.error("T002", "a `bands` block is not allowed here", span)
        return n.NoneValue(span)

    def quantity(self, tree: Tree[Token], span: Span) -> n.Quantity:
        number_token = tree.children[0]
        assert isinstance(number_token, Token)
        unit_tree = self.first_tree(tree)
        unit = str(unit_tree.data) if unit_tree is not None and unit_tree.data in _UNITS else ""
        try:
            number = Decimal(str(number_token))
        except InvalidOperation:  # pragma: no cover - the lexer only admits digits
            number = Decimal(0)
        if len(number_token) > MAX_NUMBER_CHARS:
            self.diagnostics.error(
                "P004",
                f"`{number_token[:20]}…` has more than {MAX_NUMBER_CHARS} digits",
                self.span(number_token),
            )
            number = Decimal(0)
        end = self.span(unit_tree, span) if unit_tree is not None else span
        text = self.lines[span.line - 1][span.col - 1 : end.end_col - 1]
        if span.line != end.end_line:
            text = str(number_token)
        return n.Quantity(number, unit, text.strip() or str(number_token), span)


def build(source: SourceText, tree: Tree[Token], diagnostics: Diagnostics) -> n.RuleFile:
    return Builder(source, diagnostics).file_node(tree)
