"""What the language server knows of a policy: checked as the editor holds its files, and
where each name is defined and used.

An Analysis loads and checks one policy directory (with the layers it uses) exactly as
`policyengine check` does, the editor's unsaved texts read in place of the files, and
indexes every occurrence of a name: figures (`let`), sources, conditions, tables, rules and
the clauses citations name. Hover, go to definition and the outline read it; the server
(server.py) turns its spans into the protocol's ranges.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from policyengine import nodes as n
from policyengine.check import CheckResult, check_in_context
from policyengine.check.citations import citation_places
from policyengine.check.context import CheckContext
from policyengine.check.header import MEANINGS, WORDS
from policyengine.check.lower import show_value
from policyengine.diagnostics import Diagnostic, suggestion_budget
from policyengine.loader import load
from policyengine.semantics.facts import FACTS
from policyengine.semantics.vocabulary import FINDING_KINDS, TABLE_UNITS
from policyengine.span import Span
from policyengine.tools.literate import clause_text, describe, quoted_spans


@dataclass(frozen=True)
class Occurrence:
    """A name where it is written: its kind (`let`, `source`, `condition`, `table`, `rule`,
    `clause` — named `DOC PATH`), and whether it is the definition."""

    span: Span
    kind: str
    name: str
    defines: bool = False


@dataclass(frozen=True)
class Symbol:
    """A declaration in the outline, with its rows."""

    name: str
    detail: str
    kind: str
    span: Span
    selection: Span
    children: tuple[Symbol, ...] = ()


class Analysis:
    def __init__(self, directory: Path, overlay: Mapping[Path, str] | None = None) -> None:
        self.loaded = load(directory, overlay)
        with suggestion_budget():
            checked: tuple[CheckResult, CheckContext] = check_in_context(self.loaded)
        self.result, self.ctx = checked
        self.occurrences: list[Occurrence] = []
        self.owners: list[tuple[Span, n.Decl, n.Row | None]] = []
        for layer in self.loaded.layers:
            for rule_file in layer.files:
                for decl in rule_file.decls:
                    self._index(decl)

    # ------------------------------------------------------------ files

    def path(self, display: str) -> Path:
        return self.loaded.root / display

    def display(self, path: Path) -> str | None:
        try:
            return path.resolve().relative_to(self.loaded.root).as_posix()
        except ValueError:
            return None

    def files(self) -> list[str]:
        """Every rule file of the policy and its layers, as diagnostics name them."""
        return sorted(self.loaded.texts)

    def diagnostics(self) -> dict[str, list[Diagnostic]]:
        found: dict[str, list[Diagnostic]] = {display: [] for display in self.files()}
        for diagnostic in self.result.diagnostics:
            found.setdefault(diagnostic.span.file, []).append(diagnostic)
        return found

    # ------------------------------------------------------------ queries

    def at(self, display: str, line: int, col: int) -> Occurrence | None:
        """The occurrence of a name at a position (1-based line, column)."""
        return next(
            (o for o in self.occurrences if o.span.file == display and _inside(o.span, line, col)),
            None,
        )

    def definitions(self, occurrence: Occurrence) -> list[Span]:
        return [
            o.span
            for o in self.occurrences
            if o.defines and o.kind == occurrence.kind and o.name == occurrence.name
        ]

    def clause_line(self, occurrence: Occurrence) -> tuple[Path, int] | None:
        """The file and line of the document where a cited clause begins."""
        doc, _, clause = occurrence.name.partition(" ")
        index = self.ctx.clause_index.get(doc)
        source = self.ctx.sources.get(doc)
        path = index.resolve(clause) if index is not None else None
        if index is None or source is None or path is None or source.field("file") is None:
            return None
        layer = self.ctx.layer_of[id(source)]
        document = layer.directory / str(source.field("file"))
        first = next((line for where, line in index.lines if where == path), None)
        if first is None:
            return None
        try:
            text = document.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        return document, text.count("\n", 0, max(text.find(first), 0)) + 1

    def hover(self, display: str, line: int, col: int) -> str | None:
        """Markdown for the name, row or rule at a position."""
        occurrence = self.at(display, line, col)
        if occurrence is not None:
            described = self._describe(occurrence)
            if described:
                return described
        owners = [o for o in self.owners if o[0].file == display and _inside(o[0], line, col)]
        if not owners:
            return None
        _span, decl, row = min(owners, key=lambda o: (o[0].end_line - o[0].line, -o[0].col))
        if row is not None and isinstance(decl, n.TableDecl | n.RuleDecl):
            return self._row(decl, row)
        if isinstance(decl, n.PolicyDecl):
            return self._header(decl, display, line, col)
        if isinstance(decl, n.RuleDecl):
            return self._rule(decl)
        if isinstance(decl, n.LetDecl):
            return self._let(decl.name)
        return None

    def outline(self, display: str) -> list[Symbol]:
        files = [f for layer in self.loaded.layers for f in layer.files if f.path == display]
        return [_symbol(decl, self._name_span(decl)) for f in files for decl in f.decls]

    # ------------------------------------------------------------ hover text

    def _describe(self, occurrence: Occurrence) -> str | None:
        if occurrence.kind == "let":
            return self._let(occurrence.name)
        if occurrence.kind == "source":
            return self._source(occurrence.name)
        if occurrence.kind == "condition":
            return self._condition(occurrence.name)
        if occurrence.kind == "clause":
            doc, _, clause = occurrence.name.partition(" ")
            return "\n\n".join(self._clause(doc, clause))
        if occurrence.kind == "rule":
            rule = next((r for r in self.ctx.rules if r.name == occurrence.name), None)
            return self._rule(rule) if rule is not None else None
        if occurrence.kind == "tier":
            return self._tier(occurrence.name)
        return None

    def _header(self, decl: n.PolicyDecl, display: str, line: int, col: int) -> str | None:
        """A statement of the policy header: what it says, what it means, its citation."""
        setting = next(
            (s for s in decl.settings if s.span.file == display and _inside(s.span, line, col)),
            None,
        )
        if setting is None:
            return None
        said = f"{WORDS[setting.name]} {', '.join(setting.args)}"
        parts = [f"**policy** `{decl.name}`: `{said}`", MEANINGS[setting.name]]
        return "\n\n".join(parts + self._provenance(setting.provenance))

    def _tier(self, name: str) -> str | None:
        """A contribution tier: its title, whether it is the default, the header's citation."""
        policy = self.ctx.policy
        tier = next((t for t in policy.tiers if t.name == name), None) if policy else None
        if policy is None or tier is None:
            return None
        title = f" {tier.title}" if tier.title else ""
        default = policy.setting("default_tier")
        parts = [f"**tier** `{name}`{title} — a contribution tier (`person.tier`)"]
        if default is not None and default.args[:1] == (name,):
            parts.append("the tier of a claim that names none (`default tier`)")
        declared = policy.setting("tiers")
        return "\n\n".join(parts + self._provenance(declared.provenance if declared else None))

    def _let(self, name: str) -> str | None:
        versions = self.ctx.lets.get(name)
        if not versions:
            return None
        unit = self.ctx.let_units.get(name)
        title = f" {versions[0].title}" if versions[0].title else ""
        parts = [f"**let** `{name}`{title}" + (f" — {unit}" if unit else "")]
        for decl in versions:
            dates = _dates(decl.dates)
            parts.append(f"= `{show_value(decl.value)}`{dates}")
            parts += self._provenance(decl.provenance)
            if decl.date_provenance is not None:
                parts.append(f"dates: {describe(decl.date_provenance)}")
        return "\n\n".join(parts)

    def _row(self, decl: n.TableDecl | n.RuleDecl, row: n.Row) -> str:
        if isinstance(decl, n.TableDecl):
            title = f" {decl.title}" if decl.title else ""
            head = f"**{decl.kind}** `{decl.name}`{title} — {TABLE_UNITS.get(decl.kind, '')}"
        else:
            head = f"**{decl.kind}** `{decl.name}`: parameter table"
        written = " ".join(self.loaded.texts[row.span.file].line_text(row.span.line).split())
        parts = [head, f"`{written}`", f"= `{show_value(row.value)}`{_dates(row.dates)}"]
        parts += self._provenance(row.provenance)
        if row.date_provenance is not None:
            parts.append(f"dates: {describe(row.date_provenance)}")
        return "\n\n".join(parts)

    def _rule(self, rule: n.RuleDecl) -> str:
        spec = FINDING_KINDS.get(rule.kind)
        kind = f" — {spec.zh} ({spec.en}), {spec.level} level" if spec else ""
        title = f" {rule.title}" if rule.title else ""
        keyword = "audit" if rule.audit else "rule"
        parts = [f"**{keyword}** `{rule.kind}` `{rule.name}`{title}{kind}"]
        if rule.action:
            parts.append(f"action `{rule.action}`{_dates(rule.dates)}")
        return "\n\n".join(parts + self._provenance(rule.provenance))

    def _source(self, name: str) -> str | None:
        source = self.ctx.sources.get(name)
        if source is None:
            return None
        fields = [f"{key} {value}" for key, value, _span in source.fields]
        index = self.ctx.clause_index.get(name)
        held = (
            f"held: {len(index.order)} numbered clauses ({' › '.join(index.numbering)})"
            if index is not None
            else "not held: cite it as `secondary`"
        )
        return "\n\n".join([f"**source** `{name}`", *fields, held])

    def _condition(self, name: str) -> str | None:
        decl = self.ctx.conditions.get(name)
        if decl is None:
            return None
        terms = ", ".join(t.low + (f"..{t.high}" if t.high else "") for t in decl.terms)
        extra = " with " + " or ".join(t.low for t in decl.with_terms) if decl.with_terms else ""
        title = f" {decl.title}" if decl.title else ""
        parts = [f"**condition** `{name}`{title}", f"ICD-10 `{terms}{extra}`"]
        return "\n\n".join(parts + self._provenance(decl.provenance))

    def _provenance(self, provenance: n.Provenance | None) -> list[str]:
        if provenance is None:
            return ["no citation"]
        parts = [describe(provenance)]
        if isinstance(provenance, n.Cite | n.Secondary):
            origin = self.ctx.origins.get(id(provenance))
            clause = provenance.clause or (origin.clause if origin else None)
            if clause:
                parts += self._clause(provenance.doc, clause, provenance.quote)[1:]
        return parts

    def _clause(self, doc: str, clause: str, quote: str | None = None) -> list[str]:
        """The clause's heading and its full text, the quoted words in bold."""
        index = self.ctx.clause_index.get(doc)
        source = self.ctx.sources.get(doc)
        title = str(source.field("title") or doc) if source is not None else doc
        text = "\n".join(clause_text(index, clause)) if index is not None else ""
        marked, at = [], 0
        for start, end in quoted_spans(text, [quote] if quote else []):
            pieces = text[start:end].split("\n")  # bold never runs over a line break
            marked += [text[at:start], "\n".join(f"**{p}**" if p else "" for p in pieces)]
            at = end
        lines = "".join([*marked, text[at:]]).split("\n") if text else []
        quoted = "\n".join(f"> {line}" for line in lines) or "> (not in the held text)"
        return [f"**{doc}** {title} {clause}", quoted]

    # ------------------------------------------------------------ the index

    def _index(self, decl: n.Decl) -> None:
        add = self.occurrences.append
        name_span = self._name_span(decl)
        self.owners.append((decl.span, decl, None))
        if isinstance(decl, n.LetDecl):
            add(Occurrence(name_span, "let", decl.name, defines=True))
        elif isinstance(decl, n.SourceDecl):
            add(Occurrence(name_span, "source", decl.name, defines=True))
        elif isinstance(decl, n.ConditionDecl):
            add(Occurrence(name_span, "condition", decl.name, defines=True))
        elif isinstance(decl, n.PolicyDecl):
            self._tiers(decl)
        elif isinstance(decl, n.TableDecl):
            add(Occurrence(name_span, "table", f"{decl.kind} {decl.name}", defines=True))
            self._rows(decl, decl.rows)
            for setting in decl.settings:
                if setting.name == "alias" and setting.args:
                    target = self._find(setting.span, setting.args[0]) or setting.span
                    add(Occurrence(target, "table", f"{decl.kind} {setting.args[0]}"))
        elif isinstance(decl, n.RuleDecl):
            add(Occurrence(name_span, "rule", decl.name, defines=True))
            for written, span in decl.overrides:
                add(Occurrence(span, "rule", written.rpartition(".")[2]))
            for table in decl.tables:
                self._rows(decl, table.rows)
        for value in _values(decl):
            for ref in n.refs_in(value):
                if ref.name in self.ctx.lets:
                    add(Occurrence(ref.span, "let", ref.name))
                elif ref.name in self.ctx.conditions:
                    add(Occurrence(ref.span, "condition", ref.name))
        for cond in _conds(decl):
            fact = FACTS.get(cond.key)
            kind = (
                "condition"
                if fact and fact.conditions
                else "tier"
                if fact and fact.declared
                else ""
            )
            for word in cond.values if kind else ():
                if word.name is not None:
                    add(Occurrence(word.span, kind, word.name))
        for place in citation_places(decl):
            if isinstance(place.provenance, n.Cite | n.Secondary):
                self._citation(place.provenance)

    def _tiers(self, decl: n.PolicyDecl) -> None:
        """The header's tiers (each defines its name) and the one `default tier` names."""
        for tier in decl.tiers:
            found = self._find(tier.span, tier.name)
            self.occurrences.append(Occurrence(found or tier.span, "tier", tier.name, defines=True))
        default = decl.setting("default_tier")
        if default is not None and default.args:
            found = self._find(default.span, default.args[0], skip=1)
            if found is not None:
                self.occurrences.append(Occurrence(found, "tier", default.args[0]))

    def _rows(self, decl: n.TableDecl | n.RuleDecl, rows: tuple[n.Row, ...]) -> None:
        for row in rows:
            self.owners.append((row.span, decl, row))

    def _citation(self, provenance: n.Cite | n.Secondary) -> None:
        doc = self._find(provenance.span, provenance.doc)
        if doc is None:
            return
        self.occurrences.append(Occurrence(doc, "source", provenance.doc))
        origin = self.ctx.origins.get(id(provenance))
        clause = provenance.clause or (origin.clause if origin else None)
        if clause:
            written = self._find(doc, provenance.clause, after=True) if provenance.clause else None
            span = written or doc
            self.occurrences.append(Occurrence(span, "clause", f"{provenance.doc} {clause}"))

    def _name_span(self, decl: n.Decl) -> Span:
        """Where a declaration's name is written (its first line if it cannot be found)."""
        if isinstance(decl, n.RuleDecl) and decl.name == decl.kind:
            return decl.kind_span
        name = getattr(decl, "name", None)
        found = self._find(decl.span, name, skip=1) if isinstance(name, str) else None
        first = decl.span
        return found or Span(first.file, first.line, first.col, first.line, first.col + 1)

    def _find(
        self, span: Span, word: str | None, *, skip: int = 0, after: bool = False
    ) -> Span | None:
        """The span of `word` written as a whole word from `span` on (past `skip` words
        before it, or just after `span` with `after`), within the span's first three lines."""
        source = self.loaded.texts.get(span.file)
        if source is None or not word:
            return None
        pattern = re.compile(rf"(?<![\w.]){re.escape(word)}(?![\w])")
        for line in range(span.line, span.line + 3):
            text = source.line_text(line)
            start = (span.end_col - 1 if after else span.col - 1) if line == span.line else 0
            for match in pattern.finditer(text, start):
                if skip and match.start() == span.col - 1:
                    continue  # the declaration's keyword itself (`let let_x`)
                return Span(span.file, line, match.start() + 1, line, match.end() + 1)
        return None


def _inside(span: Span, line: int, col: int) -> bool:
    if not span.line <= line <= span.end_line:
        return False
    if line == span.line and col < span.col:
        return False
    return not (line == span.end_line and col > span.end_col)


def _dates(dates: n.Dates | None) -> str:
    if dates is None:
        return ""
    start = f" from {dates.start}" if dates.start else ""
    return start + (f" until {dates.end}" if dates.end else "")


def _values(decl: n.Decl) -> Iterator[n.Value]:
    if isinstance(decl, n.LetDecl):
        yield decl.value
    elif isinstance(decl, n.TableDecl):
        yield from (row.value for row in decl.rows)
    elif isinstance(decl, n.RuleDecl):
        for param in decl.params:
            yield from param.args
        yield from (row.value for table in decl.tables for row in table.rows)


def _conds(decl: n.Decl) -> Iterator[n.Cond]:
    if isinstance(decl, n.TableDecl):
        yield from (cond for row in decl.rows for cond in row.conds)
    elif isinstance(decl, n.RuleDecl):
        yield from (cond for when in decl.when for cond in when)
        yield from (cond for t in decl.tables for row in t.rows for cond in row.conds)


_SYMBOL_KINDS = {
    n.PolicyDecl: "module",
    n.SourceDecl: "file",
    n.ConditionDecl: "enum",
    n.CatalogueDecl: "package",
    n.LetDecl: "constant",
    n.TableDecl: "struct",
    n.RuleDecl: "function",
    n.MomentsDecl: "event",
}


def _symbol(decl: n.Decl, selection: Span) -> Symbol:
    kind = _SYMBOL_KINDS[type(decl)]
    if isinstance(decl, n.TableDecl):
        rows = tuple(
            Symbol(row.label or _row_name(row), show_value(row.value), "field", row.span, row.span)
            for row in decl.rows
        )
        return Symbol(
            f"{decl.kind} {decl.name}", decl.title or "", kind, decl.span, selection, rows
        )
    if isinstance(decl, n.RuleDecl):
        keyword = "audit" if decl.audit else "rule"
        name = f"{keyword} {decl.kind}" + ("" if decl.name == decl.kind else f" {decl.name}")
        return Symbol(name, decl.title or "", kind, decl.span, selection)
    if isinstance(decl, n.MomentsDecl):
        return Symbol("moments", ", ".join(decl.names), kind, decl.span, selection)
    title = getattr(decl, "title", None) or ""
    return Symbol(
        f"{_keyword(decl)} {getattr(decl, 'name', '')}", str(title), kind, decl.span, selection
    )


def _keyword(decl: n.Decl) -> str:
    return {
        n.PolicyDecl: "policy",
        n.SourceDecl: "source",
        n.ConditionDecl: "condition",
        n.CatalogueDecl: "catalogue",
        n.LetDecl: "let",
    }.get(type(decl), "")


def _row_name(row: n.Row) -> str:
    if not row.conds:
        return "always"
    return "when " + ", ".join(
        f"{c.key}{' not' if c.negated else ''} {' or '.join(str(v) for v in c.values)}"
        for c in row.conds
    )
