"""Lower the checked AST into the IR (ir.py): rows numbered, origins attached, provisional
figures listed, and the dates on which the rule set changes (its versions) collected."""

from __future__ import annotations

import datetime as dt
from itertools import count

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.check.dates import ONE_DAY
from policyengine.check.header import WORDS, month_day
from policyengine.check.tables import beats
from policyengine.check.units import check_param
from policyengine.contract.notes import dates_subject
from policyengine.diagnostics import Diagnostics
from policyengine.ir import (
    Combination,
    Condition,
    LetVersion,
    Moments,
    Note,
    Origin,
    ParamIR,
    PolicyIR,
    RowIR,
    RuleIR,
    TableIR,
    refs_of,
)
from policyengine.semantics.domain import describe
from policyengine.semantics.vocabulary import FINDING_KINDS, MONEY_UNITS, MoneyUnit


class Lowering:
    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.row_ids = count(1)
        self.notes: list[Note] = []
        self.dates: set[dt.date] = set()

    # ------------------------------------------------------------ provenance
    def note(self, provenance: n.Provenance | None, span: n.Span, subject: str) -> tuple[Note, ...]:
        if isinstance(provenance, n.Provisional):
            note = Note(span.location, subject, provenance.reason)
            self.notes.append(note)
            return (note,)
        return ()

    def mark(self, dates: n.Dates | None) -> tuple[dt.date | None, dt.date | None]:
        if dates is None:
            return None, None
        if dates.start:
            self.dates.add(dates.start)
        if dates.end and dates.end < dt.date.max:  # `until 9999-12-31`: no day after it
            self.dates.add(dates.end + ONE_DAY)
        return dates.start, dates.end

    # ------------------------------------------------------------ pieces
    def condition(self, decl: n.ConditionDecl) -> Condition:
        prefixes = tuple(t.low.upper() for t in decl.terms if t.high is None)
        ranges = tuple((t.low[:3].upper(), t.high[:3].upper()) for t in decl.terms if t.high)
        self.note(decl.provenance, decl.span, f"condition {decl.name}")
        return Condition(
            decl.name,
            decl.title or decl.name,
            prefixes,
            ranges,
            tuple(t.low.upper() for t in decl.with_terms),
            self.ctx.origin(decl.provenance),
            decl.span.location,
        )

    def let(self, decl: n.LetDecl) -> LetVersion:
        start, end = self.mark(decl.dates)
        subject = f"{decl.name} = {show_value(decl.value)}"
        notes = self.note(decl.provenance, decl.span, subject)
        notes += self.note(decl.date_provenance, decl.span, _dated(decl.name, decl.dates))
        notes += self.band_notes(decl.value, decl.name)
        return LetVersion(
            decl.name,
            decl.title or decl.name,
            start,
            end,
            decl.value,
            self.ctx.origin(decl.provenance),
            decl.span.location,
            notes,
            show_value(decl.value),
        )

    def band_notes(self, value: n.Value, subject: str) -> tuple[Note, ...]:
        if not isinstance(value, n.Bands):
            return ()
        notes: tuple[Note, ...] = ()
        for stmt in value.statements:
            notes += self.note(stmt.provenance, stmt.span, f"{subject} {show_band(stmt)}")
        return notes

    def rows(self, table: str, rows: tuple[n.Row, ...]) -> tuple[RowIR, ...]:
        ids = {id(row): next(self.row_ids) for row in rows}
        wins = beats(rows)
        lowered = []
        for row in rows:
            start, end = self.mark(row.dates)
            conds = self.ctx.conds.get(id(row), ())
            when = describe(conds)
            subject = f"{table} ({when}) {show_value(row.value)}"
            date_notes = self.note(
                row.date_provenance, row.span, _dated(f"{table} ({when})", row.dates)
            )
            notes = self.note(row.provenance, row.span, subject) + date_notes
            notes += self.band_notes(row.value, table)
            lowered.append(
                RowIR(
                    id=ids[id(row)],
                    table=table,
                    label=row.label,
                    conds=conds,
                    start=start,
                    end=end,
                    expr=row.value,
                    origin=self.ctx.origin(row.provenance),
                    overrides=frozenset(ids[beaten] for beaten in wins[id(row)]),
                    is_adjust=row.is_adjust,
                    location=row.span.location,
                    notes=notes,
                    refs=refs_of(row.value),
                    written=show_value(row.value),
                    date_notes=date_notes,
                )
            )
        return tuple(lowered)

    def table(self, decl: n.TableDecl) -> TableIR:
        key = f"{decl.kind} {decl.name}"
        rows = self.rows(key, decl.rows)
        alias = decl.setting("alias")
        alias_notes = (
            self.note(alias.provenance, alias.span, f"{key} as {alias.args[0]}") if alias else ()
        )
        base = decl.setting("base")
        base_notes = (
            self.note(base.provenance, base.span, f"{key} base {base.args[0]} pre_self_pay")
            if base
            else ()
        )
        return TableIR(
            kind=decl.kind,
            name=decl.name,
            title=decl.title or key,
            period=decl.period,
            rows=tuple(r for r in rows if not r.is_adjust),
            adjust=tuple(r for r in rows if r.is_adjust),
            pools=_args(decl.setting("pools")),
            programme=(decl.setting("programme").args[0] if decl.setting("programme") else None),  # type: ignore[union-attr]
            self_burden=_args(decl.setting("self_burden")),
            alias=alias.args[0] if alias else None,
            alias_origin=self.ctx.origin(alias.provenance) if alias else None,
            alias_notes=alias_notes,
            location=decl.span.location,
            base_includes_pre_self_pay=base is not None and base.args[0] == "includes",
            base_notes=base_notes,
            combination=self.combination(key, decl.combination),
            items=_args(decl.setting("items")),
        )

    def combination(self, key: str, written: n.Combination | None) -> Combination | None:
        if written is None:
            return None
        shown = f"{key} adjustments {written.rule}"
        for word, bound in (("at least", written.at_least), ("at most", written.at_most)):
            if bound is not None:
                shown += f", {word} {show_value(bound)}"
        return Combination(
            written.rule,
            written.at_least,
            written.at_most,
            self.ctx.origin(written.provenance),
            written.span.location,
            self.note(written.provenance, written.span, shown),
        )

    def rule(self, rule_id: int, decl: n.RuleDecl) -> RuleIR:
        spec = FINDING_KINDS[decl.kind]
        start, end = self.mark(decl.dates)
        origin = self.ctx.origin(decl.provenance)
        notes = self.note(decl.provenance, decl.span, f"rule {decl.name} ({decl.kind})")
        notes += self.note(decl.date_provenance, decl.span, _dated(f"rule {decl.name}", decl.dates))
        params = {}
        for param in decl.params:
            values = check_param(self.ctx_silent(), param, spec.params[param.name])
            shown = ", ".join(show_value(a) for a in param.args)
            param_notes = self.note(
                param.provenance, param.span, f"{decl.name} {param.name} {shown}"
            )
            params[param.name] = ParamIR(
                param.name,
                values,
                self.ctx.origin(param.provenance) if param.provenance else origin,
                param.span.location,
                param_notes,
            )
        level = spec.level
        if level == "either":
            level = str(params["scope"].values[0]) if "scope" in params else "line"
        tables = {}
        for table in decl.tables:
            key = (
                f"{decl.kind} {table.name}"
                if decl.name == decl.kind
                else f"{decl.kind} {decl.name} {table.name}"
            )
            rows = self.rows(key, table.rows)
            tables[table.name] = TableIR(
                "rule", key, key, None, rows, (), (), None, (), None, None, (), table.span.location
            )
        return RuleIR(
            id=rule_id,
            kind=decl.kind,
            name=decl.name,
            title=decl.title or decl.name,
            audit=decl.audit,
            level=level,
            action=decl.action or "reject",
            when=tuple(self.ctx.conds.get(id(w), ()) for w in decl.when),
            start=start,
            end=end,
            origin=origin,
            programme=decl.programme,
            params=params,
            tables=tables,
            location=decl.span.location,
            notes=notes,
        )

    def header(self, policy: n.PolicyDecl) -> dict[str, str]:
        """The header's settings by name (each said once: checked), noting provisional ones."""
        out = {}
        for setting in policy.settings:
            words = ", ".join(setting.args)
            self.note(setting.provenance, setting.span, f"{WORDS[setting.name]} {words}")
            out[setting.name] = setting.args[0]
        return out

    def ctx_silent(self) -> CheckContext:
        """The context with a throw-away collector: values were checked already."""
        silent = CheckContext(self.ctx.loaded, Diagnostics())
        silent.conditions = self.ctx.conditions
        silent.lets = self.ctx.lets
        return silent


def lower(ctx: CheckContext, content_hash: str) -> PolicyIR:
    low = Lowering(ctx)
    policy = ctx.policy
    assert policy is not None and policy.start is not None
    start_notes = low.note(
        policy.start_provenance, policy.span, f"policy {policy.name} starts {policy.start}"
    )
    del start_notes
    conditions = {name: low.condition(decl) for name, decl in ctx.conditions.items()}
    lets: dict[str, tuple[LetVersion, ...]] = {}
    for name, versions in ctx.lets.items():
        lowered = [low.let(v) for v in versions]
        lets[name] = tuple(sorted(lowered, key=lambda v: v.start or dt.date.min))
    tables = {key: low.table(decl) for key, decl in ctx.tables.items()}
    rules = tuple(
        low.rule(index + 1, decl)
        for index, decl in enumerate(ctx.rules)
        if decl.kind in FINDING_KINDS
    )
    moments = None
    if ctx.moments is not None:
        moments = Moments(
            ctx.moments.names, ctx.origin(ctx.moments.provenance), ctx.moments.span.location
        )
        low.note(ctx.moments.provenance, ctx.moments.span, "audit moments")
    switches = tuple(sorted({policy.start} | {d for d in low.dates if d > policy.start}))
    header = low.header(policy)
    return PolicyIR(
        name=policy.name,
        title=policy.title or policy.name,
        is_layer=policy.is_layer,
        start=policy.start,
        start_origin=ctx.origin(policy.start_provenance),
        start_location=policy.span.location,
        layers=tuple(layer.name for layer in ctx.loaded.layers),
        conditions=conditions,
        catalogue=ctx.catalogue,
        lets=lets,
        deductibles={name: t for (kind, name), t in tables.items() if kind == "deductible"},
        ratios={name: t for (kind, name), t in tables.items() if kind == "ratio"},
        caps=tuple(t for (kind, _), t in tables.items() if kind == "cap"),
        limits={name: t for (kind, name), t in tables.items() if kind == "limit"},
        second_layer=tables.get(("second_layer", "critical_illness")),
        pre_self_pay=tables.get(("pre_self_pay", "default")),
        rules=rules,
        moments=moments,
        switches=switches,
        content_hash=content_hash,
        notes=tuple(sorted(set(low.notes), key=Note.sort_key)),
        tiers=tuple((t.name, t.title or t.name) for t in policy.tiers),
        default_tier=header.get("default_tier"),
        benefit_year=month_day(header.get("benefit_year", "01-01")) or (1, 1),
        money_unit=money_unit(header.get("money_rounding", "fen")),
        fund_ceilings=tuple(t for (kind, _), t in tables.items() if kind == "fund_ceiling"),
        extra_pre_self_pay=tuple(
            t
            for (kind, name), t in tables.items()
            if kind == "pre_self_pay" and name not in ("default", "ceiling")
        ),
        pre_self_pay_ceiling=tables.get(("pre_self_pay", "ceiling")),
    )


def money_unit(word: str) -> MoneyUnit:
    """The header's unit (the names pass admits only MONEY_UNITS)."""
    if word not in MONEY_UNITS:
        raise ValueError(f"not a unit of money: {word!r}")
    return word


def _args(setting: n.Setting | None) -> tuple[str, ...]:
    return setting.args if setting else ()


def _dated(subject: str, dates: n.Dates | None) -> str:
    """The subject of a note on dates (contract/notes.py words it)."""
    if dates is None:
        return dates_subject(subject, None, None)
    return dates_subject(subject, dates.start, dates.end)


def show_value(value: n.Value, within: int = 0) -> str:
    """The expression as written (for notes and traces), parenthesised where it must be."""
    if isinstance(value, n.Quantity):
        return value.text
    if isinstance(value, n.Ref | n.FactRef):
        return value.name
    if isinstance(value, n.NoneValue):
        return "none"
    if isinstance(value, n.ByLevel):
        return "by level " + " / ".join(show_value(i, _ATOM) for i in value.items)
    if isinstance(value, n.Neg):
        return f"-{show_value(value.arg, _ATOM)}"
    if isinstance(value, n.Call):
        return f"{value.fn}({', '.join(show_value(a) for a in value.args)})"
    if isinstance(value, n.BinOp):
        binding = _BINDING[value.op]
        # a right operand of the same binding needs its brackets: a − (b − c), a ÷ (b × c)
        text = (
            f"{show_value(value.left, binding)} {_SHOWN[value.op]} "
            f"{show_value(value.right, binding + 1)}"
        )
        return f"({text})" if binding < within else text
    return "bands { " + "; ".join(show_band(s) for s in value.statements) + " }"


_BINDING = {"+": 1, "-": 1, "×": 2, "÷": 2}
_ATOM = 3
_SHOWN = {"+": "+", "-": "-", "×": "×", "÷": "÷"}


def show_band(stmt: n.BandStmt) -> str:
    if stmt.kind == "band":
        assert stmt.low is not None and stmt.rate is not None
        if stmt.high is None:
            return f"band above {show_value(stmt.low)} at {show_value(stmt.rate)}"
        return f"band {show_value(stmt.low)} to {show_value(stmt.high)} at {show_value(stmt.rate)}"
    assert stmt.low is not None
    return f"{stmt.kind} {show_value(stmt.low)}"


def origin_of(provenance: n.Provenance | None, ctx: CheckContext) -> Origin:
    return ctx.origin(provenance)
