"""The documents and rule files a loaded policy rests on, for the auditors' page.

A request names a document by its declared name (`TJ2018`) and a rule file by its display
path (`tianjin/audit.policy`); both are looked up in what the policy's loader read from the
policy's own directories (loader.py reads only inside them), never opened by a path the
request sends. A held document is shown with the cited clause marked and the quoted words
highlighted, found the way the checker verified them (clauses.py: NFKC, white space left
out), then mapped back onto the document's own characters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from policyengine.clauses import ClauseIndex, document_lines, index_document, normalise

if TYPE_CHECKING:
    from policyengine.prepared import LoadedPolicy

MAX_SOURCE_BYTES = 4_000_000  # as the checker's citations pass reads them


@dataclass(frozen=True)
class Document:
    name: str  # as declared: `source TJ2018 { … }`
    shown: str  # how citations name it: its number (文号), else its title
    title: str
    number: str | None
    date: str | None
    text: str | None  # None: the policy cites it but does not hold its text

    @property
    def index(self) -> ClauseIndex:
        return index_document(self.text or "")


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of one line of a document."""

    line: int
    start: int
    end: int


@dataclass(frozen=True)
class Marked:
    """A document laid out for showing: its lines, which belong to the cited clause, and
    which characters are the quoted words."""

    lines: list[str]
    clause_lines: set[int] = field(default_factory=set)
    quote: list[Span] = field(default_factory=list)
    clause_found: bool = False


@dataclass
class SourceLibrary:
    """One policy's documents (by name and as citations show them) and rule files."""

    documents: dict[str, Document] = field(default_factory=dict)
    rule_files: dict[str, str] = field(default_factory=dict)  # display path → text

    def by_shown(self, shown: str) -> Document | None:
        return next((d for d in self.documents.values() if d.shown == shown), None)


def library(policy: LoadedPolicy) -> SourceLibrary:
    """Read the policy's rule files and held documents (as the checker reads them)."""
    from policyengine import nodes
    from policyengine.loader import load

    loaded = load(policy.directory)
    found = SourceLibrary()
    found.rule_files = {display: text.text for display, text in loaded.texts.items()}
    for layer in loaded.layers:
        for decl in layer.decls():
            if not isinstance(decl, nodes.SourceDecl):
                continue
            number, title = decl.field("number"), decl.field("title")
            held = decl.field("file")
            text = None
            if held is not None:
                read = loaded.read(layer, str(held), MAX_SOURCE_BYTES)
                text = None if isinstance(read, str) else read[1]
            date = decl.field("date")
            found.documents[decl.name] = Document(
                name=decl.name,
                shown=str(number or title or decl.name),
                title=str(title or decl.name),
                number=None if number is None else str(number),
                date=None if date is None else str(date),
                text=text,
            )
    return found


def mark(document: Document, clause: str | None, quote: str | None) -> Marked:
    """Lay the document out with the clause's lines and the quote's characters marked."""
    text = document.text or ""
    lines = document_lines(text)
    index = index_document(text)
    starts: list[int] = []  # each line's offset in the index's normalised text
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(normalise(line))
    path = index.resolve(clause) if clause else None
    spans = index.spans.get(path, []) if path else [(0, len(index.text))]
    clause_lines = {
        number
        for number, line in enumerate(lines)
        for start, end in (spans if path else [])
        if starts[number] < end and starts[number] + len(normalise(line)) > start
    }
    marked = Marked(lines, clause_lines, [], clause_found=path is not None)
    wanted = normalise(quote or "")
    if not wanted:
        return marked
    for start, end in spans:
        at = index.text.find(wanted, start, end)
        while at >= 0:
            marked.quote.extend(_spans(lines, starts, at, at + len(wanted)))
            at = index.text.find(wanted, at + len(wanted), end)
    return marked


def _spans(lines: list[str], starts: list[int], first: int, last: int) -> list[Span]:
    """The original characters of normalised offsets [first, last), line by line."""
    out = []
    for number, line in enumerate(lines):
        normalised = normalise(line)
        begin, finish = starts[number], starts[number] + len(normalised)
        if finish <= first or begin >= last or not normalised:
            continue
        origin = _origins(line, normalised)
        if origin is None:  # cannot map characters back: the whole line
            out.append(Span(number, 0, len(line)))
            continue
        low, high = max(first, begin) - begin, min(last, finish) - begin
        out.append(Span(number, origin[low], origin[high - 1] + 1))
    return out


def _origins(line: str, normalised: str) -> list[int] | None:
    """For each character of `normalised` (the line normalised), the index of the character
    it came from (per-character NFKC), or None where that differs from the whole line's."""
    origins: list[int] = []
    pieces: list[str] = []
    for position, char in enumerate(line):
        piece = "".join(unicodedata.normalize("NFKC", char).split())
        pieces.append(piece)
        origins += [position] * len(piece)
    return origins if "".join(pieces) == normalised else None
