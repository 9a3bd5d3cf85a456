"""Emit one version's settle function: `_settle_<i>(c, day, before, tr)`.

The function is the spec's settlement (../spec/claims.md §2) with everything that depends
on the version folded in: which rules run, every table resolved to a dict, every figure a
constant. The traced variant is the same code plus `tr.append(...)` steps; the plain
variant has no trace statements at all.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from policyengine.compile import categories, extra
from policyengine.compile import rules as emit_rules
from policyengine.compile.tables import Resolved, level_of, resolve
from policyengine.compile.writer import Code, Raw, literal
from policyengine.ir import Note, RowIR, RuleIR, TableIR
from policyengine.semantics.domain import dated_out
from policyengine.semantics.facts import ATOMS, FACTS, FACTS_TUPLE
from policyengine.semantics.formula import Const
from policyengine.semantics.matching import ratio_text
from policyengine.semantics.money import money
from policyengine.semantics.values import BandsVal, Formula, Val
from policyengine.semantics.vocabulary import VISITS

if TYPE_CHECKING:
    from policyengine.compile.extra import Extra
    from policyengine.compile.module import ModuleBuilder, SelfpayDefault
    from policyengine.runtime_figures import DerivationMeta

# The locals the body may need, each with its reading and the locals that reading uses, in
# dependency order: the claim facts as semantics/facts.py declares them, and the other values
# of the claim the finding rules read. A local is read only where the body needs it.
_FACT_VARS = {f.var for f in FACTS.values()}
PRELUDE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("vdate", "visit.date", ()),
    *((f.var, f.source, f.uses) for f in FACTS.values() if f.table is None),
    # the facts figures compute with (facts.ATOMS), and their tuple the figures read
    *((a.var, a.source, ()) for a in ATOMS.values() if a.var not in _FACT_VARS),
    (
        FACTS_TUPLE,
        "(" + ", ".join(a.var for a in ATOMS.values()) + ",)",
        tuple(a.var for a in ATOMS.values()),
    ),
    ("title", "visit.doctor.title", ()),
    # map, not a comprehension: a comprehension is a function call per claim (Python 3.11)
    ("udiag", "[*map(str.upper, visit.diagnoses)]", ()),
)
_USES = {var: uses for var, _source, uses in PRELUDE}


class Buckets(NamedTuple):
    """What a line's buckets read of the claim, looked up once before the lines."""

    default: SelfpayDefault  # the pre-self-pay default's lookup
    extras: list[Extra]  # the extra pre-self-pay tables' rows
    ceiling: str | None  # the local holding the pre-self-pay ceiling's row
    by_category: bool  # the ratio is by category: covered is tallied per category


class VersionCompiler:
    def __init__(self, module: ModuleBuilder, index: int, day: dt.date, trace: bool) -> None:
        self.module = module
        self.policy = module.policy
        self.index = index
        self.day = day
        self.trace = trace
        self.needs: set[str] = set()
        self.track_drugs = False
        self.track_services = False
        # local var → (lookup source, applicability guard, table name), computed before the loop
        self.rule_tables: dict[str, tuple[str, str, str]] = {}
        # local var → its value before the loop over lines (running totals of the limits)
        self.loop_state: dict[str, str] = {}
        self.const = module.const
        self.zero = Decimal("0.00")
        # the ratio table's lookup keyed on the local `cat` where it tests a line's category
        # (compile/categories.py), for the visit type whose payers are being emitted
        self.category_lookup: str | None = None
        self.dynamic_ratio = False  # the ratio's entries hold figures of the claim's facts

    # ------------------------------------------------------------ bookkeeping
    def need(self, *names: str) -> None:
        """The body reads these locals (and so whatever their readings read)."""
        for name in names:
            if name not in self.needs:
                self.needs.add(name)
                self.need(*_USES.get(name, ()))
        if FACTS["diagnosis"].var in names:  # read by the module's `_diagnosed`
            self.module.uses_conditions = True

    def fact(self, key: str) -> str:
        """The local holding claim fact `key`, which the body now needs."""
        var = FACTS[key].var
        self.need(var)
        return var

    def figure(self, row: RowIR, level: int | None) -> tuple[Any, DerivationMeta | None]:
        """A row's figure for a class of claims at `level`: a constant (Decimal, `bands`,
        None for `none`) — or, where it reads the claim's facts, the function computing it
        from `fx` and what its derivation states (the generated code then needs `fx`)."""
        read = self.policy.facts_read(row.expr, self.day)
        value = self.policy.value(row.expr, self.day)
        folded = level_of(value, level)
        if not read:
            return folded, None
        self.need(FACTS_TUPLE)
        formula = folded if isinstance(folded, Formula) else Formula(value.unit, Const(folded))
        function = self.module.formulas.function(formula)
        return function, (row.written, tuple(sorted(read)), value.unit == "money")

    @staticmethod
    def evaluate_figure(w: Code, resolved: Resolved, var: str) -> bool:
        """Where a table's entries hold (first) functions of the claim's facts (`figure`), the
        code computing `var`, the looked-up figure, for this claim; whether there are any."""
        if not any(isinstance(e[0], Raw) for e in resolved.entries.values()):
            return False
        with w.block(f"if {var} is not None and {var}.__class__ is not _D:"):
            w(f"{var} = {var}(fx)")
        return True

    def rounded(self, expr: str) -> str:
        """Source rounding the payment `expr` to the policy's unit (money.to_unit)."""
        unit = self.policy.money_unit
        return f"_fen({expr})" if unit == "fen" else f"_to_unit({expr}, {unit!r})"

    def note_ids(self, *notes: Note) -> tuple[int, ...]:
        return self.module.note_ids(notes)

    def row_notes(self, *rows: RowIR, dated: tuple[Note, ...] = ()) -> tuple[Note, ...]:
        """The rows' provisional notes and their figures'; `dated`: those of the dates the
        lookup passed over (`dated`)."""
        notes: list[Note] = []
        for row in rows:
            notes.extend(row.notes)
            notes.extend(self.policy.let_notes(row.refs, self.day))
        return (*notes, *dated)

    def step_notes(self, *rows: RowIR, dated: tuple[Note, ...] = ()) -> list[str]:
        notes = set(self.row_notes(*rows, dated=dated))
        return [str(n) for n in sorted(notes, key=Note.sort_key)]

    def dated(self, table: TableIR, facts: dict[str, Any]) -> tuple[Note, ...]:
        """The provisional dates of the rows of `table` that match a class of claims but are
        not in force at this version (semantics/domain.dated_out)."""
        return dated_out((*table.rows, *table.adjust), self.day, facts)

    def table_var(
        self, table: TableIR, rows: tuple[RowIR, ...], payload: Any, visits: tuple[str, ...] | None
    ) -> tuple[Resolved, str]:
        resolved = resolve(self.policy, list(rows), self.day, payload, visits=visits)
        return resolved, self.module.table_const(resolved)

    def lookup(self, resolved: Resolved, name: str) -> str:
        for key in resolved.keys:
            self.fact(key)
        if not resolved.keys:
            return f"{name}.get(())"
        return f"{name}.get({resolved.key_source(self.const)})"

    def rule_table_var(self, rule: RuleIR, table_name: str, *, whole: bool = True) -> str | None:
        """The local holding the rule table's entry for the claim (None where no row applies
        or the row says `none`): (figure, note ids, rule, source, figure in words); the figure
        at the hospital's level, an int where `whole` (days, counts), else a Decimal."""
        table = rule.tables[table_name]

        def payload(row: RowIR | None, facts: dict[str, Any]) -> Any:
            if row is None:
                return None
            value = self.policy.value(row.expr, self.day)
            assert isinstance(value, Val)
            figure = level_of(value, facts.get("level"))
            if figure is None:  # `none`: nothing limited
                return None
            dated = self.dated(table, facts)
            return (
                int(figure) if whole else figure,
                self.note_ids(*self.row_notes(row, dated=dated)),
                row.location,
                row.origin.as_json(),
                value.describe(),
                tuple(self.step_notes(row, dated=dated)),
            )

        resolved, name = self.table_var(table, table.rows, payload, None)
        if not resolved.entries:
            return None
        var = f"lim{rule.id}"
        guard = f"a{rule.id} and " if rule.when else ""
        self.rule_tables[var] = (self.lookup(resolved, name), guard, table_name)
        return var

    # ------------------------------------------------------------ the function
    def function(self) -> Code:
        body = Code()
        body.level = 1
        self.claim_rules(body)
        self.line_loop(body)
        self.payers(body)
        self.finish(body)
        head = Code()
        name = f"_settle_{self.index}_traced" if self.trace else f"_settle_{self.index}"
        version = self.policy.switches[self.index]
        head(f"def {name}(c, day, before, tr):")
        head(f"    # rules in force from {version}")
        head("    person = c.person")
        head("    visit = c.visit")
        head("    history = c.history")
        self.fact("visit")  # the payers branch on the visit type
        for var, source, _uses in PRELUDE:
            if var in self.needs:
                head(f"    {var} = {source}")
        head("    F = []")
        head("    N = set()")
        head("    cacts = set()")
        if self.trace:
            source = self.const(self.policy.start_origin.as_json())
            head(
                f"    tr.append(_policy_step({version.isoformat()!r}, day.isoformat(), "
                f"{self.policy.start_location!r}, {source}))"
            )
        head.lines.extend(body.lines)
        return head

    def active_rules(self, level: str) -> list[RuleIR]:
        return [r for r in self.policy.rules if r.level == level and r.active(self.day)]

    def claim_rules(self, w: Code) -> None:
        for rule in self.active_rules("claim"):
            emit_rules.claim_rule(self, w, rule)

    def line_loop(self, w: Code) -> None:
        rules = self.active_rules("line")
        guards: list[str | None] = []
        for rule in rules:
            if rule.when:
                var = f"a{rule.id}"
                w(f"{var} = {emit_rules.when_source(self, rule.when)}")
                guards.append(var)
            else:
                guards.append(None)
        loop = Code()
        loop.level = w.level + 1
        for rule, guard in zip(rules, guards, strict=True):
            emit_rules.line_rule(self, loop, rule, guard)
        self.loop_state_setup(w)
        # The untraced variant settles a line's buckets right after its rules: a tuple and a
        # second loop less per line. The traced one keeps its steps in their order, every
        # line's rules then every line's buckets. No line rule raises (a RuleFailure comes
        # from the buckets' and the payers' lookups), so both raise what the interpreter does.
        merged = None if self.trace else self.bucket_lookups(w)
        w("items = sorted(c.items, key=_by_line)  # in C: mostly in order already")
        if merged is None:
            w("pending = []")
        with w.block("for it in items:"):
            w("code = it.code")
            w("e = _CAT.get(code)")
            w("inc = code in _INCAT")
            w("ek = e.kind if e is not None else it.kind")
            w("ln = it.line")
            w("lf = []")
            w.lines.extend(loop.lines)
            if self.track_drugs:
                with w.block("if ek == 'drug':"):
                    w("firsts.setdefault(code[:10], (ln, code))")
            if self.track_services:
                with w.block("if ek == 'service':"):
                    w("svc[code] = svc.get(code, 0) + 1")
            if merged is None:
                w("pending.append((it, e, lf))")
            else:
                self.buckets(w, merged)
        with w.block("for number, f in enumerate(F, 1):"):
            w("f['id'] = 'F%d' % number")
        if merged is None:
            looked_up = self.bucket_lookups(w)
            with w.block("for it, e, lf in pending:"):
                self.buckets(w, looked_up)
            extra.steps(self, w, looked_up.extras)

    def loop_state_setup(self, w: Code) -> None:
        """Before the lines: the rules' tables for this claim and the state they keep."""
        for var, (source, guard, table_name) in self.rule_tables.items():
            w(f"{var} = {source}")
            if self.trace:
                with w.block(f"if {guard}{var} is not None:"):
                    w(
                        f"tr.append(_audit_table_step({var}[2], {var}[3], {table_name!r}, "
                        f"{var}[4], {var}[5]))"
                    )
        for var, init in self.loop_state.items():
            w(f"{var} = {init}")
        if self.track_drugs:
            w("firsts = {}")
            w("disp = None")
        if self.track_services:
            self.need("vdate")
            w("svc = {}")
            with w.block("for rec in history.services:"), w.block("if rec.date == vdate:"):
                w("svc[rec.code] = svc.get(rec.code, 0) + 1")

    def bucket_lookups(self, w: Code) -> Buckets:
        """What a line's buckets read of the claim, looked up before the lines."""
        w("rows = []")
        w("covered = _Z")
        default = self.module.selfpay_default(self)
        extras = extra.lookups(self, w)
        ceiling = extra.ceiling_lookup(self, w)
        by_category = categories.in_use(self)
        if by_category:
            w("cc = {}")
        return Buckets(default, extras, ceiling, by_category)

    def buckets(self, w: Code, looked_up: Buckets) -> None:
        """Dispositions and the national decomposition of the line `it` (spec §2, buckets
        1–5), its row appended to `rows`."""
        default, extras, ceiling, by_category = looked_up
        w("amount = it.amount")
        w("acts = cacts.union([f['action'] for f in lf]) if lf else cacts")
        w("cls = e.cls if e is not None else None")
        if self.trace:
            w("basis = (None, None, None, None, None)")
        # (mostly no action applies: an empty set is not searched)
        with w.block("if acts and 'reject' in acts:"):
            w("row = (it.line, amount, cls, True, amount, _Z, _Z, _Z, _Z, lf)")
        with w.block("elif acts and 'exclude' in acts:"):
            w("row = (it.line, amount, cls, False, _Z, amount, _Z, _Z, _Z, lf)")
        with w.block("else:"):
            w("over = _Z")
            with w.block("if e is not None and e.price_cap is not None:"):
                w("over = _fen(amount - e.price_cap * it.quantity)")
                with w.block("if over <= 0:  # also -0.00"):
                    w("over = _Z")
            w("pre = _Z")
            if self.trace:
                w("sp = (None, None, None)")
                w("held = None  # what a pre_self_pay ceiling cut, where one does")
            with w.block("if cls == 'B':"):
                w("prop = e.selfpay_prop")
                if self.trace:
                    w("sp = (_ratio_text(prop), e.location, None) if prop is not None else None")
                with w.block("if prop is None:"):
                    for line in default.get_source.splitlines():
                        w(line)
                    if self.trace:
                        w(f"sp = {default.trace_source}")
                extra.ceiling_bound(self, w, ceiling)
                w("pre = _fen((amount - over) * prop)")
            # covered is the amount itself where nothing is over or self-paid (mostly):
            # runtime.finish then writes the amount's text once
            w("cov = amount if over is _Z and pre is _Z else amount - over - pre")
            extra.shares(self, w, extras)
            w("covered += cov")
            if by_category:
                categories.tally(w)
            w("row = (it.line, amount, cls, False, _Z, _Z, over, pre, cov, lf)")
            if self.trace:
                w(
                    "basis = (*sp, _money(e.price_cap) if e is not None and e.price_cap is "
                    "not None else None, held)"
                )
        if self.trace:
            w("tr.append(_line_step(it, row, basis, e))")
        w("rows.append(row)")

    def payers(self, w: Code) -> None:
        w("ded = fund = ci = _Z")
        with w.block("if covered:"):
            first = True
            for visit in VISITS:
                branch = Code()
                branch.level = w.level + 1
                from policyengine.compile.payers import visit_payers

                visit_payers(self, branch, visit)
                with w.block(f"{'if' if first else 'elif'} vtype == {visit!r}:"):
                    w.lines.extend(branch.lines)
                first = False

    def finish(self, w: Code) -> None:
        version = self.policy.switches[self.index].isoformat()
        tr = "tr" if self.trace else "None"
        w(
            f"return _finish(c.id, {{'region': {self.policy.name!r}, 'version': {version!r}, "
            "'as_of': "
            f"_day_text(day)}}, F, rows, covered, ded, fund, ci, [*map(_NOTE, sorted(N))], {tr})"
        )


def money_text(value: Any) -> str | None:
    return money(value) if value is not None else None


def ratio_source(value: Any) -> str:
    return ratio_text(value) if not isinstance(value, BandsVal) else value.describe()


__all__ = ["PRELUDE", "VersionCompiler", "literal", "money_text", "ratio_source"]
