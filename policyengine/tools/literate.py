"""The literate view of a policy: its documents clause by clause, each with what cites it.

For a reviewer who holds the notice in one hand: every held document in the order the
policy declares them, its text in document order, and after each clause's own text every
rule and figure that cites it (so a clause that became nothing shows as such); then the
documents the policy names but does not hold, and the provisional figures grouped by what
they stand in for. tools/render.py writes it as text, Markdown or HTML.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from policyengine import nodes as n
from policyengine.check import check_in_context
from policyengine.check.citations import citation_places
from policyengine.check.context import CheckContext
from policyengine.clauses import ClauseIndex
from policyengine.diagnostics import Diagnostic
from policyengine.loader import load

# What a provisional figure stands in for, by where it is written (in this order).
GROUPS = {
    "start": "the policy's start",
    "header": "the policy's header: tiers, benefit year, rounding",
    "condition": "condition lists",
    "catalogue": "the catalogue",
    "let": "named figures (let)",
    "deductible": "deductibles 起付线",
    "ratio": "ratios 支付比例",
    "cap": "caps 最高支付限额",
    "limit": "per-condition limits 病种限额",
    "second_layer": "second layer 大病保险",
    "pre_self_pay": "pre-self-pay 先行自付",
    "rule": "rules and their parameters",
    "dates": "effective dates",
    "moments": "audit moments",
}
_LABEL_WIDTH = 110
_DECLARES = frozenset({"policy", "condition", "catalogue", "let", "rule", "audit", "moments"})


@dataclass(frozen=True)
class Cited:
    """One citation and what it stands for: where it is written, a label (the rule-file
    line it annotates), and its group (GROUPS)."""

    provenance: n.Provenance
    location: str
    label: str
    group: str

    @property
    def quote(self) -> str | None:
        return None if isinstance(self.provenance, n.Provisional) else self.provenance.quote


def describe(provenance: n.Provenance) -> str:
    """A citation as written: `cite DOC CLAUSE “quote”`, `secondary DOC`, `provisional: …`."""
    if isinstance(provenance, n.Provisional):
        return f"provisional: {provenance.reason}"
    clause = f" {provenance.clause}" if provenance.clause else ""
    keyword = "cite" if isinstance(provenance, n.Cite) else "secondary"
    quote = f" “{provenance.quote}”" if provenance.quote else ""
    return f"{keyword} {provenance.doc}{clause}{quote}"


def clause_text(index: ClauseIndex, clause: str, limit: int = 60) -> list[str]:
    """The lines of a clause as the document writes them, those of its sub-clauses too."""
    path = index.resolve(clause)
    if path is None:
        return []
    inside = {path}
    waiting = [path]
    while waiting:
        for child in index.children.get(waiting.pop(), []):
            inside.add(child)
            waiting.append(child)
    lines = [line.strip() for where, line in index.lines if where in inside and line.strip()]
    return lines[:limit] + (["…"] if len(lines) > limit else [])


@dataclass
class Passage:
    """A clause's own lines (its heading and the text up to the next heading), or the
    document's text before its first heading (`path` "")."""

    path: str
    lines: list[str]
    cited: list[Cited] = field(default_factory=list)


@dataclass
class Document:
    name: str
    title: str
    number: str
    file: str
    passages: list[Passage]

    @property
    def clauses(self) -> list[Passage]:
        return [p for p in self.passages if p.path]


@dataclass
class Unheld:
    """A document the policy names but does not hold, and what rests on it."""

    name: str
    title: str
    number: str
    cited: list[Cited]


@dataclass
class View:
    name: str
    title: str
    documents: list[Document]
    unheld: list[Unheld]
    provisional: list[tuple[str, list[Cited]]]


def build_view(directory: Path) -> View | tuple[Diagnostic, ...]:
    """The view of the policy in `directory`, or its errors if it does not check clean."""
    loaded = load(directory)
    result, ctx = check_in_context(loaded)
    if not result.ok or ctx.policy is None:
        return result.diagnostics
    cited = list(_citations(ctx))
    documents, unheld = [], []
    for name, source in ctx.sources.items():
        own = [c for c in cited if _names(c.provenance, name)]
        index = ctx.clause_index.get(name)
        if index is None:
            unheld.append(Unheld(name, _field(source, "title"), _field(source, "number"), own))
        else:
            passages = _passages(index, own, ctx)
            documents.append(
                Document(
                    name,
                    _field(source, "title"),
                    _field(source, "number"),
                    _field(source, "file"),
                    passages,
                )
            )
    provisional = [
        (title, [c for c in cited if c.group == key and isinstance(c.provenance, n.Provisional)])
        for key, title in GROUPS.items()
    ]
    return View(
        ctx.policy.name,
        ctx.policy.title or ctx.policy.name,
        documents,
        unheld,
        [(title, items) for title, items in provisional if items],
    )


def _names(provenance: n.Provenance, source: str) -> bool:
    return not isinstance(provenance, n.Provisional) and provenance.doc == source


def _field(source: n.SourceDecl, key: str) -> str:
    value = source.field(key)
    return "" if value is None else str(value)


def _passages(index: ClauseIndex, cited: list[Cited], ctx: CheckContext) -> list[Passage]:
    by_path: dict[str, list[Cited]] = {}
    for item in cited:
        origin = ctx.origins.get(id(item.provenance))
        clause = origin.clause if origin is not None else None
        path = (index.resolve(clause) or "") if clause else ""
        if clause or item.quote:
            by_path.setdefault(path, []).append(item)
    passages: list[Passage] = []
    for path, line in index.lines:
        if not passages or passages[-1].path != path:
            passages.append(Passage(path, [], by_path.pop(path, [])))
        passages[-1].lines.append(line)
    if by_path:  # a citation of the whole document (no clause): with its opening text
        if not passages or passages[0].path:
            passages.insert(0, Passage("", []))
        passages[0].cited.extend(c for items in by_path.values() for c in items)
    for passage in passages:
        while passage.lines and not passage.lines[-1].strip():
            passage.lines.pop()
    return [p for p in passages if p.lines or p.cited]


# ------------------------------------------------------------------ what cites what


def _citations(ctx: CheckContext) -> Iterator[Cited]:
    """Every citation of the policy and its layers, with the rule-file line it annotates."""
    for _layer, decl in ctx.all_decls():
        for place in citation_places(decl):
            provenance, span, what, group = place.provenance, place.owner, place.label, place.group
            if provenance is not None:
                line = " ".join(ctx.loaded.texts[span.file].line_text(span.line).split())
                line = line.removesuffix("{").rstrip()
                keyword = line.split(" ", 1)[0]
                if group == "start":
                    line, keyword = what, "policy"
                # a declaration's own line says what it is; a row's or a parameter's needs
                # the table or rule it belongs to
                label = line if keyword in _DECLARES else f"{what}: {line}" if line else what
                if len(label) > _LABEL_WIDTH:
                    label = label[: _LABEL_WIDTH - 1] + "…"
                yield Cited(provenance, span.location, label, group)


# ------------------------------------------------------------------ quotes in the text


def quoted_spans(text: str, quotes: list[str]) -> list[tuple[int, int]]:
    """Where in `text` (as written) each quote occurs, compared as the checker compares
    them (NFKC, white space left out): the ranges to mark, merged and in order."""
    folded: list[str] = []
    origin: list[int] = []  # the offset in `text` of each folded character
    for offset, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char):
            if not piece.isspace():
                folded.append(piece)
                origin.append(offset)
    haystack = "".join(folded)
    ranges = []
    for quote in quotes:
        wanted = "".join(unicodedata.normalize("NFKC", quote).split())
        start = haystack.find(wanted) if wanted else -1
        while start >= 0:
            ranges.append((origin[start], origin[start + len(wanted) - 1] + 1))
            start = haystack.find(wanted, start + len(wanted))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
