"""Diagnostics: a stable code, a message, a span, an optional hint and related spans.

Passes collect every diagnostic they find (never only the first); `render` prints them
as `path:line:col: error[CODE]: message`, the source line and a caret under the span.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum

from policyengine.span import SourceText, Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# Every code the checker can emit, with a one-line meaning (docs/diagnostics.md lists them).
CODES: Mapping[str, str] = {
    "P001": "syntax error: unexpected token",
    "P002": "unclosed block",
    "P003": "misspelled keyword",
    "P004": "invalid literal",
    "P005": "unterminated string",
    "P006": "input too large or too deeply nested",
    "N001": "unknown name",
    "N002": "duplicate definition",
    "N003": "unknown layer",
    "N004": "unknown parameter or setting",
    "N005": "missing required parameter or setting",
    "T001": "unit mismatch in an operation",
    "T002": "wrong unit for this place",
    "T003": "value out of range",
    "T004": "money finer than the fen",
    "C001": "missing citation",
    "C002": "unknown source document",
    "C003": "unknown clause",
    "C004": "quote not found in clause",
    "C005": "source document file not found",
    "C006": "citation of a document we do not hold",
    "C007": "cited figure not stated by its quote",
    "C008": "quote in more than one place",
    "C009": "`derived` note with nothing to explain",
    "D001": "overlapping effective dates",
    "D002": "gap in effective dates",
    "D003": "empty effective range",
    "R001": "overlapping table rows",
    "R002": "incomplete table",
    "R003": "conflicting rules",
    "R004": "unknown override target",
    "R005": "a visit type cannot be settled",
    "R006": "a rule's row for visits its kind does not check",
    "I001": "catalogue file error",
    "I002": "policy layout error",
}


@dataclass(frozen=True)
class Related:
    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    severity: Severity = Severity.ERROR
    hint: str | None = None
    related: tuple[Related, ...] = field(default_factory=tuple)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.col, self.code)

    def headline(self) -> str:
        return f"{self.span}: {self.severity.value}[{self.code}]: {self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            **_position(self.span),
            "hint": self.hint,
            "related": [{**_position(r.span), "message": r.message} for r in self.related],
        }


def _position(span: Span) -> dict[str, object]:
    """Where a span is, for JSON: 1-based line and column of its start, and of the
    character after its end (as an editor's range)."""
    return {
        "file": span.file,
        "line": span.line,
        "col": span.col,
        "end_line": span.end_line,
        "end_col": span.end_col,
    }


class Diagnostics:
    """A collector that passes append to; it never stops at the first problem."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def error(
        self,
        code: str,
        message: str,
        span: Span,
        hint: str | None = None,
        related: Sequence[Related] = (),
    ) -> None:
        self._items.append(Diagnostic(code, message, span, Severity.ERROR, hint, tuple(related)))

    def warning(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self._items.append(Diagnostic(code, message, span, Severity.WARNING, hint))

    def extend(self, items: Iterable[Diagnostic]) -> None:
        self._items.extend(items)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self._items)

    def sorted(self) -> list[Diagnostic]:
        unique = {(d.sort_key(), d.message): d for d in self._items}
        return [unique[k] for k in sorted(unique)]

    def __len__(self) -> int:
        return len(self._items)


def printable(text: str) -> str:
    """`text` with each unprintable character (a line break, a control, a lone surrogate
    from an undecodable file name) as its backslash escape: `\\n`, `\\x00`, `\\udcff`."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


# Did-you-mean compares the word with every candidate (difflib: some 15 µs each). Within a
# check they share a budget of comparisons, so thousands of unknown names among thousands
# of figures cost seconds, not minutes: past it, diagnostics come without a suggestion.
SUGGESTION_BUDGET = 200_000
_budget: ContextVar[list[int] | None] = ContextVar("suggestion_budget", default=None)


@contextmanager
def suggestion_budget(comparisons: int = SUGGESTION_BUDGET) -> Iterator[None]:
    """Bound the did-you-mean comparisons made inside the block (unless already bounded)."""
    if _budget.get() is not None:
        yield
        return
    token = _budget.set([comparisons])
    try:
        yield
    finally:
        _budget.reset(token)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest known name to `word`, if one is close enough to be a likely typo."""
    left = _budget.get()
    if left is not None and left[0] <= 0:
        return None
    options = sorted(set(candidates))
    if left is not None:
        left[0] -= len(options)
        if left[0] < 0:
            return None
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return matches[0] if matches else None


def suggestion(word: str, candidates: Iterable[str]) -> str | None:
    close = did_you_mean(word, candidates)
    return f"did you mean `{close}`?" if close else None


def render(diagnostic: Diagnostic, sources: Mapping[str, SourceText]) -> str:
    """Headline, the source line with a caret under the span, related spans, the hint."""
    out = [diagnostic.headline()]
    out.extend(_snippet(diagnostic.span, sources))
    for rel in diagnostic.related:
        out.append(f"  {rel.span}: note: {rel.message}")
        out.extend(_snippet(rel.span, sources))
    if diagnostic.hint:
        out.append(f"  = help: {diagnostic.hint}")
    return "\n".join(out)


def _snippet(span: Span, sources: Mapping[str, SourceText]) -> list[str]:
    source = sources.get(span.file)
    if source is None:
        return []
    text = source.line_text(span.line)
    if not text:
        return []
    gutter = str(span.line)
    width = span.end_col - span.col if span.end_line == span.line else len(text) - span.col + 1
    caret = " " * display_width(text[: span.col - 1]) + "^" * max(
        1, display_width(text[span.col - 1 : span.col - 1 + max(width, 1)])
    )
    return [f"  {gutter} | {text}", f"  {' ' * len(gutter)} | {caret}"]


def display_width(text: str) -> int:
    """Terminal columns: CJK and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
