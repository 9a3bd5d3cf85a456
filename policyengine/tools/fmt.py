"""`policyengine fmt`: the canonical layout of a rule file, every comment kept.

The layout (docs/authoring.md §3):

- a declaration starts at column 1; a block's statements are indented two spaces in from
  the line that opens it; `{` ends the opening line and `}` stands on its own;
- a citation, a `dates` provenance and `overrides` go on lines of their own, two spaces in
  from their statement; dates stay beside the value they date;
- one space between words; none before `,` `:` `)` and `%` or after `(`, none around `..`
  and the `.` of `national.rule`; a number and its unit apart (`800 元`, `5 pt`) but `60%`;
- consecutive rows of a table are aligned: labels padded, `=>` in one column (a row whose
  conditions differ in width by more than ALIGN_SPREAD columns, or with a label where the
  others have none, starts a new alignment); a row wider than WIDTH breaks before `=>`;
- a source's fields aligned and in the order title, number, date, file; the policy header's
  statements in the order uses, layer, complete, effective, tiers, default tier, benefit
  year, money rounding (their order means nothing);
- blank lines between statements kept (several become one), none after `{` or before `}`;
- a comment on a line of its own stays on a line of its own before the same word; a comment
  after code stays after the same word, two spaces before its `#`.

fmt of formatted text is the same text, and the formatted text parses to the same
declarations (tests/test_fmt.py: the bundled policies and mutated ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from policyengine.diagnostics import Diagnostic, display_width
from policyengine.grammar import parse_layout
from policyengine.parse import check_limits, parse
from policyengine.span import SourceText, Span
from policyengine.tools.fmt_sheet import (
    INLINE,
    UNARY_MINUS,
    FormatError,
    Gap,
    Sheet,
    glued,
    tokens,
)

WIDTH = 100
# The layout walks the tree recursively; a figure of thousands of terms (`check` refuses
# more than 64 levels) is left as it is.
MAX_DEPTH = 300
ALIGN_SPREAD = 16
_TAILS = frozenset({"cite", "secondary", "provisional", "date_provenance", "overrides"})
_BLOCKS = frozenset(
    {"policy_decl", "source_decl", "catalogue_decl", "table_decl", "rule_decl", "param_table"}
)
_ROWS = frozenset({"row", "adjust"})
_HEADER_ORDER = {
    "uses": 0,
    "layer": 1,
    "policy_complete": 2,
    "policy_start": 3,
    "tiers": 4,
    "default_tier": 5,
    "benefit_year": 6,
    "money_rounding": 7,
}
# The rules whose words simply follow one another on the statement's line. Every rule of
# the grammar is a block, a row, a tail, `bands`, a header statement or one of these: a rule
# added to the grammar stops fmt (FormatError) until its layout is decided here, and
# tests/test_fmt.py checks the grammar's rules against this list.
_FLOWING_NAMES = """
    action adjustments alias applies_when at_least at_most atom audit band band_open base
    binop by_level call cap ceiling complete cond cond_value condition_decl conds cumulative
    days deductible derived effective expr factor from_only from_until fund_ceiling icd_term
    icd_terms icd_with items let_decl limit moments_decl name_list neg none param payment_cap
    percent period points policy_stmt pools pre_self_pay programme qualified
    qualified_list quantity ratio ref row_body rule rule_overrides second_layer self_burden
    source_field start table_stmt term threshold tier until_only value wan_yuan yuan
"""
_FLOWING = frozenset(_FLOWING_NAMES.split())
KNOWN_RULES = _TAILS | _BLOCKS | _ROWS | {"bands"} | _HEADER_ORDER.keys() | _FLOWING
_FIELD_ORDER = {"title": 0, "number": 1, "date": 2, "file": 3}


@dataclass(frozen=True)
class Formatted:
    """A file laid out: its new text, or the syntax errors that keep it from being read."""

    original: str
    text: str | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def changed(self) -> bool:
        return self.text is not None and self.text != self.original


def format_source(source: SourceText) -> Formatted:
    text = source.text.replace("\r\n", "\n")
    refused = check_limits(source)
    if refused is not None:
        return Formatted(source.text, None, (refused,))
    try:
        tree, comments = parse_layout(text)
    except UnexpectedInput:
        return Formatted(source.text, None, parse(source).diagnostics)
    if _depth(tree) > MAX_DEPTH:
        deep = Diagnostic(
            "P006",
            f"expressions nested deeper than fmt lays out ({MAX_DEPTH} levels)",
            Span(source.display, 1, 1, 1, 2),
            hint="name parts of the figure with `let`",
        )
        return Formatted(source.text, None, (deep,))
    words = [str(t) for t in tokens(tree)] + [str(c).rstrip() for c in comments]
    laid_out = layout(text, tree, comments)
    _check_kept(words, laid_out)
    return Formatted(source.text, laid_out)


def format_text(text: str, display: str = "<stdin>") -> Formatted:
    return format_source(SourceText(Path(display), display, text))


def layout(text: str, tree: Tree[Token], comments: list[Token]) -> str:
    """The canonical layout of `text`, given its layout tree and comments (parse_layout)."""
    for sign in tree.find_data("neg"):  # `-10 pt`: a sign glued to its value (fmt_sheet.glued)
        minus = sign.children[0]
        if isinstance(minus, Token):
            minus.type = UNARY_MINUS
    sheet = Sheet(text, tree, comments)
    walker = _Layout(sheet)
    for declaration in tree.children:
        walker.walk(declaration, 0, Gap("statement", 0))
    return sheet.finish()


def _check_kept(words: list[str], after: str) -> None:
    """Nothing lost: the laid-out text parses, with the same words and comments."""
    try:
        tree, comments = parse_layout(after)
    except UnexpectedInput as error:  # the layout broke the syntax: a bug, never written out
        raise FormatError(f"the laid-out text does not parse: {error}") from error
    new = [str(t) for t in tokens(tree)] + [str(c) for c in comments]
    if sorted(words) != sorted(new):
        raise FormatError("the laid-out text lost or changed a word or a comment")


def _depth(tree: Tree[Token]) -> int:
    deepest = 0
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))
    return deepest


# ------------------------------------------------------------------ the layout


class _Fit(NamedTuple):
    """How one row of a run is laid out: spaces added after its label and before `=>`,
    or `=>` on a line of its own."""

    label_pad: int = 0
    arrow_pad: int = 0
    break_arrow: bool = False


@dataclass
class _RowShape:
    tree: Tree[Token]
    label: str  # `label:`, `adjust name:`, `adjust` or ""
    head: str  # `when …` or `always`
    rest: str  # `=> value dates`, or `=> bands {`
    regular: bool  # no comment inside the row's first line
    apart: bool  # a comment or a blank line before it: it begins a new alignment


class _Layout:
    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet

    def walk(self, node: Tree[Token] | Token, indent: int, gap: Gap, *, tails: bool = True) -> None:
        """Write `node`: its first word with `gap`, the others inline, except a tail (a
        citation, `dates` provenance, `overrides`) on a line of its own and blocks."""
        if isinstance(node, Token):
            self.sheet.put(node, gap)
            return
        if node.data not in KNOWN_RULES and not node.data.startswith("_"):
            raise FormatError(f"fmt has no layout for the grammar's `{node.data}` (tools/fmt.py)")
        if tails and node.data in _TAILS:
            gap = Gap("continue", indent + 2)
            tails = False
        if node.data in _BLOCKS:
            self._block(node, indent, gap)
            return
        if node.data == "bands":
            self._bands(node, indent, gap)
            return
        for child in node.children:
            self.walk(child, indent, gap, tails=tails)
            gap = INLINE

    def _block(self, node: Tree[Token], indent: int, gap: Gap) -> None:
        children = node.children
        brace = next(i for i, c in enumerate(children) if isinstance(c, Token) and c == "{")
        for child in children[:brace]:
            self.walk(child, indent, gap)
            gap = INLINE
        self.sheet.put(children[brace], INLINE)  # type: ignore[arg-type]
        body, close = children[brace + 1 : -1], children[-1]
        assert isinstance(close, Token)
        inner = indent + 2
        if node.data == "catalogue_decl":
            self._catalogue_body(body, inner)
        elif node.data == "source_decl":
            self._source_fields([c for c in body if isinstance(c, Tree)], inner)
        else:
            statements = [c for c in body if isinstance(c, Tree)]
            if node.data == "policy_decl":
                statements.sort(key=lambda s: _HEADER_ORDER.get(str(s.data), 9))
            self._statements(statements, inner)
        empty = not body and id(close) not in self.sheet.leading
        self.sheet.put(close, Gap("glue") if empty else Gap("close", indent))

    def _statements(self, statements: list[Tree[Token]], indent: int) -> None:
        fits = self._fits([s for s in statements if s.data in _ROWS], indent)
        for statement in statements:
            gap = Gap("statement", indent)
            if statement.data in _ROWS:
                self._row(statement, indent, gap, fits[id(statement)])
            else:
                self.walk(statement, indent, gap)

    def _catalogue_body(self, body: list[Tree[Token] | Token], indent: int) -> None:
        """`file "catalogue.csv"` and the catalogue's citation, each a statement."""
        gap = Gap("statement", indent)
        for child in body:
            if isinstance(child, Tree):
                self.walk(child, indent, Gap("statement", indent), tails=False)
            else:
                self.walk(child, indent, gap)
                gap = INLINE

    def _source_fields(self, fields: list[Tree[Token]], indent: int) -> None:
        fields = sorted(fields, key=lambda f: _FIELD_ORDER.get(str(f.children[0]), 9))
        width = max((len(str(f.children[0])) for f in fields), default=0)
        for source_field in fields:
            key, value = source_field.children
            assert isinstance(key, Token) and isinstance(value, Token)
            self.sheet.put(key, Gap("statement", indent))
            self.sheet.put(value, Gap("inline", pad=width - len(key)))

    def _bands(self, node: Tree[Token], indent: int, gap: Gap) -> None:
        """`bands {` beside its row's `=>`, its statements two spaces in from the row's
        continuation, the `}` at the continuation."""
        for child in node.children:
            if isinstance(child, Tree):
                self.walk(child, indent + 4, Gap("statement", indent + 4))
            elif child == "}":
                self.sheet.put(child, Gap("close", indent + 2))
            else:
                self.sheet.put(child, gap)
                gap = INLINE

    # -------------------------------------------------------------- rows

    def _row(self, row: Tree[Token], indent: int, gap: Gap, fit: _Fit) -> None:
        *label, body = row.children
        assert isinstance(body, Tree)
        for part in label:
            self.walk(part, indent, gap)
            gap = INLINE
        if label:
            gap = Gap("inline", pad=fit.label_pad)
        for child in body.children:
            if isinstance(child, Token) and child == "=>":
                arrow = Gap("continue", indent + 2) if fit.break_arrow else INLINE
                self.sheet.put(child, arrow._replace(pad=fit.arrow_pad))
            else:
                self.walk(child, indent, gap)
            gap = INLINE

    def _fits(self, rows: list[Tree[Token]], indent: int) -> dict[int, _Fit]:
        shapes = [self._shape(row) for row in rows]
        fits: dict[int, _Fit] = {}
        run: list[_RowShape] = []
        for shape in shapes:
            if not shape.regular:
                fits[id(shape.tree)] = _Fit()
                continue
            if _one_line(indent, shape.label, shape.head, shape.rest) > WIDTH:
                fits[id(shape.tree)] = _Fit(break_arrow=True)
                continue
            if run and _starts_run(run, shape):
                fits.update(_aligned(run, indent))
                run = []
            run.append(shape)
        fits.update(_aligned(run, indent))
        return fits

    def _shape(self, row: Tree[Token]) -> _RowShape:
        *label, body = row.children
        assert isinstance(body, Tree)
        arrow = next(i for i, c in enumerate(body.children) if isinstance(c, Token) and c == "=>")
        value = body.children[arrow + 1 :]
        line = [
            t
            for node in value
            if not (isinstance(node, Tree) and node.data in _TAILS)
            for t in tokens(node)
        ]
        if line and line[0] == "bands":
            line = line[:2]  # `bands {`: the rest is on lines of their own
        label_words = [t for node in label for t in tokens(node)]
        head_words = [t for node in body.children[:arrow] for t in tokens(node)]
        words = [*label_words, *head_words, body.children[arrow], *line]
        leading, trailing = self.sheet.leading, self.sheet.trailing
        regular = not any(id(w) in leading for w in words[1:]) and not any(
            id(w) in trailing for w in words[:-1]
        )
        first = words[0]
        assert isinstance(first, Token)
        return _RowShape(
            row,
            _flat(label_words),
            _flat(head_words),
            _flat([body.children[arrow], *line]),  # type: ignore[list-item]
            regular,
            id(first) in leading or id(first) in self.sheet.blank,
        )


def _flat(words: list[Token]) -> str:
    out = ""
    previous = None
    for word in words:
        out += ("" if not out or glued(previous, word) else " ") + word
        previous = word
    return out


def _one_line(indent: int, label: str, head: str, rest: str, pads: tuple[int, int] = (0, 0)) -> int:
    prefix = f"{label}{' ' * pads[0]} " if label else ""
    return indent + display_width(f"{prefix}{head}{' ' * pads[1]} {rest}")


def _starts_run(run: list[_RowShape], shape: _RowShape) -> bool:
    widths = [len(r.head) for r in run] + [len(shape.head)]
    return (
        shape.apart
        or bool(shape.label) != bool(run[0].label)
        or shape.tree.data != run[0].tree.data  # an `adjust` row is not a row of the table
        or max(widths) - min(widths) > ALIGN_SPREAD
    )


def _aligned(run: list[_RowShape], indent: int) -> dict[int, _Fit]:
    label_width = max((len(r.label) for r in run), default=0)
    head_width = max((len(r.head) for r in run), default=0)
    fits = {}
    for shape in run:
        pads = (label_width - len(shape.label), head_width - len(shape.head))
        if _one_line(indent, shape.label, shape.head, shape.rest, pads) > WIDTH:
            pads = (0, 0)
        fits[id(shape.tree)] = _Fit(*pads)
    return fits
