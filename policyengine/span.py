"""Source positions: every AST node and diagnostic points back into a rule file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based, end-exclusive region of a file. `file` is the path as shown to users."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    @property
    def location(self) -> str:
        """`file:line`, the form results and traces use to name a rule."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class SourceText:
    """A rule file's text, kept so diagnostics can quote the offending line."""

    path: Path
    display: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def span_at_offset(self, offset: int, length: int = 1) -> Span:
        line = self.text.count("\n", 0, offset) + 1
        line_start = self.text.rfind("\n", 0, offset) + 1
        col = offset - line_start + 1
        return Span(self.display, line, col, line, col + max(length, 1))

    def end_span(self) -> Span:
        return self.span_at_offset(len(self.text.rstrip()), 1)
