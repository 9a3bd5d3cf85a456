"""The sheet fmt writes on (tools/fmt.py): words and comments line by line, each comment
kept beside the word it stood before or after."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from lark import Token, Tree


class FormatError(Exception):
    """The formatter's own failure (a bug): the text is left as it was."""


def tokens(node: Tree[Token] | Token) -> Iterator[Token]:
    """The words under `node` in order (without recursion: `1 元 + 1 元 + …` nests deep)."""
    stack: list[Tree[Token] | Token] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Token):
            yield item
        else:
            stack.extend(reversed(item.children))


class Gap(NamedTuple):
    """How a word follows the one before: on the same line (`inline`, one space more
    `pad`; `glue`, none), or on a new line at `indent` — a statement (blank lines before
    it are kept), a continuation of one, or a block's closing `}`."""

    kind: str
    indent: int = 0
    pad: int = 0


INLINE = Gap("inline")
UNARY_MINUS = "UNARY_MINUS"  # the token type fmt gives a sign (`-10 pt`), glued to its value


@dataclass
class _Comment:
    text: str
    blank_before: bool


@dataclass
class Sheet:
    """Writes words and comments line by line; comments are attached to the word they
    stand before (a comment on a line of its own) or after (a comment after code)."""

    source: str
    tree: Tree[Token]
    comments: list[Token]
    lines: list[str] = field(default_factory=list)
    line: str | None = None  # the line being written
    indent: int = 0
    statement: int = 0  # the indentation of the statement being written
    broken: bool = False  # a comment ended the line: the next word starts another
    last: Token | None = None
    leading: dict[int, list[_Comment]] = field(default_factory=dict)
    trailing: dict[int, list[str]] = field(default_factory=dict)
    blank: set[int] = field(default_factory=set)
    at_end: list[_Comment] = field(default_factory=list)

    def __post_init__(self) -> None:
        items = sorted([*tokens(self.tree), *self.comments], key=lambda item: item.start_pos or 0)
        previous_end, previous = 0, None
        waiting: list[_Comment] = []
        for item in items:
            start = item.start_pos or 0
            blank = self.source.count("\n", previous_end, start) >= 2
            if item.type == "COMMENT":
                line_start = self.source.rfind("\n", 0, start) + 1
                text = str(item).rstrip()
                if previous is not None and self.source[line_start:start].strip():
                    self.trailing.setdefault(id(previous), []).append(text)
                else:
                    waiting.append(_Comment(text, blank))
            else:
                if waiting:
                    self.leading[id(item)], waiting = waiting, []
                if blank:
                    self.blank.add(id(item))
                previous = item
            previous_end = item.end_pos or start
        self.at_end = waiting

    def put(self, token: Token, gap: Gap) -> None:
        comments = self.leading.pop(id(token), [])
        if comments:
            at = gap.indent if gap.kind in ("statement", "continue") else self._onward()
            if gap.kind == "close":  # the last words of a block, indented as its statements
                at = gap.indent + 2
            keep_blank = gap.kind in ("statement", "close")
            for comment in comments:
                self._new_line(at, blank=comment.blank_before and keep_blank)
                self.line = f"{self.line}{comment.text}"
            if gap.kind in ("inline", "glue"):
                gap = Gap("continue", at)
            self.broken = True
        if self.broken and gap.kind in ("inline", "glue"):
            gap = Gap("continue", self._onward())
        if gap.kind in ("inline", "glue"):
            spaces = 0 if gap.kind == "glue" or glued(self.last, token) else 1 + gap.pad
            self.line = f"{self.line}{' ' * spaces}{token}"
        else:
            blank = gap.kind == "statement" and id(token) in self.blank
            self._new_line(gap.indent, blank=blank)
            if gap.kind == "statement":
                self.statement = gap.indent
            self.line = f"{self.line}{token}"
        self.last, self.broken = token, False
        for comment_text in self.trailing.pop(id(token), []):
            self.line = f"{self.line}  {comment_text}"
            self.broken = True

    def finish(self) -> str:
        for comment in self.at_end:
            self._new_line(0, blank=comment.blank_before)
            self.line = f"{self.line}{comment.text}"
        self._new_line(0, blank=False)
        if self.leading or self.trailing:
            raise FormatError("a comment was not written")
        return "\n".join(self.lines).rstrip("\n") + "\n" if self.lines else ""

    def _onward(self) -> int:
        """Where a statement broken by a comment goes on: two spaces in from it."""
        return max(self.indent, self.statement + 2)

    def _new_line(self, indent: int, *, blank: bool) -> None:
        if self.line is not None:
            self.lines.append(self.line.rstrip())
        if blank and self.lines and self.lines[-1] and not self.lines[-1].endswith("{"):
            self.lines.append("")
        self.line, self.indent = " " * indent, indent


def glued(previous: Token | None, token: Token) -> bool:
    """No space between the two words: `max(` (a call's name and its parenthesis: only a
    function's name is a NAME before `(`), `-10 pt` (a sign, typed UNARY_MINUS by fmt)."""
    if previous is None:
        return False
    if token in (",", ")", ":", "%", ".") or token.type == "RANGE_SEP":
        return True
    if token == "(" and previous.type == "NAME":
        return True
    return previous in ("(", ".") or previous.type in ("RANGE_SEP", UNARY_MINUS)
