"""The AST: frozen dataclasses built straight from the Lark tree, each with its Span.

Nodes hold what the author wrote, nothing resolved: names are strings, values are
unevaluated expressions. The checker resolves and types them into the IR (ir.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from policyengine.span import Span as Span  # noqa: PLC0414 - re-exported: passes write `n.Span`

# ---------------------------------------------------------------- provenance


@dataclass(frozen=True)
class Derived:
    """`derived "…"`: how a cited figure follows from its quote's numbers."""

    text: str
    span: Span


@dataclass(frozen=True)
class Cite:
    """Words of a document we hold: the quote, in the clause named (or, with no clause,
    wherever the checker finds it); for a figure that is not one of the quote's numbers,
    how it is derived from them."""

    doc: str
    clause: str | None
    quote: str
    span: Span
    derived: Derived | None = None


@dataclass(frozen=True)
class Secondary:
    """A document we do not hold, known by title/文号; or one we hold that is no official
    text (an explainer page), whose quote is verified."""

    doc: str
    clause: str | None
    quote: str | None
    span: Span


@dataclass(frozen=True)
class Provisional:
    """A working value no document we hold states; the reason says why it is there."""

    reason: str
    span: Span


Provenance = Cite | Secondary | Provisional


# ---------------------------------------------------------------- dates


@dataclass(frozen=True)
class Dates:
    """An inclusive effective range; `None` is open."""

    start: dt.date | None
    end: dt.date | None
    span: Span


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Quantity:
    """A number with its unit as written: `800 元`, `35 万元`, `65%`, `5 pt`, `7 days`, `3`."""

    number: Decimal
    unit: str  # "yuan", "wan_yuan", "percent", "points", "days" or "" (a count)
    text: str
    span: Span


@dataclass(frozen=True)
class ByLevel:
    """One value per hospital level 1, 2, 3."""

    items: tuple[Expr, Expr, Expr]
    span: Span


@dataclass(frozen=True)
class Ref:
    name: str
    span: Span


@dataclass(frozen=True)
class NoneValue:
    span: Span


@dataclass(frozen=True)
class FactRef:
    """A whole-number fact of the claim a figure computes with: `age`, `level`, … (the words
    semantics/facts.py ATOMS declares; the builder tells them from figure names)."""

    name: str
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str  # "+", "-", "×", "÷"
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class Neg:
    """`-10 pt`: the value with its sign changed."""

    arg: Expr
    span: Span


@dataclass(frozen=True)
class Call:
    """`max(0, floor((age − 40) ÷ 10))`: a function (semantics/functions.py) of values."""

    fn: str
    args: tuple[Expr, ...]
    span: Span
    fn_span: Span


Expr = Quantity | ByLevel | Ref | FactRef | NoneValue | BinOp | Neg | Call


@dataclass(frozen=True)
class BandStmt:
    """One statement of a `bands` block: threshold, band, ceiling or payment_cap."""

    kind: str  # "threshold", "band", "ceiling", "payment_cap"
    low: Expr | None  # band start, or the value of threshold/ceiling/payment_cap
    high: Expr | None  # band end; None for an open band and for the other kinds
    rate: Expr | None
    provenance: Provenance | None
    span: Span


@dataclass(frozen=True)
class Bands:
    statements: tuple[BandStmt, ...]
    span: Span
    cumulative: bool = False  # `bands cumulative`: on the year's pooled amount (a ratio's)


Value = Expr | Bands


def refs_in(value: Value | None) -> list[Ref]:
    """The `let` references in a value, left to right (nesting depth is bounded by the parser)."""
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, BinOp):
        return refs_in(value.left) + refs_in(value.right)
    if isinstance(value, ByLevel):
        return [ref for item in value.items for ref in refs_in(item)]
    if isinstance(value, Neg):
        return refs_in(value.arg)
    if isinstance(value, Call):
        return [ref for arg in value.args for ref in refs_in(arg)]
    if isinstance(value, Bands):
        parts = (part for s in value.statements for part in (s.low, s.high, s.rate))
        return [ref for part in parts for ref in refs_in(part)]
    return []


def facts_in(value: Value | None) -> list[FactRef]:
    """The facts of the claim a value reads itself (not through the figures it names)."""
    if isinstance(value, FactRef):
        return [value]
    if isinstance(value, BinOp):
        return facts_in(value.left) + facts_in(value.right)
    if isinstance(value, ByLevel):
        return [fact for item in value.items for fact in facts_in(item)]
    if isinstance(value, Neg):
        return facts_in(value.arg)
    if isinstance(value, Call):
        return [fact for arg in value.args for fact in facts_in(arg)]
    if isinstance(value, Bands):
        parts = (part for s in value.statements for part in (s.low, s.high, s.rate))
        return [fact for part in parts for fact in facts_in(part)]
    return []


# ---------------------------------------------------------------- conditions and rows


@dataclass(frozen=True)
class CondValue:
    """A name, an integer, or an inclusive integer range (`age 0..14`)."""

    name: str | None
    low: int | None
    high: int | None
    span: Span

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        return str(self.low) if self.low == self.high else f"{self.low}..{self.high}"


@dataclass(frozen=True)
class Cond:
    key: str
    negated: bool
    values: tuple[CondValue, ...]
    span: Span


@dataclass(frozen=True)
class Row:
    """`[label:] when <conds> => <value> [dates] [provenance] [dates provenance] [overrides]`."""

    label: str | None
    conds: tuple[Cond, ...]  # empty for `always`
    value: Value
    dates: Dates | None
    provenance: Provenance | None
    date_provenance: Provenance | None
    overrides: tuple[str, ...]
    is_adjust: bool
    span: Span


@dataclass(frozen=True)
class Combination:
    """`adjustments sum|largest [, at most X] [, at least Y]`: how a ratio table's `adjust`
    rows that apply together combine, and the bounds of the ratio they give."""

    rule: str  # "sum" or "largest"
    rule_span: Span
    at_most: Expr | None
    at_least: Expr | None
    provenance: Provenance | None
    span: Span


@dataclass(frozen=True)
class Setting:
    """A table setting: `complete over`, `pools`, `programme`, `self_burden`, `as`,
    `base includes|excludes pre_self_pay`."""

    name: str
    args: tuple[str, ...]
    provenance: Provenance | None
    span: Span


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Tier:
    """A contribution tier (缴费档次) a policy declares: the word claims name it by."""

    name: str
    title: str | None
    span: Span


@dataclass(frozen=True)
class PolicyDecl:
    name: str
    title: str | None
    uses: tuple[str, ...]
    start: dt.date | None
    start_provenance: Provenance | None
    is_layer: bool
    complete: bool  # declares that every visit type of the contract can be settled
    span: Span
    uses_spans: tuple[Span, ...] = ()  # where each of `uses` is written
    tiers: tuple[Tier, ...] = ()
    # `tiers` (args: the names), `default_tier`, `benefit_year` ("MM-DD"), `money_rounding`
    settings: tuple[Setting, ...] = ()

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)


@dataclass(frozen=True)
class SourceDecl:
    name: str
    fields: tuple[tuple[str, str | dt.date, Span], ...]
    span: Span

    def field(self, key: str) -> str | dt.date | None:
        return next((value for name, value, _ in self.fields if name == key), None)


@dataclass(frozen=True)
class IcdTerm:
    low: str
    high: str | None
    span: Span


@dataclass(frozen=True)
class ConditionDecl:
    name: str
    title: str | None
    terms: tuple[IcdTerm, ...]
    with_terms: tuple[IcdTerm, ...]
    provenance: Provenance | None
    span: Span


@dataclass(frozen=True)
class CatalogueDecl:
    name: str
    title: str | None
    file: str
    file_span: Span
    provenance: Provenance | None
    span: Span


@dataclass(frozen=True)
class LetDecl:
    name: str
    title: str | None
    value: Value
    dates: Dates | None
    provenance: Provenance | None
    date_provenance: Provenance | None
    span: Span


@dataclass(frozen=True)
class TableDecl:
    """deductible, ratio, cap, limit, second_layer or pre_self_pay."""

    kind: str
    name: str
    title: str | None
    period: str | None
    period_span: Span | None
    settings: tuple[Setting, ...]
    rows: tuple[Row, ...]
    span: Span
    combination: Combination | None = None  # ratio tables: `adjustments …`
    combinations: int = 0  # how many `adjustments` statements it has (one is allowed)

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)


@dataclass(frozen=True)
class Param:
    name: str
    args: tuple[Expr, ...]
    provenance: Provenance | None
    span: Span


@dataclass(frozen=True)
class ParamTable:
    name: str
    settings: tuple[Setting, ...]
    rows: tuple[Row, ...]
    span: Span


@dataclass(frozen=True)
class RuleDecl:
    """A finding rule. `audit` rules follow the audit moment; `rule` rules never do."""

    audit: bool
    kind: str
    kind_span: Span
    name: str
    title: str | None
    provenance: Provenance | None
    action: str | None
    action_span: Span | None
    when: tuple[tuple[Cond, ...], ...]  # alternatives; empty = always
    dates: Dates | None
    date_provenance: Provenance | None
    overrides: tuple[tuple[str, Span], ...]
    programme: str | None
    params: tuple[Param, ...]
    tables: tuple[ParamTable, ...]
    span: Span

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def table(self, name: str) -> ParamTable | None:
        return next((t for t in self.tables if t.name == name), None)


@dataclass(frozen=True)
class MomentsDecl:
    names: tuple[str, ...]
    provenance: Provenance | None
    span: Span


Decl = (
    PolicyDecl
    | SourceDecl
    | ConditionDecl
    | CatalogueDecl
    | LetDecl
    | TableDecl
    | RuleDecl
    | MomentsDecl
)


@dataclass(frozen=True)
class RuleFile:
    """One parsed `.policy` file."""

    path: str
    decls: tuple[Decl, ...]
