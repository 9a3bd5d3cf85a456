"""Index a held document's text by clause path, so citations can be verified.

Each document numbers its clauses its own way: a government notice `一、` › `(一)` › `1.`, an
evaluation report `(一)` › `1.` › `(1)`, a web page `1、`, a regulation `第X章` › `第X条`.
The heading styles are recognised at the start of a line (STYLES) and ranked in the order
the document first uses them, which is the order they nest in it: a heading closes every
open heading of its own or a lower rank. A clause path writes the open headings' numbers
one after another: `三(二)5` (part 三, section (二), item 5.), `(二)2(2)` (section (二),
item 2., sub-item (2)), `2` (item 2、). A clause's text runs from its heading to the next
heading of the same or a higher rank, so `三(二)` contains its items.

Quotes are compared after NFKC normalisation with white space removed, against the whole
text (line breaks included, so a quote may run over two lines), HTML comments left out:
they are this project's notes on where the copy came from, not the document's words.

The public API (`index_document`, `document_lines`, `ClauseIndex`, `canonical`,
`is_clause_path`, `normalise`) serves the checker's citation pass, editor tooling (clause
completion: `ClauseIndex.order` and `ClauseIndex.heading`) and the service's page, which
shows a cited clause in its document.
"""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

_CN = "一二三四五六七八九十百零〇"
_CIRCLED = "".join(chr(c) for c in range(0x2460, 0x2474))  # ①-⑳
# Where a line's heading begins: after indentation and Markdown marks (`## `, `**`, `> `).
_LEAD = " \t\u3000#*>"
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_STOP = re.compile("[。:：]")
_SPACE = re.compile(r"\s+")
# A quote found this many times is not looked for further (the places are already many).
MAX_OCCURRENCES = 10_000


def normalise(text: str) -> str:
    """NFKC (full-width → half-width punctuation) without whitespace."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def _digits(number: str) -> str:
    return unicodedata.normalize("NFKC", number)


@dataclass(frozen=True)
class Style:
    """One way of numbering headings: its name, the heading at the start of a line (group
    1 the number) and how the number is written in a clause path."""

    name: str
    heading: re.Pattern[str]
    label: Callable[[str], str]


STYLES: tuple[Style, ...] = (
    Style("chapter", re.compile(rf"第([{_CN}]+)章"), lambda x: f"第{x}章"),
    Style("division", re.compile(rf"第([{_CN}]+)节"), lambda x: f"第{x}节"),
    Style("article", re.compile(rf"第([{_CN}]+)条"), lambda x: f"第{x}条"),
    Style("part", re.compile(rf"([{_CN}]+)、"), lambda x: x),
    Style("section", re.compile(rf"[(（]([{_CN}]+)[)）]"), lambda x: f"({x})"),
    # `1.` and `1、` are one style; `1.5` (a number opening a line) is no heading.
    Style("item", re.compile(r"([0-9０-９]+)[.．、](?![0-9０-９])"), _digits),
    Style("subitem", re.compile(r"[(（]([0-9０-９]+)[)）]"), lambda x: f"({_digits(x)})"),
    Style("circled", re.compile(f"([{_CIRCLED}])"), lambda x: x),
)
# The characters a heading can begin with.
_OPENERS = frozenset(f"第{_CN}(（0123456789０１２３４５６７８９{_CIRCLED}")
# One component of a written clause path, named by its style.
_COMPONENT = re.compile(
    rf"(?P<chapter>第[{_CN}]+章)|(?P<division>第[{_CN}]+节)|(?P<article>第[{_CN}]+[条款项])"
    rf"|(?P<part>[{_CN}]+[条款项章节]?)|(?P<section>\([{_CN}]+\))|(?P<subitem>\(\d+\))"
    rf"|(?P<item>\d+)|(?P<circled>[{_CIRCLED}])"
)
_CONTAINERS = ("chapter", "division")  # left out when citing an article: `第十九条`


def canonical(clause: str) -> str:
    """A written clause path with full-width parentheses and digits made half-width and
    spaces removed (circled numbers kept: NFKC would make ① a plain 1)."""
    text = "".join(ch if ch in _CIRCLED else unicodedata.normalize("NFKC", ch) for ch in clause)
    return re.sub(r"\s+", "", text)


def components(clause: str) -> list[tuple[str, str]] | None:
    """The path's (style, component) pairs, or None if it is not a clause path."""
    path = canonical(clause)
    found: list[tuple[str, str]] = []
    at = 0
    while at < len(path):
        match = _COMPONENT.match(path, at)
        if match is None or match.lastgroup is None:
            return None
        found.append((match.lastgroup, match.group()))
        at = match.end()
    return found or None


def is_clause_path(clause: str) -> bool:
    return components(clause) is not None


@dataclass
class ClauseIndex:
    """A document's normalised text and where each clause of it runs.

    `order` lists the clause paths in document order; `numbering` the heading styles in
    nesting order, each as the document writes its first heading (`(一)`, `1.`, `(1)`).
    """

    text: str = ""
    order: list[str] = field(default_factory=list)
    numbering: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)  # the style names, in nesting order
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    headings: dict[str, str] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # "" = the top level
    aliases: dict[str, str] = field(default_factory=dict)  # `第十九条` → `第三章第十九条`
    # Where the open clauses change: the offset in `text` and the path from there on.
    segment_starts: list[int] = field(default_factory=list)
    segment_paths: list[tuple[str, ...]] = field(default_factory=list)
    # Each line of the document as written (HTML comments left out) with the clause it is
    # in ("" before the first heading): the literate view prints them (tools/literate.py).
    lines: list[tuple[str, str]] = field(default_factory=list)

    def resolve(self, clause: str) -> str | None:
        """The clause's path as indexed, or None if the document has no such clause."""
        path = canonical(clause)
        if path in self.spans:
            return path
        return self.aliases.get(path)

    def has(self, clause: str) -> bool:
        return self.resolve(clause) is not None

    def heading(self, clause: str) -> str:
        """The heading line that opens the clause, as the document writes it."""
        path = self.resolve(clause)
        return self.headings.get(path, "") if path else ""

    def contains(self, clause: str, quote: str) -> bool:
        path = self.resolve(clause)
        wanted = normalise(quote)
        if path is None or not wanted:
            return False
        return any(self.text.find(wanted, start, end) >= 0 for start, end in self.spans[path])

    def locate(self, quote: str, limit: int = 12) -> list[str]:
        """The places the quote occurs, in document order: each the most specific clause
        holding that occurrence, "" for text outside every numbered clause. At most
        `limit` + 1 places are returned (more than `limit` means "many")."""
        wanted = normalise(quote)
        places: list[str] = []
        if not wanted:
            return places
        start = self.text.find(wanted)
        for _ in range(MAX_OCCURRENCES):
            if start < 0 or len(places) > limit:
                break
            place = self._place(start, start + len(wanted) - 1)
            if place not in places:
                places.append(place)
            start = self.text.find(wanted, start + 1)
        return places

    def closest(self, quote: str, clause: str | None = None) -> str:
        """The passage of the clause (or, with none, the document) most like a quote that
        is not in it: aligned on the longest run of the quote's words it holds and as long
        as the quote; "" if no run of 4 characters or more is there."""
        wanted = normalise(quote)
        path = self.resolve(clause) if clause is not None else None
        spans = self.spans[path] if path is not None else [(0, len(self.text))]
        matcher = difflib.SequenceMatcher(None, self.text, wanted, autojunk=False)
        best, best_ratio = "", 0.0
        slack = len(wanted) // 4 + 2  # room for words the quote adds or leaves out
        for start, end in spans:
            at, offset, size = matcher.find_longest_match(start, end, 0, len(wanted))
            if size < 4:
                continue
            low = max(start, at - offset - slack)
            window = self.text[low : min(end, at - offset + len(wanted) + slack)]
            fine = difflib.SequenceMatcher(None, window, wanted, autojunk=False)
            blocks = [block for block in fine.get_matching_blocks() if block.size]
            first, last = blocks[0], blocks[-1]
            begin = max(0, first.a - first.b)
            stop = last.a + last.size + len(wanted) - last.b - last.size
            passage = window[begin:stop]
            ratio = difflib.SequenceMatcher(None, passage, wanted, autojunk=False).ratio()
            if ratio > best_ratio:
                best, best_ratio = passage, ratio
        return best

    def where(self, quote: str) -> list[str]:
        """The most specific clauses whose text holds the quote."""
        return [place for place in self.locate(quote) if place]

    def nearby(self, clause: str, shown: int = 5) -> list[str]:
        """Clauses near a path the document does not have: the children of the deepest
        clause the path's own components reach (leaving out components of styles this
        document does not use), the nearest in number first."""
        parts = [c for style, c in components(clause) or [] if style in self.styles]
        parent = ""
        for part in parts:
            if (parent + part) not in self.spans:
                options = self.children.get(parent, [])
                wanted = _number(part)
                if wanted is not None:
                    start = len(parent)
                    options = sorted(options, key=lambda p: abs((_number(p[start:]) or 0) - wanted))
                return options[:shown]
            parent += part
        if not parent:
            return self.children.get("", [])[:shown]
        return [parent, *self.children.get(parent, [])[: shown - 1]]

    def _place(self, first: int, last: int) -> str:
        begin = self._segment(first)
        end = self._segment(last)
        common = 0
        while common < min(len(begin), len(end)) and begin[common] == end[common]:
            common += 1
        return "".join(begin[:common])

    def _segment(self, offset: int) -> tuple[str, ...]:
        at = bisect.bisect_right(self.segment_starts, offset) - 1
        return self.segment_paths[at] if at >= 0 else ()


def _number(component: str) -> int | None:
    """The number a path component names: `(二)` → 2, `12` → 12, `第十九条` → 19, `③` → 3."""
    core = component.strip("()第章节条款项")
    if core.isdigit():
        return int(core)
    if len(core) == 1 and core in _CIRCLED:
        return _CIRCLED.index(core) + 1
    return _chinese_number(core)


def _chinese_number(text: str) -> int | None:
    """一 … 九百九十九 (a clause number, not arbitrary Chinese numerals)."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0}
    total, current = 0, 0
    for ch in text:
        if ch in digits:
            current = digits[ch]
        elif ch in "十百":
            total += (current or 1) * (10 if ch == "十" else 100)
            current = 0
        else:
            return None
    return total + current if text else None


@dataclass
class _Open:
    rank: int
    path: str
    labels: tuple[str, ...]
    start: int


class _Indexer:
    """Reads a document line by line, opening and closing clauses at their headings."""

    def __init__(self) -> None:
        self.index = ClauseIndex()
        self.ranks: dict[str, int] = {}
        self.stack: list[_Open] = []
        self.pieces: list[str] = []
        self.offset = 0

    def line(self, raw: str) -> None:
        heading = self._heading(raw)
        if heading is not None:
            self._open(*heading, raw.strip())
        self.index.lines.append((self.stack[-1].path if self.stack else "", raw))
        normalised = normalise(raw)
        self.pieces.append(normalised)
        self.offset += len(normalised)

    def finish(self) -> ClauseIndex:
        self._close_to(-1)
        index = self.index
        index.text = "".join(self.pieces)
        index.aliases = _article_aliases(index.order, index.styles)
        return index

    def _heading(self, raw: str) -> tuple[int, str] | None:
        line = raw.lstrip(_LEAD)
        if line[:1] not in _OPENERS:  # most lines: no heading can start here
            return None
        for style in STYLES:
            match = style.heading.match(line)
            if match is None:
                continue
            if style.name not in self.ranks:
                self.ranks[style.name] = len(self.ranks)
                self.index.styles.append(style.name)
                self.index.numbering.append(canonical(match.group()))
            return self.ranks[style.name], style.label(match.group(1))
        return None

    def _open(self, rank: int, label: str, line: str) -> None:
        self._close_to(rank)
        parent = self.stack[-1] if self.stack else None
        labels = (*parent.labels, label) if parent else (label,)
        path = parent.path + label if parent else label
        index = self.index
        if path not in index.spans:
            index.spans[path] = []
            index.order.append(path)
            index.headings[path] = _title(line)
            index.children.setdefault(parent.path if parent else "", []).append(path)
        self.stack.append(_Open(rank, path, labels, self.offset))
        index.segment_starts.append(self.offset)
        index.segment_paths.append(labels)

    def _close_to(self, rank: int) -> None:
        """Close every open clause of `rank` or lower (a higher number)."""
        while self.stack and self.stack[-1].rank >= rank:
            done = self.stack.pop()
            self.index.spans[done.path].append((done.start, self.offset))


def _title(line: str) -> str:
    """A heading line up to its first full stop or colon: `(三)全民医保制度改革。`."""
    stop = _STOP.search(line, 0, 41)
    title = line[: stop.end()] if stop else line
    return title if len(title) <= 40 else title[:39] + "…"


def _article_aliases(paths: list[str], styles: list[str]) -> dict[str, str]:
    """An article (and what is inside it) cited without its chapter: `第十九条`, `第十九条(一)`,
    where that names one place."""
    short: dict[str, list[str]] = {}
    if "article" not in styles or not set(_CONTAINERS) & set(styles):
        return {}
    for path in paths:
        found = components(path) or []
        used = {style for style, _c in found}
        if "article" in used and set(_CONTAINERS) & used:
            key = "".join(c for style, c in found if style not in _CONTAINERS)
            short.setdefault(key, []).append(path)
    known = set(paths)
    return {key: full[0] for key, full in short.items() if len(full) == 1 and key not in known}


def document_lines(text: str) -> list[str]:
    """The document's lines as they are indexed: its HTML comments (our notes on the copy)
    left out. Line by line, `normalise(line)` joined is the index's `text`."""
    return _COMMENT.sub("", text).splitlines()


def index_document(text: str) -> ClauseIndex:
    indexer = _Indexer()
    for line in document_lines(text):
        indexer.line(line)
    return indexer.finish()
