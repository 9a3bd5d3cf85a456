"""Parse rule-file text with Lark, recovering from syntax errors so each is reported once.

A file that parses is one Lark parse. One that does not is read declaration by declaration:
it is split before every line that begins a declaration (a declaration keyword at brace
depth 0, or at column 1 whatever the depth, which is where a block left open shows), and
each part is parsed alone. A part with a syntax error gives its diagnostic (parse_errors.py)
and is left out of the tree; the others are kept. So every syntax error of the file is
reported once — a missing `}` as the block it leaves open, not as the next declaration —
and the checker can leave out what follows only from a declaration it never saw
(`ParseResult.lost`: an unknown name that the broken declaration declares).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from dataclasses import dataclass

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from policyengine.diagnostics import Diagnostic, Related
from policyengine.grammar import parser
from policyengine.parse_errors import ROUGH_TOKEN, declaration_keywords, syntax_diagnostic
from policyengine.span import SourceText, Span

MAX_FILE_BYTES = 2_000_000
MAX_NESTING = 64
# Lark parses some 30,000 tokens a second: the biggest bundled file has about 550, so a
# file is refused beyond 100,000 (counted by ROUGH_TOKEN, which counts `2024-01-01` as 5)
# before the parser spends more than a few seconds on it.
MAX_TOKENS = 100_000
# Past this many syntax errors in one file the rest of it is not parsed (its declarations
# are lost, so nothing follows from them either).
MAX_SYNTAX_ERRORS = 50
# The words after a declaration keyword that are not its name (`rule KIND provisional "…"`).
_NOT_NAMES = frozenset({"cite", "secondary", "provisional"})


@dataclass(frozen=True)
class Lost:
    """A declaration left out of the tree because of a syntax error in it: its keyword and
    the name it declares (None for `moments`, or what could not be read)."""

    keyword: str
    name: str | None
    span: Span


@dataclass(frozen=True)
class ParseResult:
    tree: Tree[Token] | None
    diagnostics: tuple[Diagnostic, ...]
    lost: tuple[Lost, ...] = ()


def parse(source: SourceText) -> ParseResult:
    """Parse one rule file: the tree of every declaration that parses, a diagnostic for
    each one that does not, and what those declared."""
    limit = check_limits(source)
    if limit is not None:
        return ParseResult(None, (limit,))
    try:
        return ParseResult(parser().parse(source.text), ())
    except UnexpectedInput as error:
        return _parse_by_declaration(source, error)


def too_large(display: str, size: int) -> Diagnostic | None:
    """P006 for a rule file of `size` bytes over MAX_FILE_BYTES (the loader asks before it
    reads a file, so a huge one is never read into memory)."""
    if size <= MAX_FILE_BYTES:
        return None
    return Diagnostic(
        "P006",
        f"rule file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}",
        Span(display, 1, 1, 1, 2),
        hint="split the policy into several files",
    )


def check_limits(source: SourceText) -> Diagnostic | None:
    """P006 for a file over the limits of size, tokens or nesting, else None."""
    refused = too_large(source.display, len(source.text.encode("utf-8", errors="replace")))
    if refused is not None:
        return refused
    depth = 0
    for count, match in enumerate(ROUGH_TOKEN.finditer(source.text), 1):
        if count > MAX_TOKENS:
            return Diagnostic(
                "P006",
                f"rule file has more than {MAX_TOKENS:,} tokens",
                source.span_at_offset(match.start()),
                hint="split the policy into several files",
            )
        token = match.group()
        if token in ("(", "{"):
            depth += 1
            if depth > MAX_NESTING:
                return Diagnostic(
                    "P006",
                    f"nesting deeper than {MAX_NESTING} levels",
                    source.span_at_offset(match.start()),
                )
        elif token in (")", "}"):
            depth -= 1
    return None


# ------------------------------------------------------------------ recovery


@functools.cache
def _declaration_line() -> re.Pattern[str]:
    words = "|".join(sorted(declaration_keywords()))
    return re.compile(rf"^([ \t]*)({words})(?![A-Za-z0-9_])", re.MULTILINE)


def declaration_starts(text: str) -> list[int]:
    """Where the declarations of `text` begin, as far as lines tell: each line that begins
    with a declaration keyword at brace depth 0, or at column 1."""
    starts = []
    tokens = ROUGH_TOKEN.finditer(text)
    depth = 0
    current = next(tokens, None)
    for line in _declaration_line().finditer(text):
        keyword_at = line.start(2)
        while current is not None and current.end() <= keyword_at:
            depth += _brace(current.group())
            current = next(tokens, None)
        if current is None or current.start() != keyword_at:
            continue  # the word is inside a string or a comment
        if depth <= 0 or not line.group(1):
            starts.append(line.start())
    return starts


def _brace(token: str) -> int:
    return 1 if token == "{" else -1 if token == "}" else 0


def _parse_by_declaration(source: SourceText, error: UnexpectedInput) -> ParseResult:
    text = source.text
    bounds = [0, *[s for s in declaration_starts(text) if s > 0], len(text)]
    children: list[Tree[Token] | Token] = []
    diagnostics: list[Diagnostic] = []
    lost: list[Lost] = []
    line = 1
    for start, end in itertools.pairwise(bounds):
        part = SourceText(source.path, source.display, text[start:end])
        lines = part.text.count("\n")
        if len(diagnostics) >= MAX_SYNTAX_ERRORS:
            lost.extend(_declared(part, line))
        else:
            try:
                tree = parser().parse(part.text)
            except UnexpectedInput as part_error:
                following = _following(text, end, lines + 1, source)
                diagnostic = syntax_diagnostic(part, part_error, following)
                diagnostics.append(_moved(diagnostic, line - 1))
                lost.extend(_declared(part, line))
            else:
                _move(tree, line - 1, start)
                children.extend(tree.children)
        line += lines
    if not diagnostics:  # the parts parse alone but not together: report the file's error
        everything = [
            lost
            for start, end in itertools.pairwise(bounds)
            for lost in _declared(
                SourceText(source.path, source.display, text[start:end]),
                text.count("\n", 0, start) + 1,
            )
        ]
        return ParseResult(None, (syntax_diagnostic(source, error),), tuple(everything))
    if len(diagnostics) >= MAX_SYNTAX_ERRORS:
        last = diagnostics[-1]
        hint = f"{last.hint}; " if last.hint else ""
        diagnostics[-1] = dataclasses.replace(
            last,
            hint=f"{hint}the rest of the file is not read after {MAX_SYNTAX_ERRORS} syntax errors",
        )
    return ParseResult(Tree("start", children), tuple(diagnostics), tuple(lost))


def _following(text: str, end: int, line: int, source: SourceText) -> Related | None:
    """The declaration that begins at `end`, on `line` counted from the start of the part
    before it: an unclosed block's note names it."""
    match = _declaration_line().match(text, end)
    if match is None:
        return None
    column = len(match.group(1)) + 1
    keyword = match.group(2)
    span = Span(source.display, line, column, line, column + len(keyword))
    return Related(span, f"`{keyword}` begins a new declaration")


def _declared(part: SourceText, line: int) -> list[Lost]:
    """What a part that is left out declares: `let NAME`, `rule KIND [NAME]`, …"""
    words = [m.group() for m in ROUGH_TOKEN.finditer(part.text, 0, 2000)][:3]
    if not words or words[0] not in declaration_keywords():
        return []
    keyword = words[0]
    names = [w for w in words[1:] if w.isidentifier() and w.isascii() and w not in _NOT_NAMES]
    if keyword in ("rule", "audit"):
        name = names[1] if len(names) > 1 else names[0] if names else None
    else:
        name = names[0] if names and keyword != "moments" else None
    offset = part.text.find(keyword)
    span = part.span_at_offset(offset, len(keyword))
    moved = Span(span.file, span.line + line - 1, span.col, span.end_line + line - 1, span.end_col)
    return [Lost(keyword, name, moved)]


def _moved(diagnostic: Diagnostic, lines: int) -> Diagnostic:
    """A part's diagnostic placed in the file (the part began `lines` lines down)."""
    related = tuple(Related(_down(r.span, lines), r.message) for r in diagnostic.related)
    return dataclasses.replace(diagnostic, span=_down(diagnostic.span, lines), related=related)


def _down(span: Span, lines: int) -> Span:
    return Span(span.file, span.line + lines, span.col, span.end_line + lines, span.end_col)


def _move(tree: Tree[Token], lines: int, offset: int) -> None:
    """Positions in a part's tree made positions in the file (a part begins at the start of
    a line, so columns stay)."""
    if not lines and not offset:
        return
    for subtree in tree.iter_subtrees():
        meta = subtree.meta
        if not meta.empty:
            meta.line += lines
            meta.end_line += lines
            meta.start_pos += offset
            meta.end_pos += offset
        for child in subtree.children:
            if isinstance(child, Token) and child.line is not None:
                child.line += lines
                child.end_line = (child.end_line or child.line) + lines
                if child.start_pos is not None:
                    child.start_pos += offset
                if child.end_pos is not None:
                    child.end_pos += offset
