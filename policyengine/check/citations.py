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
from typing import NamedTuple

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
    for _layer, decl in ctx.all_decls():
        for place in citation_places(decl):
            if place.provenance is not None:
                _check(ctx, place.provenance, searches)
            elif place.required:
                what, span = place.what, place.owner
                ctx.diags.error("C001", f"missing citation: {what}", span, hint=_HINT_MISSING)


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
    derived = provenance.derived.text if provenance.derived else None
    ctx.origins[id(provenance)] = Origin("cited", doc, clause, provenance.quote, derived=derived)
    if place is not None:  # its numbers are for the `numbers` pass to read
        ctx.quoted.add(id(provenance))


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


class CitationPlace(NamedTuple):
    """A place of a declaration that takes a citation (the one enumeration of them: the
    citations pass, `render --by-clause` and the language server read it)."""

    provenance: n.Provenance | None  # None: none is written there
    owner: n.Span  # what it annotates: the declaration, row, setting or parameter
    what: str  # what needs it, as C001 says: "this row of ratio `outpatient`"
    label: str  # the same, short, for listings: "ratio outpatient row"
    group: str  # what a provisional figure there stands in for (tools/literate.GROUPS)
    required: bool = True  # a missing one is C001 (a `dates` provenance is optional)
    # the literal figures its citation vouches for (check/numbers.py checks them against the
    # quote): each literal of its own value — a `by level`, a sum, a product — but not the
    # figures a named `let` brings (they have their own citation) nor a band statement's
    # that carries its own provenance
    figures: tuple[n.Quantity, ...] = ()


def citation_sites(ctx: CheckContext) -> Iterator[CitationPlace]:
    """Every place of every declaration of the policy and its layers that takes a citation."""
    for _layer, decl in ctx.all_decls():
        yield from citation_places(decl)


def quantities_in(value: n.Value | None) -> tuple[n.Quantity, ...]:
    """The literal figures of a value, left to right, leaving out the band statements
    that carry their own provenance (the nesting depth is bounded by the parser)."""
    if isinstance(value, n.Quantity):
        return (value,)
    if isinstance(value, n.BinOp):
        return quantities_in(value.left) + quantities_in(value.right)
    if isinstance(value, n.Neg):  # `-10 pt` states 10 pt: the quote says 降低10个百分点
        return quantities_in(value.arg)
    if isinstance(value, n.Call):  # `level − 1` of at_level, `100 元` of max(100 元, …)
        return tuple(q for arg in value.args for q in quantities_in(arg))
    if isinstance(value, n.ByLevel):
        return tuple(q for item in value.items for q in quantities_in(item))
    if isinstance(value, n.Bands):
        return tuple(
            q
            for stmt in value.statements
            if stmt.provenance is None
            for q in _statement_quantities(stmt)
        )
    return ()


def _statement_quantities(stmt: n.BandStmt) -> tuple[n.Quantity, ...]:
    return tuple(q for part in (stmt.low, stmt.high, stmt.rate) for q in quantities_in(part))


def _param_quantities(param: n.Param) -> tuple[n.Quantity, ...]:
    return tuple(q for arg in param.args for q in quantities_in(arg))


def citation_places(decl: n.Decl) -> Iterator[CitationPlace]:
    """Every place of `decl` that takes a citation, in the order they are written."""
    P = CitationPlace
    if isinstance(decl, n.PolicyDecl):
        if decl.start is not None:
            start = f"policy {decl.name}: effective from {decl.start}"
            what = f"the start date of policy `{decl.name}`"
            yield P(decl.start_provenance, decl.span, what, start, "start")
        for setting in decl.settings:
            words = WORDS[setting.name]
            what = f"`{words}` of policy `{decl.name}`"
            yield P(setting.provenance, setting.span, what, f"policy {decl.name}", "header")
    elif isinstance(decl, n.ConditionDecl):
        what = f"condition `{decl.name}`"
        yield P(decl.provenance, decl.span, what, f"condition {decl.name}", "condition")
    elif isinstance(decl, n.CatalogueDecl):
        what = f"catalogue `{decl.name}`"
        yield P(decl.provenance, decl.span, what, f"catalogue {decl.name}", "catalogue")
    elif isinstance(decl, n.LetDecl):
        label = f"figure {decl.name}"
        figures = quantities_in(decl.value)
        yield P(decl.provenance, decl.span, f"figure `{decl.name}`", label, "let", True, figures)
        yield _dates(decl.date_provenance, decl.span, label)
        yield from _in_bands(decl.value, label, "let")
    elif isinstance(decl, n.TableDecl):
        named = f"{decl.kind} `{decl.name}`"
        label = f"{decl.kind} {decl.name}"
        yield from _in_table(decl.kind, named, label, decl.settings, decl.rows)
        if decl.combination is not None:  # `adjustments sum|largest, at most …`
            what = f"how the adjustments of {named} combine"
            combination = decl.combination
            yield P(
                combination.provenance, combination.span, what, f"{label} adjustments", decl.kind
            )
    elif isinstance(decl, n.RuleDecl):
        yield from _in_rule(decl)
    elif isinstance(decl, n.MomentsDecl):
        yield P(decl.provenance, decl.span, "the audit moments", "audit moments", "moments")


def _dates(provenance: n.Provenance | None, owner: n.Span, label: str) -> CitationPlace:
    what = f"{label}, its dates"
    return CitationPlace(provenance, owner, what, what, "dates", required=False)


def _in_bands(value: n.Value, label: str, group: str) -> Iterator[CitationPlace]:
    if isinstance(value, n.Bands):
        for stmt in value.statements:
            what = f"{label} {stmt.kind}"
            figures = _statement_quantities(stmt) if stmt.provenance is not None else ()
            yield CitationPlace(stmt.provenance, stmt.span, what, what, group, False, figures)


def _in_table(
    group: str, named: str, label: str, settings: tuple[n.Setting, ...], rows: tuple[n.Row, ...]
) -> Iterator[CitationPlace]:
    """A table's (or a rule's parameter table's) places: `named` as C001 names the table
    (ratio `outpatient`), `label` as listings do (ratio outpatient)."""
    for setting in settings:
        if setting.name == "alias":
            what = f"{named} taken as `{setting.args[0]}`"
            alias = f"{label} as {' '.join(setting.args)}"
            yield CitationPlace(setting.provenance, setting.span, what, alias, group)
        elif setting.name == "base":
            what = f"{named}: base {setting.args[0]} pre_self_pay"
            base = f"{label} base {setting.args[0]} pre_self_pay"
            yield CitationPlace(setting.provenance, setting.span, what, base, group)
    for row in rows:
        row_label = f"{label} row"
        what = f"this row of {named}"
        figures = quantities_in(row.value)
        yield CitationPlace(row.provenance, row.span, what, row_label, group, True, figures)
        yield _dates(row.date_provenance, row.span, row_label)
        yield from _in_bands(row.value, row_label, group)


def _in_rule(decl: n.RuleDecl) -> Iterator[CitationPlace]:
    label = f"{'audit' if decl.audit else 'rule'} {decl.kind} {decl.name}"
    # the rule's citation covers the figures of the parameters without one of their own
    inherited = tuple(
        q for param in decl.params if param.provenance is None for q in _param_quantities(param)
    )
    what = f"rule `{decl.name}`"
    yield CitationPlace(decl.provenance, decl.span, what, label, "rule", True, inherited)
    yield _dates(decl.date_provenance, decl.span, label)
    for param in decl.params:
        what = f"{label} {param.name}"
        figures = _param_quantities(param) if param.provenance is not None else ()
        yield CitationPlace(param.provenance, param.span, what, what, "rule", False, figures)
    for table in decl.tables:
        named = f"{decl.kind} `{decl.name}.{table.name}`"
        yield from _in_table("rule", named, f"{label} {table.name}", table.settings, table.rows)
