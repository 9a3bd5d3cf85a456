"""Reading the Lark tree for the AST builder (build.py): spans, tokens, provenance, dates,
whole numbers — and the values: quantities, `by level`, figure references, arithmetic and
`bands` blocks. Bad literals (an impossible date, a number too long) become diagnostics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from lark import Token, Tree

from policyengine import nodes as n
from policyengine.diagnostics import Diagnostics
from policyengine.semantics.facts import ATOMS
from policyengine.span import SourceText, Span

Node = Tree[Token] | Token

_UNITS = {"yuan", "wan_yuan", "percent", "points", "days"}
PROVENANCE = {"cite", "secondary", "provisional"}
EXPRESSIONS = {"quantity", "by_level", "ref", "none", "binop", "bands", "neg", "call"}
_SYMBOLS = {"PLUS": "+", "MINUS": "-", "TIMES": "×", "DIVIDE": "÷"}
_DATES = {"from_until", "from_only", "until_only"}
# `1 元 + 1 元 + …` nests without parentheses (the parser's nesting limit counts brackets):
# deeper expressions are refused rather than walked recursively here and in every pass.
MAX_EXPRESSION_DEPTH = 64
# Whole numbers of a `when` (ages, levels) are at most 150; longer digit strings are refused
# before int() (which refuses more than 4,300 digits with a ValueError).
MAX_INT_DIGITS = 9
# A figure is at most 10¹⁰ 元 (units.MAX_MONEY): 20 characters hold any sensible one, and
# keep products of figures within the exponents Decimal allows (else decimal.Overflow).
MAX_NUMBER_CHARS = 20


class TreeReader:
    """One file's tree: the pieces every declaration reads, and its values."""

    def __init__(self, source: SourceText, diagnostics: Diagnostics) -> None:
        self.source = source
        self.file = source.display
        self.diagnostics = diagnostics
        # Lark counts lines by "\n" only; str.splitlines() would also split at \x0c, \u2028, …
        self.lines = source.text.split("\n")

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

    def names(self, tree: Tree[Token]) -> list[str]:
        return [str(t) for t in self.tokens(tree, "NAME")]

    def optional_provenance(self, tree: Tree[Token]) -> n.Provenance | None:
        found = self.first_tree(tree, *PROVENANCE)
        return self.provenance(found) if found is not None else None

    def optional_date_provenance(self, tree: Tree[Token]) -> n.Provenance | None:
        found = self.first_tree(tree, "date_provenance")
        if found is None:
            return None
        inner = self.first_tree(found, *PROVENANCE)
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
            return n.Cite(doc, clause, quote, span, self.derived(tree))
        return n.Secondary(doc, clause, quote, span)

    def derived(self, cite: Tree[Token]) -> n.Derived | None:
        found = self.first_tree(cite, "derived")
        if found is None:
            return None
        return n.Derived(self.string(self.tokens(found, "STRING")[0]), self.span(found))

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

    def integer(self, token: Token) -> int:
        if len(token) > MAX_INT_DIGITS:
            self.diagnostics.error(
                "P004", f"`{token[:20]}…` is too long a whole number", self.span(token)
            )
            return 0
        return int(str(token))

    def value(self, tree: Tree[Token], fallback: Span) -> n.Value:
        if tree.data == "bands":
            return self.bands(tree)
        return self.value_expr(tree, fallback)

    def bands(self, tree: Tree[Token]) -> n.Bands:
        statements = []
        cumulative = False
        for stmt in self.trees(tree):
            if stmt.data == "cumulative":
                cumulative = True
                continue
            span = self.span(stmt)
            exprs = [self.value_expr(t, span) for t in self.trees(stmt) if t.data in EXPRESSIONS]
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
        return n.Bands(tuple(statements), self.span(tree), cumulative)

    def value_expr(self, tree: Tree[Token], fallback: Span, depth: int = 0) -> n.Expr:
        span = self.span(tree, fallback)
        data = tree.data
        if data in ("by_level", "binop", "neg", "call") and depth >= MAX_EXPRESSION_DEPTH:
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
            name = str(tree.children[0])
            return n.FactRef(name, span) if name in ATOMS else n.Ref(name, span)
        if data == "none":
            return n.NoneValue(span)
        if data == "binop":
            left, op, right = tree.children
            assert isinstance(left, Tree) and isinstance(right, Tree) and isinstance(op, Token)
            return n.BinOp(
                _SYMBOLS[op.type],
                self.value_expr(left, span, depth + 1),
                self.value_expr(right, span, depth + 1),
                span,
            )
        if data == "neg":
            return n.Neg(self.value_expr(next(self.trees(tree)), span, depth + 1), span)
        if data == "call":
            fn = tree.children[0]
            assert isinstance(fn, Token)
            args = tuple(self.value_expr(t, span, depth + 1) for t in self.trees(tree))
            return n.Call(str(fn), args, span, self.span(fn))
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
