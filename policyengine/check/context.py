"""State shared by the checker's passes: the declarations by name, and what each pass resolved."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from policyengine import nodes as n
from policyengine.catalogue import CatalogueItem
from policyengine.clauses import ClauseIndex
from policyengine.diagnostics import Diagnostics
from policyengine.ir import CondIR, Note, Origin
from policyengine.loader import Layer, Loaded
from policyengine.semantics.facts import declared_words
from policyengine.span import Span


@dataclass(frozen=True)
class CitedFigure:
    """A literal figure under a `cite`, checked against its quote's numbers (check/numbers.py):
    stated by the quote, or derived from it as its `derived` note says."""

    location: str  # file:line:col of the figure
    figure: str  # as written: `7500 元`
    doc: str
    clause: str | None  # as written, or where the quote was found ("" outside any clause)
    quote: str
    derived: str | None  # the `derived` note, if the quote does not state the figure


@dataclass
class CheckContext:
    loaded: Loaded
    diags: Diagnostics
    # symbols (names pass)
    layer_of: dict[int, Layer] = field(default_factory=dict)
    policy: n.PolicyDecl | None = None
    sources: dict[str, n.SourceDecl] = field(default_factory=dict)
    conditions: dict[str, n.ConditionDecl] = field(default_factory=dict)
    lets: dict[str, list[n.LetDecl]] = field(default_factory=dict)
    tables: dict[tuple[str, str], n.TableDecl] = field(default_factory=dict)
    rules: list[n.RuleDecl] = field(default_factory=list)
    catalogues: list[n.CatalogueDecl] = field(default_factory=list)
    moments: n.MomentsDecl | None = None
    conds: dict[int, tuple[CondIR, ...]] = field(default_factory=dict)  # id(row or when-tuple)
    # id(row, when-tuple or rule) whose conditions or overrides did not resolve (already
    # reported): later passes leave them out rather than report the consequences again
    unresolved: set[int] = field(default_factory=set)
    # citations pass
    clause_index: dict[str, ClauseIndex] = field(default_factory=dict)
    origins: dict[int, Origin] = field(default_factory=dict)  # id(provenance node) → Origin
    quoted: set[int] = field(default_factory=set)  # id(cite) whose quote is in its clause
    # numbers pass: every cited figure checked against its quote
    cited_figures: list[CitedFigure] = field(default_factory=list)
    # catalogue
    catalogue: dict[str, CatalogueItem] = field(default_factory=dict)
    # units pass
    let_units: dict[str, str] = field(default_factory=dict)
    figure_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # (nesting, terms)
    oversized: set[str] = field(default_factory=set)  # figures over the size limits (reported)
    # provisional notes, collected as passes meet them
    notes: list[Note] = field(default_factory=list)

    @property
    def region(self) -> str:
        return self.policy.name if self.policy else self.loaded.main.name

    @property
    def start(self) -> dt.date:
        if self.policy and self.policy.start:
            return self.policy.start
        return dt.date(1900, 1, 1)

    @property
    def tiers(self) -> tuple[str, ...]:
        """The contribution tiers the policy's header declares."""
        return tuple(t.name for t in self.policy.tiers) if self.policy else ()

    @property
    def declared(self) -> dict[str, tuple[Any, ...]]:
        """The values of the facts whose words the policy declares (facts.declared_words)."""
        default = self.policy.setting("default_tier") if self.policy else None
        tier = default.args[0] if default and default.args[0] in self.tiers else None
        return declared_words(self.tiers, tier)

    def all_decls(self) -> list[tuple[Layer, n.Decl]]:
        return [(layer, decl) for layer in self.loaded.layers for decl in layer.decls()]

    def origin(self, provenance: n.Provenance | None) -> Origin:
        if provenance is None:
            return Origin("provisional", note="no citation")
        found = self.origins.get(id(provenance))
        if found is not None:
            return found
        return _plain_origin(provenance, self.sources)

    def location(self, span: Span) -> str:
        return span.location


def _plain_origin(provenance: n.Provenance, sources: dict[str, n.SourceDecl]) -> Origin:
    if isinstance(provenance, n.Provisional):
        return Origin("provisional", note=provenance.reason)
    source = sources.get(provenance.doc)
    doc = provenance.doc
    if source is not None:
        number = source.field("number")
        title = source.field("title")
        doc = str(number or title or provenance.doc)
    if isinstance(provenance, n.Cite):
        derived = provenance.derived.text if provenance.derived else None
        return Origin("cited", doc, provenance.clause, provenance.quote, derived=derived)
    return Origin("secondary", doc, provenance.clause, provenance.quote)
