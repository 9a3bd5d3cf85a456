"""Pass `citations`: every rule and figure says where it comes from, and it is true.

`cite DOC CLAUSE "quote"` or `cite DOC "quote"` needs a held document (one with `file`);
quotes.py verifies the clause and the quote against its text. `secondary DOC` names a
document we do not hold, or quotes one we hold that is no official text (an explainer
page): then its quote is verified too. `provisional "reason"` marks a working value. A
missing citation is C001.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from policyengine import nodes as n
from policyengine.check import quotes
from policyengine.check.context import CheckContext
from policyengine.check.header import WORDS
from policyengine.clauses import index_document
from policyengine.diagnostics import printable, suggestion
from policyengine.ir import Origin

_HINT_MISSING = 'add `cite DOC CLAUSE "quote"`, `secondary DOC` or `provisional "reason"`'
# A policy document runs to tens of kilobytes (the biggest bundled one 53 KB); every quote
# is looked for in its clause, so a document is refused beyond this size.
MAX_SOURCE_BYTES = 4_000_000


def run(ctx: CheckContext) -> None:
    _index_sources(ctx)
    searches = itertools.count()
    for provenance, owner_span, what in _provenances(ctx):
        if provenance is None:
            ctx.diags.error("C001", f"missing citation: {what}", owner_span, hint=_HINT_MISSING)
        else:
            _check(ctx, provenance, searches)


def _index_sources(ctx: CheckContext) -> None:
    for name, decl in ctx.sources.items():
        file_name = decl.field("file")
        if file_name is None:
            continue
        layer = ctx.layer_of[id(decl)]
        found = ctx.loaded.read(layer, str(file_name), MAX_SOURCE_BYTES)
        if isinstance(found, str):
            span = next(s for key, _v, s in decl.fields if key == "file")
            ctx.diags.error(
                "C005",
                f"source `{name}`: file `{printable(str(file_name))}` {found}",
                span,
                hint="copy the document's text under the policy's sources/ folder",
            )
            continue
        ctx.clause_index[name] = index_document(found[1])


def _check(ctx: CheckContext, provenance: n.Provenance, searches: Iterator[int]) -> None:
    if isinstance(provenance, n.Provisional):
        if not provenance.reason.strip():
            ctx.diags.error("C001", "a provisional figure needs its reason", provenance.span)
        ctx.origins[id(provenance)] = Origin("provisional", note=provenance.reason)
        return
    source = ctx.sources.get(provenance.doc)
    if source is None:
        ctx.diags.error(
            "C002",
            f"unknown source document `{provenance.doc}`",
            provenance.span,
            hint=suggestion(provenance.doc, ctx.sources) or "declare it with `source NAME { … }`",
        )
        return
    held = source.field("file") is not None
    doc = str(source.field("number") or source.field("title") or provenance.doc)
    if isinstance(provenance, n.Secondary):
        _secondary(ctx, provenance, doc, held, searches)
        return
    if not held:
        ctx.diags.error(
            "C006",
            f"`{provenance.doc}` is not held (it has no `file`): it can only be `secondary`",
            provenance.span,
            hint=f"write `secondary {provenance.doc}`, or add the document's text and its `file`",
        )
        return
    place = _verified(ctx, provenance, searches)
    clause = provenance.clause or place or None
    ctx.origins[id(provenance)] = Origin("cited", doc, clause, provenance.quote)


def _secondary(
    ctx: CheckContext, secondary: n.Secondary, doc: str, held: bool, searches: Iterator[int]
) -> None:
    """A document we do not hold, unverified; or one we hold, whose quote is verified."""
    place = None
    if held and secondary.quote is None:
        ctx.diags.error(
            "C006",
            f"`{secondary.doc}` is held: quote its words",
            secondary.span,
            hint=f'write `cite {secondary.doc} CLAUSE "quote"` or `cite {secondary.doc} "quote"` '
            f'(`secondary {secondary.doc} "quote"` if it is no official text)',
        )
    elif held:
        place = _verified(ctx, secondary, searches)
    clause = secondary.clause or place or None
    ctx.origins[id(secondary)] = Origin("secondary", doc, clause, secondary.quote)


def _verified(ctx: CheckContext, cite: n.Cite | n.Secondary, searches: Iterator[int]) -> str | None:
    """The clause the quote was found in (see quotes.verify); None if not verified."""
    index = ctx.clause_index.get(cite.doc)
    if index is None:  # its file is missing, already reported
        return None
    return quotes.verify(ctx, cite, index, searches)


def _provenances(ctx: CheckContext) -> Iterator[tuple[n.Provenance | None, n.Span, str]]:
    """Every place a citation belongs, with what needs it (None = missing)."""
    for _layer, decl in ctx.all_decls():
        if isinstance(decl, n.PolicyDecl):
            if decl.start is not None:
                yield decl.start_provenance, decl.span, f"the start date of policy `{decl.name}`"
            for setting in decl.settings:
                what = f"`{WORDS[setting.name]}` of policy `{decl.name}`"
                yield setting.provenance, setting.span, what
        elif isinstance(decl, n.ConditionDecl):
            yield decl.provenance, decl.span, f"condition `{decl.name}`"
        elif isinstance(decl, n.CatalogueDecl):
            yield decl.provenance, decl.span, f"catalogue `{decl.name}`"
        elif isinstance(decl, n.LetDecl):
            yield decl.provenance, decl.span, f"figure `{decl.name}`"
            yield from _optional(decl.date_provenance)
            yield from _bands_provenances(decl.value)
        elif isinstance(decl, n.TableDecl):
            yield from _table_provenances(decl.kind, decl.name, decl.settings, decl.rows)
        elif isinstance(decl, n.RuleDecl):
            yield from _rule_provenances(decl)
        elif isinstance(decl, n.MomentsDecl):
            yield decl.provenance, decl.span, "the audit moments"


def _optional(provenance: n.Provenance | None) -> Iterator[tuple[n.Provenance | None, n.Span, str]]:
    if provenance is not None:
        yield provenance, provenance.span, ""


def _bands_provenances(value: n.Value) -> Iterator[tuple[n.Provenance | None, n.Span, str]]:
    if isinstance(value, n.Bands):
        for stmt in value.statements:
            yield from _optional(stmt.provenance)


def _table_provenances(
    kind: str, name: str, settings: tuple[n.Setting, ...], rows: tuple[n.Row, ...]
) -> Iterator[tuple[n.Provenance | None, n.Span, str]]:
    for setting in settings:
        if setting.name == "alias":
            yield setting.provenance, setting.span, f"{kind} `{name}` taken as `{setting.args[0]}`"
    for row in rows:
        what = f"this row of {kind} `{name}`"
        yield row.provenance, row.span, what
        yield from _optional(row.date_provenance)
        yield from _bands_provenances(row.value)


def _rule_provenances(decl: n.RuleDecl) -> Iterator[tuple[n.Provenance | None, n.Span, str]]:
    yield decl.provenance, decl.span, f"rule `{decl.name}`"
    yield from _optional(decl.date_provenance)
    for param in decl.params:
        yield from _optional(param.provenance)
    for table in decl.tables:
        yield from _table_provenances(
            decl.kind, f"{decl.name}.{table.name}", table.settings, table.rows
        )
