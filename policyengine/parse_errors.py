"""What a syntax error says: Lark's errors as located diagnostics for policy authors.

A syntax error says where (file:line:col), what was found and what was expected; a
misspelled keyword gets a did-you-mean; an unclosed block points at the `{` never closed
(chosen by indentation when the `}`s stand on lines of their own); the slips of a Chinese
input method — full-width digits and brackets (`７５００`, `一（一）`), a thousands separator
(`3,000`) — name the character and the ASCII text to write instead.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policyengine.diagnostics import Diagnostic, Related, Severity, did_you_mean
from policyengine.grammar import keywords, parser
from policyengine.span import SourceText, Span

# A rough tokenisation for the limits and for finding the `{` never closed: a string (with
# its escapes; an unterminated one runs to the end of the line) or a comment is one token.
ROUGH_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\w+|\S')

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
# Characters an input method types for ASCII ones that NFKC leaves alone.
_IME_PUNCTUATION = {"“": '"', "”": '"', "、": ",", "。": ".", "‘": "'", "’": "'"}
# Lines that continue a statement rather than begin one: a `{` at the end of such a line
# belongs to the statement begun above it.
_CONTINUATION = re.compile(r"[ \t]*(cite|secondary|provisional|dates|overrides|from|until)\b")


def syntax_diagnostic(
    source: SourceText, error: UnexpectedInput, following: Related | None = None
) -> Diagnostic:
    """The diagnostic for Lark's `error` in `source`; `following` is the declaration after
    this one, named in an unclosed block's note."""
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        return _eof_diagnostic(source, error, following)
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


def keywords_after(text: str) -> tuple[list[str], bool]:
    """The keywords the grammar accepts after `text`, and whether a name may come there
    (editor completion; empty if `text` does not parse so far)."""
    accepted = _accepts(text)
    return sorted(_expected_keywords(accepted)), "NAME" in accepted


@functools.cache
def declaration_keywords() -> frozenset[str]:
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
    if str(token) in declaration_keywords() and "RBRACE" in expected:
        # A declaration inside a block, and the file has a `{` never closed: the block
        # before it lacks its `}`.
        opener = unclosed_brace(source.text[: token.start_pos])
        if opener is not None and unclosed_brace(source.text) is not None:
            return _unclosed(source, opener, [Related(span, f"`{token}` begins a new declaration")])
    slip = _thousands(source, token)
    if slip is None and token.start_pos is not None:  # `E１４`: the lexer read `E` as a name
        slip = _input_method_slip(source, token.start_pos)
    if slip is not None:
        return slip
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


# A number written with thousands separators: `3,000`, `1,500,000.50` (`，` full-width too).
_GROUPED = re.compile(r"[0-9]{1,3}(?:[,，][0-9]{3})+(?:\.[0-9]+)?(?![0-9])")


def _thousands(source: SourceText, token: Token) -> Diagnostic | None:
    """`3,000 元`: the parser stops at the `,` (or at `000` after it) of a grouped number."""
    if token.start_pos is None:
        return None
    return _grouped_number_at(source, token.start_pos)


def _grouped_number_at(source: SourceText, offset: int) -> Diagnostic | None:
    text = source.text
    start = offset
    while start > 0 and text[start - 1] in "0123456789,，":
        start -= 1
    match = _GROUPED.match(text, start)
    if match is None or not match.start() <= offset < match.end():
        return None
    written = match.group()
    plain = re.sub("[,，]", "", written)
    return Diagnostic(
        "P004",
        f"`{written}`: numbers are written without thousands separators",
        source.span_at_offset(match.start(), len(written)),
        hint=f"write `{plain}`",
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
    punctuation = _clause_punctuation(source.text, offset)
    slip = None if punctuation else _grouped_number_at(source, offset)
    slip = slip or (None if punctuation else _input_method_slip(source, offset))
    if slip is not None:
        return slip
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
    hint = punctuation
    if hint is None and not char.isascii() and "NAME" in allowed:
        hint = (
            "a name is ASCII letters, digits and `_`; a Chinese title goes in quotes "
            'after it: `let outpatient_deductible "起付线" = …`'
        )
    return Diagnostic(
        "P001",
        f"unexpected character `{char}`{_expected_clause(allowed)}",
        source.span_at_offset(offset),
        hint=hint,
    )


def ascii_for(char: str) -> str | None:
    """The ASCII character an input method's `char` stands for: `７` → `7`, `٧` → `7`,
    `（` → `(`, `，` → `,`, `“` → `"`, the ideographic space → a space; None if none."""
    if char.isascii():
        return None
    if unicodedata.decimal(char, None) is not None:
        return str(unicodedata.decimal(char))
    if char in _IME_PUNCTUATION:
        return _IME_PUNCTUATION[char]
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 and folded.isascii() else None


def _input_method_slip(source: SourceText, offset: int) -> Diagnostic | None:
    """A non-ASCII digit or a full-width bracket, comma, … where the parser stopped (or
    further on in the same word: `E１４` stops at `E`)."""
    text = source.text
    start, end = offset, offset
    while start > 0 and offset - start < 40 and _in_word(text[start - 1]):
        start -= 1
    while end < len(text) and end - offset < 40 and _in_word(text[end]):
        end += 1
    at = next((i for i in range(offset, end) if ascii_for(text[i]) is not None), None)
    if at is None:
        return None
    char = text[at]
    name = unicodedata.name(char, f"U+{ord(char):04X}")
    written = text[start:end]
    fixed = "".join(ascii_for(c) or c for c in written)
    digit = unicodedata.decimal(char, None) is not None
    what = "not an ASCII digit" if digit else "a full-width character"
    return Diagnostic(
        "P004" if digit else "P001",
        f"`{char}` ({name}) is {what}: rule files take ASCII `{ascii_for(char)}`",
        source.span_at_offset(at),
        hint=f"write `{fixed.strip()}` (switch the input method to half-width, 半角)",
    )


def _in_word(char: str) -> bool:
    return not char.isspace() and char not in '"#'


def _eof_diagnostic(
    source: SourceText, error: UnexpectedInput, following: Related | None
) -> Diagnostic:
    opener = unclosed_brace(source.text)
    if opener is not None:
        return _unclosed(source, opener, [following] if following else [])
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


def unclosed_brace(text: str) -> int | None:
    """The offset of a `{` never closed in `text`, or None. A `}` alone on its line closes
    the block whose statement is indented as it is, so in

        audit excess_supply … {
          max_days {
            when visit outpatient => 7 days …
        }

    the `}` closes the rule and `max_days {` is the block left open; otherwise the innermost
    `{` left open at the end."""
    stack: list[tuple[int, int]] = []  # (offset of `{`, indentation of its statement)
    unclosed: list[int] = []
    for match in ROUGH_TOKEN.finditer(text):
        token = match.group()
        if token == "{":
            stack.append((match.start(), _statement_indent(text, match.start())))
        elif token == "}" and stack:
            indent = _indent_if_first(text, match.start())
            if indent is not None and any(level == indent for _, level in stack):
                while stack[-1][1] != indent:
                    unclosed.append(stack.pop()[0])
            stack.pop()
    if unclosed:
        return unclosed[0]
    return stack[-1][0] if stack else None


def _indent_if_first(text: str, offset: int) -> int | None:
    """The indentation of the line at `offset` if nothing but blanks precede it there."""
    line_start = text.rfind("\n", 0, offset) + 1
    before = text[line_start:offset]
    return len(before) if not before.strip() else None


def _statement_indent(text: str, offset: int) -> int:
    """The indentation of the statement a `{` at `offset` opens: its line's, or, on a line
    that continues a statement (`  cite DOC … {`), the first line above that does not."""
    line_start = text.rfind("\n", 0, offset) + 1
    while line_start > 0 and _CONTINUATION.match(text, line_start):
        line_start = text.rfind("\n", 0, line_start - 1) + 1
    line = text[line_start:offset]
    return len(line) - len(line.lstrip(" \t"))


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
