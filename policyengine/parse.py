"""Parse rule-file text with Lark; turn Lark's errors into located diagnostics.

A syntax error says where (file:line:col), what was found and what was expected; a
misspelled keyword gets a did-you-mean; an unclosed block points at its `{`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policyengine.diagnostics import Diagnostic, Related, Severity, did_you_mean
from policyengine.grammar import keywords, parser
from policyengine.span import SourceText, Span

MAX_FILE_BYTES = 2_000_000
MAX_NESTING = 64
# Lark parses some 30,000 tokens a second: the biggest bundled file has about 550, so a
# file is refused beyond 100,000 (counted by _SCAN, which counts `2024-01-01` as 5) before
# the parser spends more than a few seconds on it.
MAX_TOKENS = 100_000
# A rough tokenisation for the limits and for finding the `{` never closed: a string (with
# its escapes; an unterminated one runs to the end of the line) or a comment is one token.
_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\w+|\S')

# How the expected-token list reads to a policy author.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": 'a quoted string "…"',
    "DATE": "a date (YYYY-MM-DD)",
    "NUMBER": "a number",
    "INT": "an integer",
    "ICD": "an ICD-10 code such as I10",
    "CLAUSE": "a clause path such as 三(二)5 or (二)2(2)",
    "RANGE_SEP": "`..`",
    "PLUS": "`+`",
    "MINUS": "`-`",
    "TIMES": "`×`",
    "NOT": "`not`",
    "$END": "the end of the file",
}


@dataclass(frozen=True)
class ParseResult:
    tree: Tree[Token] | None
    diagnostics: tuple[Diagnostic, ...]


def parse(source: SourceText) -> ParseResult:
    """Parse one rule file; on failure return its syntax diagnostic instead of a tree."""
    limit = _check_limits(source)
    if limit is not None:
        return ParseResult(None, (limit,))
    try:
        return ParseResult(parser().parse(source.text), ())
    except UnexpectedInput as error:
        return ParseResult(None, (_syntax_diagnostic(source, error),))


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


def _check_limits(source: SourceText) -> Diagnostic | None:
    refused = too_large(source.display, len(source.text.encode("utf-8", errors="replace")))
    if refused is not None:
        return refused
    depth = 0
    for count, match in enumerate(_SCAN.finditer(source.text), 1):
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


def _syntax_diagnostic(source: SourceText, error: UnexpectedInput) -> Diagnostic:
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        return _eof_diagnostic(source, error)
    if isinstance(error, UnexpectedToken):
        return _token_diagnostic(source, error)
    assert isinstance(error, UnexpectedCharacters)
    return _character_diagnostic(source, error)


def _expected_words(expected: set[str] | frozenset[str]) -> list[str]:
    words = set()
    for name in expected:
        if name in _TERMINAL_WORDS:
            words.add(_TERMINAL_WORDS[name])
            continue
        try:
            pattern = parser().get_terminal(name).pattern
        except KeyError:
            continue
        words.add(f"`{pattern.value}`" if pattern.type == "str" else name.lower())
    return sorted(words)


def _expected_keywords(expected: set[str] | frozenset[str]) -> list[str]:
    result = []
    for name in expected:
        try:
            pattern = parser().get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str" and pattern.value.isidentifier():
            result.append(pattern.value)
    return result


def _expected_clause(expected: set[str] | frozenset[str]) -> str:
    words = _expected_words(expected)
    if not words:
        return ""
    if len(words) > 12:
        words = [*words[:12], "…"]
    return "; expected " + ", ".join(words)


def _accepts(text: str) -> set[str]:
    """The terminals the parser accepts after `text` (empty if `text` does not parse)."""
    try:
        interactive = parser().parse_interactive(text)
        interactive.exhaust_lexer()
        return set(interactive.accepts())  # type: ignore[no-untyped-call]
    except UnexpectedInput:
        return set()


@functools.cache
def _declaration_keywords() -> frozenset[str]:
    """The keywords that begin a top-level declaration (`let`, `ratio`, `rule`, …)."""
    return frozenset(_expected_keywords(_accepts("")))


def _token_diagnostic(source: SourceText, error: UnexpectedToken) -> Diagnostic:
    token = error.token
    span = _token_span(source, token)
    # The parser's own state merges look-aheads (LALR); ask it what it really accepts here.
    interactive = error.interactive_parser
    expected: set[str] = error.expected
    if interactive is not None:
        expected = set(interactive.accepts())  # type: ignore[no-untyped-call]
    if str(token) in _declaration_keywords() and "RBRACE" in expected:
        # A declaration inside a block, and the file has a `{` never closed: the block
        # before it lacks its `}`.
        opener = _unclosed_brace(source.text[: token.start_pos])
        if opener is not None and _unclosed_brace(source.text) is not None:
            return _unclosed(source, opener, [Related(span, f"`{token}` begins a new declaration")])
    misspelled = _misspelled_before(source, error)
    if misspelled is not None:
        return misspelled
    if token.type == "NAME" or str(token).isidentifier():
        word = str(token)
        candidates = _expected_keywords(expected)
        close = did_you_mean(word, candidates) or did_you_mean(word, keywords())
        if close is not None and close != word and close in candidates:
            return Diagnostic(
                "P003",
                f"unknown keyword `{word}`; did you mean `{close}`?",
                span,
                Severity.ERROR,
                hint=f"expected one of: {', '.join(sorted(candidates))}",
            )
    shown = str(token).replace("\n", "\\n")
    hint = None
    if str(token) in ("from", "until") and not {"FROM", "UNTIL"} & expected:
        hint = "dates come before the citation: `… => 800 元 from 2021-01-01 cite DOC …`"
    elif token.start_pos is not None:
        hint = _clause_punctuation(source.text, token.start_pos)
    return Diagnostic("P001", f"unexpected `{shown}`{_expected_clause(expected)}", span, hint=hint)


# A citation's clause path so far, just before `offset`: `cite DOC (三)1`.
_CITED_PATH = re.compile(r"(?:cite|secondary)\s+\w+\s+[^\s\"]+$")


def _clause_punctuation(text: str, offset: int) -> str | None:
    """A heading's `.` or `、` typed into a clause path (`(三)1.(2)`, `2、`)."""
    before = text[max(0, offset - 200) : offset]
    if text[offset : offset + 1] not in (".", "、", "．") or not _CITED_PATH.search(before):
        return None
    return (
        "a clause path leaves out the headings' punctuation: "
        "`2` for 2、, `(三)1(2)` for (三) › 1. › (2)"
    )


def _misspelled_before(source: SourceText, error: UnexpectedToken) -> Diagnostic | None:
    """`provisonal "x"` in a table: the misspelled keyword parsed as a row label, so the
    error surfaces at the next token. Blame the word if the keyword it resembles is
    accepted where it stands and the next token may follow that keyword."""
    history = getattr(error, "token_history", None) or []
    previous = history[-1] if history else None
    if previous is None or previous.type != "NAME" or previous.start_pos is None:
        return None
    prefix = source.text[: previous.start_pos]
    candidates = _expected_keywords(_accepts(prefix))
    close = did_you_mean(str(previous), candidates)
    if close is None or error.token.type not in _accepts(f"{prefix}{close} "):
        return None
    return Diagnostic(
        "P003",
        f"unknown keyword `{previous}`; did you mean `{close}`?",
        _token_span(source, previous),
        hint=f"expected one of: {', '.join(sorted(candidates))}",
    )


def _character_diagnostic(source: SourceText, error: UnexpectedCharacters) -> Diagnostic:
    offset = error.pos_in_stream or 0
    rest = source.text[offset:]
    if rest.startswith('"'):
        return Diagnostic(
            "P005",
            'unterminated string: a string must close with `"` on the same line',
            source.span_at_offset(offset),
        )
    word = _leading_word(rest)
    allowed = error.allowed or set()
    if word:
        candidates = _expected_keywords(allowed)
        close = did_you_mean(word, candidates)
        span = source.span_at_offset(offset, len(word))
        if close is not None:
            return Diagnostic(
                "P003",
                f"unknown keyword `{word}`; did you mean `{close}`?",
                span,
                hint=f"expected one of: {', '.join(sorted(candidates))}",
            )
        return Diagnostic("P001", f"unexpected `{word}`{_expected_clause(allowed)}", span)
    char = rest[:1]
    hint = _clause_punctuation(source.text, offset)
    if hint is None and not char.isascii() and "NAME" in allowed:
        hint = (
            "a name is ASCII letters, digits and `_`; a Chinese title goes in quotes "
            'after it: `let outpatient_deductible "起付线" = …`'
        )
    return Diagnostic(
        "P004" if char.isdigit() else "P001",
        f"unexpected character `{char}`{_expected_clause(allowed)}",
        source.span_at_offset(offset),
        hint=hint,
    )


def _eof_diagnostic(source: SourceText, error: UnexpectedInput) -> Diagnostic:
    opener = _unclosed_brace(source.text)
    if opener is not None:
        return _unclosed(source, opener)
    expected: set[str] = getattr(error, "expected", set())
    return Diagnostic(
        "P001",
        f"unexpected end of file{_expected_clause(expected)}",
        source.end_span(),
    )


def _unclosed(source: SourceText, opener: int, related: Sequence[Related] = ()) -> Diagnostic:
    return Diagnostic(
        "P002",
        "unclosed block: this `{` is never closed",
        source.span_at_offset(opener),
        hint="add the missing `}`",
        related=tuple(related),
    )


def _unclosed_brace(text: str) -> int | None:
    stack: list[int] = []
    for match in _SCAN.finditer(text):
        token = match.group()
        if token == "{":
            stack.append(match.start())
        elif token == "}" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _leading_word(text: str) -> str:
    end = 0
    while end < len(text) and (text[end].isalnum() or text[end] == "_") and text[end].isascii():
        end += 1
    return text[:end]


def _token_span(source: SourceText, token: Token) -> Span:
    line = token.line or 1
    col = token.column or 1
    end_line = token.end_line or line
    end_col = token.end_column or col + max(len(str(token)), 1)
    return Span(source.display, line, col, end_line, end_col)
