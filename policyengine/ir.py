"""The checked IR: names resolved, units checked, rows dated and numbered.

Both evaluators (compile/ and interpret.py) read only this. Expressions stay as AST
nodes and are evaluated by `figures.evaluate` for a date, with `let` references resolved
to the version of the figure in force on that date.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine import nodes as n
from policyengine.catalogue import CatalogueItem
from policyengine.contract.notes import note_text
from policyengine.semantics.facts import declared_words
from policyengine.semantics.figures import evaluate
from policyengine.semantics.values import Formula, Val, Value, format_amount

if TYPE_CHECKING:
    from policyengine.contract.trace import Citation, Composition, FigurePart, RatioAlias
    from policyengine.semantics.vocabulary import MoneyUnit, Provenance


@dataclass(frozen=True)
class Origin:
    """Where a rule or figure comes from, as results and traces show it (spec §3)."""

    provenance: Provenance
    doc: str | None = None
    clause: str | None = None
    quote: str | None = None
    note: str | None = None
    derived: str | None = None  # how a cited figure follows from the quote's numbers

    def as_json(self) -> Citation:
        """As results and traces cite it (the compiled code writes its keys sorted)."""
        if self.provenance == "provisional":
            return {"provenance": "provisional", "note": self.note or ""}
        out: Citation = {"doc": self.doc or "", "provenance": self.provenance}
        if self.clause:
            out["clause"] = self.clause
        if self.quote:
            out["quote"] = self.quote
        if self.derived:
            out["derived"] = self.derived
        return out


@dataclass(frozen=True)
class Note:
    """One provisional figure or rule: where it is, what it is, and why it is provisional."""

    location: str
    subject: str
    reason: str

    def sort_key(self) -> tuple[str, int, str]:
        file, _, line = self.location.rpartition(":")
        return (file, int(line) if line.isdigit() else 0, self.subject)

    def __str__(self) -> str:
        return note_text(self.location, self.subject, self.reason)


@dataclass(frozen=True)
class CondIR:
    key: str
    negated: bool
    names: frozenset[str]
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Condition:
    """An ICD-10 condition list. Ranges match on the 3-character category."""

    name: str
    title: str
    prefixes: tuple[str, ...]
    ranges: tuple[tuple[str, str], ...]
    with_prefixes: tuple[str, ...]  # at least one of these must also be diagnosed
    origin: Origin
    location: str


@dataclass(frozen=True)
class LetVersion:
    name: str
    title: str
    start: dt.date | None
    end: dt.date | None
    expr: n.Value
    origin: Origin
    location: str
    notes: tuple[Note, ...]
    written: str = ""  # the value as the rule file writes it (check/lower.show_value)


@dataclass(frozen=True)
class RowIR:
    id: int
    table: str  # "deductible inpatient", "audit excess_supply max_days"
    label: str | None
    conds: tuple[CondIR, ...]
    start: dt.date | None
    end: dt.date | None
    expr: n.Value
    origin: Origin
    overrides: frozenset[int]  # ids of the rows this one beats, directly or transitively
    is_adjust: bool
    location: str
    notes: tuple[Note, ...]  # the row's own provisional notes (value and dates)
    refs: tuple[str, ...]  # let names the value uses
    written: str = ""  # the value as the rule file writes it (check/lower.show_value)
    # the note on the row's dates (`dates provisional`), if any (also in `notes`): a row that
    # matches a claim but is not in force on its date still shaped the result by its dates
    date_notes: tuple[Note, ...] = ()

    def active(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    @property
    def certified_condition(self) -> str:
        """The one condition a limit row names (the checker guarantees exactly one)."""
        cond = next(c for c in self.conds if c.key == "certified")
        return next(iter(cond.names))


@dataclass(frozen=True)
class Combination:
    """`adjustments sum|largest [, at least X] [, at most Y]` of a ratio table."""

    rule: str  # "sum" or "largest"
    at_least: n.Expr | None
    at_most: n.Expr | None
    origin: Origin
    location: str
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class TableIR:
    kind: str
    name: str
    title: str
    period: str | None
    rows: tuple[RowIR, ...]
    adjust: tuple[RowIR, ...]
    pools: tuple[str, ...]
    programme: str | None
    self_burden: tuple[str, ...]
    alias: str | None
    alias_origin: Origin | None
    alias_notes: tuple[Note, ...]
    location: str
    # second layer: whether its self-burden counts the claim's pre-self-pay (`base includes
    # pre_self_pay`), and that setting's provisional notes
    base_includes_pre_self_pay: bool = False
    base_notes: tuple[Note, ...] = ()
    # ratio tables: how adjustments that apply together combine (`adjustments sum|largest`;
    # None: at most one applies), the bounds the ratio is held within, where that is said
    combination: Combination | None = None
    # `pre_self_pay ceiling`: the kinds of items it bounds (`items drug`; empty: every kind)
    items: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.kind} {self.name}"

    def alias_step(self) -> RatioAlias:
        """The trace's record of the table this one is an alias of (`ratio ... as`)."""
        origin = self.alias_origin.as_json() if self.alias_origin else None
        assert self.alias is not None, "only an alias table has an alias step"
        return {"of": self.alias, "rule": self.location, "source": origin}


@dataclass(frozen=True)
class ParamIR:
    name: str
    values: tuple[Any, ...]  # names (str), or Decimal for days/levels
    origin: Origin
    location: str
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class RuleIR:
    id: int
    kind: str
    name: str
    title: str
    audit: bool
    level: str  # "line" or "claim"
    action: str
    when: tuple[tuple[CondIR, ...], ...]
    start: dt.date | None
    end: dt.date | None
    origin: Origin
    programme: str | None
    params: dict[str, ParamIR]
    tables: dict[str, TableIR]
    location: str
    notes: tuple[Note, ...]

    def active(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def names(self, param: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        found = self.params.get(param)
        return tuple(str(v) for v in found.values) if found else default


@dataclass(frozen=True)
class Moments:
    names: tuple[str, ...]
    origin: Origin
    location: str


@dataclass(frozen=True)
class PolicyIR:
    name: str
    title: str
    is_layer: bool
    start: dt.date
    start_origin: Origin
    start_location: str
    layers: tuple[str, ...]
    conditions: dict[str, Condition]
    catalogue: dict[str, CatalogueItem]
    lets: dict[str, tuple[LetVersion, ...]]
    deductibles: dict[str, TableIR]
    ratios: dict[str, TableIR]
    caps: tuple[TableIR, ...]
    limits: dict[str, TableIR]
    second_layer: TableIR | None
    pre_self_pay: TableIR | None
    rules: tuple[RuleIR, ...]
    moments: Moments | None
    switches: tuple[dt.date, ...]  # version start dates, ascending; switches[0] == start
    content_hash: str
    notes: tuple[Note, ...] = field(default=())  # every provisional note, for `check`
    # the header's settings (contract version 2): tiers as (name, title), the tier of a claim
    # naming none, where the benefit year begins (month, day), the unit money rounds to
    tiers: tuple[tuple[str, str], ...] = ()
    default_tier: str | None = None
    benefit_year: tuple[int, int] = (1, 1)
    money_unit: MoneyUnit = "fen"
    # named pre-self-pay tables other than `default` (异地就医先行自付 …), in declaration
    # order: each takes its share of every line in scope after the 乙类 pre-self-pay
    extra_pre_self_pay: tuple[TableIR, ...] = ()
    # `pre_self_pay ceiling`: the most a 乙类 line's proportion may be, for the claims its rows
    # match (the catalogue's own proportion included)
    pre_self_pay_ceiling: TableIR | None = None
    # ceilings on the cost entering the fund (`fund_ceiling`), each over its pools
    fund_ceilings: tuple[TableIR, ...] = ()

    def cap_of(self, visit: str, period: str | None) -> TableIR | None:
        """The cap of `period` (None: the yearly one) whose pools hold the visit type."""
        return next((t for t in self.caps if visit in t.pools and t.period == period), None)

    def fund_ceiling_of(self, visit: str) -> TableIR | None:
        return next((t for t in self.fund_ceilings if visit in t.pools), None)

    @property
    def self_burden_with_pre_self_pay(self) -> bool:
        """The second layer's self-burden counts pre-self-pay (the ledger keeps it so too)."""
        return self.second_layer is not None and self.second_layer.base_includes_pre_self_pay

    @property
    def declared(self) -> dict[str, tuple[Any, ...]]:
        """The values of the facts whose words this policy declares (its tiers)."""
        return declared_words(tuple(name for name, _title in self.tiers), self.default_tier)

    @property
    def service_days(self) -> int:
        """How many days of services a claim's frequency_limit rules look back on (the batch
        ledger keeps that many; at least the claim's own day)."""
        windows = (
            int(rule.params["within"].values[0])
            for rule in self.rules
            if rule.kind == "frequency_limit" and rule.params["within"].values
        )
        return max(windows, default=1) or 1

    def version_index(self, day: dt.date) -> int:
        """The rule set in force on `day` (-1 before the policy's start)."""
        return bisect.bisect_right(self.switches, day) - 1

    def let_at(self, name: str, day: dt.date) -> LetVersion | None:
        return next((v for v in self.lets.get(name, ()) if _in_range(v.start, v.end, day)), None)

    def value(self, expr: n.Value, day: dt.date, facts: Mapping[str, int] | None = None) -> Value:
        """Evaluate a checked expression with `let` figures as in force on `day`; `facts`:
        the claim's whole-number facts (facts.atom_facts) where the claim is known — without
        them a figure that reads one is a Formula."""

        def resolve(ref: n.Ref) -> Value:
            version = self.let_at(ref.name, day)
            if version is None:
                raise LookupError(f"figure `{ref.name}` has no value on {day}")
            return evaluate(version.expr, resolve, facts, self.money_unit)

        return evaluate(expr, resolve, facts, self.money_unit)

    def facts_read(self, expr: n.Value, day: dt.date) -> frozenset[str]:
        """The claim's facts (`age`, `level`, …) an expression reads, through the figures it
        uses as in force on `day`: those a derivation in the trace shows."""
        found: set[str] = set()
        pending: list[n.Value] = [expr]
        seen: set[str] = set()
        while pending:
            value = pending.pop()
            found.update(fact.name for fact in n.facts_in(value))
            for ref in n.refs_in(value):
                version = self.let_at(ref.name, day) if ref.name not in seen else None
                seen.add(ref.name)
                if version is not None:
                    pending.append(version.expr)
        return frozenset(found)

    def composition(self, row: RowIR, day: dt.date, level: int | None) -> Composition:
        """How `row`'s figure is composed on `day` (trace.Composition): the figures it names,
        depth first, each once, with its own rule and source and what it comes to at the
        claim's hospital `level`. The level is given only where some figure differs by
        level, so both back ends (which know the level only then) write the same."""
        used: list[tuple[LetVersion, Value, int]] = []
        pending = [(name, 1) for name in reversed(row.refs)]
        seen: set[str] = set()
        while pending:
            name, depth = pending.pop()
            version = self.let_at(name, day)
            if name in seen or version is None:
                continue
            seen.add(name)
            used.append((version, self.value(version.expr, day), depth))
            pending.extend((ref, depth + 1) for ref in reversed(refs_of(version.expr)))
        value = self.value(row.expr, day)
        by_level = _by_level(value) or any(_by_level(v) for _version, v, _depth in used)
        shown_level = (level or 1) if by_level else None
        parts: list[FigurePart] = [
            {
                "name": version.name,
                "title": version.title,
                "rule": version.location,
                "source": version.origin.as_json(),
                "written": version.written,
                "value": _at_level(part_value, shown_level),
                "depth": depth,
            }
            for version, part_value, depth in used
        ]
        return {
            "written": row.written,
            "level": shown_level,
            "value": _at_level(value, shown_level),
            "parts": parts,
        }

    def let_notes(self, refs: tuple[str, ...], day: dt.date) -> tuple[Note, ...]:
        """Provisional notes of the figures a value uses, as in force on `day`, transitively."""
        out: list[Note] = []
        pending = list(refs)
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            version = self.let_at(name, day)
            if version is not None:
                out.extend(version.notes)
                pending.extend(ref.name for ref in n.refs_in(version.expr))
        return tuple(out)


def _by_level(value: Value) -> bool:
    return isinstance(value, Val) and value.by_level


def _at_level(value: Value, level: int | None) -> str:
    """A figure as the rule file words it (`60%`, `800 元`), at `level` if it has one; empty
    for a figure of the claim's facts (the step's `derivation` gives what it came to)."""
    if isinstance(value, Formula):
        return ""
    if isinstance(value, Val) and value.amounts:
        return format_amount(value.unit, value.at_level(level or 1))
    return value.describe()


def _in_range(start: dt.date | None, end: dt.date | None, day: dt.date) -> bool:
    return (start is None or start <= day) and (end is None or day <= end)


def refs_of(expr: n.Value) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ref.name for ref in n.refs_in(expr)))


ZERO = Decimal(0)
