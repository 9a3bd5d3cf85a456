"""Index a policy document's text by clause path, so citations can be verified.

Chinese policy documents number their parts `一、`, sections `(一)` and items `1.`; the
clause path `三(二)5` is part 三, section (二), item 5. A clause's text runs from its
heading to the next heading of the same or a higher level, so `三(二)` contains its items.
Quotes are compared after NFKC normalisation with whitespace removed.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field

_PART = re.compile(r"^\s*([一二三四五六七八九十]+)、")
_SECTION = re.compile(r"^\s*[(（]([一二三四五六七八九十]+)[)）]")
_ITEM = re.compile(r"^\s*(\d+)[.．、]")
_CLAUSE_PATH = re.compile(r"^([一二三四五六七八九十]+)((?:\([一二三四五六七八九十]+\))?)(\d*)$")


def normalise(text: str) -> str:
    """NFKC (full-width → half-width punctuation) without whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@dataclass
class ClauseIndex:
    """Clause path → normalised text; `order` keeps document order for messages."""

    texts: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def add(self, path: str, line: str) -> None:
        self.add_all({path: [normalise(line)]})

    def add_all(self, parts: dict[str, list[str]]) -> None:
        """Append each clause's normalised lines (joined once: adding line by line to a
        string copies it every time, quadratic in a long clause)."""
        for path, lines in parts.items():
            if path not in self.texts:
                self.texts[path] = ""
                self.order.append(path)
            self.texts[path] += "".join(lines)

    def contains(self, clause: str, quote: str) -> bool:
        return normalise(quote) in self.texts.get(canonical(clause), "")

    def where(self, quote: str) -> list[str]:
        """The most specific clauses whose text holds the quote."""
        wanted = normalise(quote)
        hits = [path for path in self.order if wanted in self.texts[path]]
        # In sorted order the paths extending `p` follow `p` directly: one look per path
        # (comparing every pair is quadratic in a document of many items).
        ordered = sorted(hits)
        general = {p for p, following in itertools.pairwise(ordered) if following.startswith(p)}
        return [p for p in hits if p not in general]

    def has(self, clause: str) -> bool:
        return canonical(clause) in self.texts


def canonical(clause: str) -> str:
    return unicodedata.normalize("NFKC", clause).replace(" ", "")


def is_clause_path(clause: str) -> bool:
    return _CLAUSE_PATH.match(canonical(clause)) is not None


def index_document(text: str) -> ClauseIndex:
    parts: dict[str, list[str]] = {}
    part = section = item = ""
    for line in text.splitlines():
        if match := _PART.match(line):
            part, section, item = match.group(1), "", ""
        elif part and (match := _SECTION.match(line)):
            section, item = f"({match.group(1)})", ""
        elif part and section and (match := _ITEM.match(line)):
            item = match.group(1)
        if not part:
            continue
        normalised = normalise(line)
        for path in _enclosing(part, section, item):
            parts.setdefault(path, []).append(normalised)
    index = ClauseIndex()
    index.add_all(parts)
    return index


def _enclosing(part: str, section: str, item: str) -> list[str]:
    paths = [part]
    if section:
        paths.append(part + section)
        if item:
            paths.append(part + section + item)
    return paths
