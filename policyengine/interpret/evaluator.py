"""The reference interpreter: settles a claim by reading the IR directly, row by row.

It is the oracle the compiled evaluator is tested against (tests/test_differential.py),
so it stays small and obviously right: every step is the spec's (../spec/claims.md §2)
in the spec's order, with no precomputation. Finding rules live in rules.py; the lines,
allocation and decision in lines.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine.contract.fastclaim import Claim
from policyengine.contract.trace import deductible_period, item_class
from policyengine.errors import NotInForce, RuleFailure
from policyengine.interpret import categories, fund_limits
from policyengine.interpret.bands import second_layer
from policyengine.interpret.extra import ExtraShare, extra_shares
from policyengine.interpret.lines import (
    BUCKETS,
    SplitLine,
    allocate,
    decision,
    line_step,
    split_line,
)
from policyengine.interpret.ratios import derivation, rate_parts, ratio
from policyengine.interpret.rules import line_findings, visit_findings
from policyengine.ir import Note, PolicyIR, RowIR, TableIR
from policyengine.semantics.domain import dated_out, matches
from policyengine.semantics.facts import FACTS, FactContext, atom_facts, claim_facts
from policyengine.semantics.money import money, to_unit
from policyengine.semantics.values import BandsVal, Val, Value, banded_total

if TYPE_CHECKING:
    from policyengine.contract.results import FindingDict, ResultDict
    from policyengine.contract.trace import (
        CapStep,
        Composition,
        DeductibleStep,
        FundFigures,
        Step,
    )

ZERO = Decimal(0)


class Run:
    """One claim's settlement. Collects findings, provisional notes and (optionally) trace."""

    def __init__(self, policy: PolicyIR, claim: Claim, day: dt.date, moment: str, trace: bool):
        self.policy = policy
        self.claim = claim
        self.day = day
        self.moment = moment
        self.steps: list[Step] | None = [] if trace else None
        self.notes: set[Note] = set()
        self.extras: list[ExtraShare] = []  # named pre-self-pay tables applying (extra.py)
        # each category's covered (the catalogue's `category`; None: none), for ratios by it
        self.by_category: dict[str | None, Decimal] = {}
        # row id → the provisional dates of the rows its lookup passed over (domain.dated_out)
        self.dated: dict[int, tuple[Note, ...]] = {}
        # the claim's facts as semantics/facts.py reads them for the interpreter
        self.facts = claim_facts(
            claim, FactContext(policy.conditions, default_tier=policy.default_tier)
        )
        self.atoms = atom_facts(claim)  # the whole-number facts figures may compute with

    def step(self, step: Step) -> None:
        if self.steps is not None:
            self.steps.append(step)

    # ------------------------------------------------------------ lookups
    def lookup(self, table: TableIR, facts: dict[str, Any] | None = None) -> RowIR | None:
        facts = facts or self.facts
        live = [r for r in table.rows if r.active(self.day) and matches(r.conds, facts)]
        live = [r for r in live if not any(r.id in other.overrides for other in live)]
        if len(live) > 1:
            where = ", ".join(r.location for r in live)
            raise RuleFailure(f"{table.key}: rows {where} all apply to claim {self.claim.id}")
        if not live:
            return None
        self.dated[live[0].id] = dated_out((*table.rows, *table.adjust), self.day, facts)
        return live[0]

    def value(self, row: RowIR) -> Value:
        self.use(row)
        return self.policy.value(row.expr, self.day, self.atoms)

    def use(self, row: RowIR) -> None:
        self.notes.update(self.row_notes(row))

    def row_notes(self, row: RowIR) -> tuple[Note, ...]:
        """A row's provisional notes, its figures' and those of the dates its lookup passed."""
        return (
            *row.notes,
            *self.policy.let_notes(row.refs, self.day),
            *self.dated.get(row.id, ()),
        )

    def required(self, table: TableIR | None, what: str) -> RowIR:
        row = self.lookup(table) if table is not None else None
        if row is None:
            raise RuleFailure(
                f"no {what} applies to {self.facts['visit']} visits of this person "
                f"(scheme {self.facts['scheme']}) on {self.day}"
            )
        return row

    def level(self, value: Value) -> Decimal:
        if not isinstance(value, Val):  # a figure of a fact the claim lacks (check prevents)
            raise RuleFailure(f"claim {self.claim.id}: a figure reads a fact the claim lacks")
        return value.at_level(self.facts["level"]) if value.amounts else ZERO

    def money_figure(self, value: Value) -> Decimal:
        """A deductible, cap or limit figure, in the policy's unit like all money the
        settlement uses: a constant is whole fen (or jiao) already (the checker refuses a finer
        one, T004), a figure of the claim's facts is rounded half-up to it."""
        return to_unit(self.level(value), self.policy.money_unit)

    # ------------------------------------------------------------ settlement
    def settle(self) -> ResultDict:
        version = self.policy.switches[self.policy.version_index(self.day)]
        self.step(
            {
                "step": "policy",
                "version": version.isoformat(),
                "as_of": self.day.isoformat(),
                "rule": self.policy.start_location,
                "source": self.policy.start_origin.as_json(),
            }
        )
        self.audit_tables()
        findings = visit_findings(self) + line_findings(self)
        for number, finding in enumerate(findings, start=1):
            finding["id"] = f"F{number}"
        splits, denied_lines = self.lines(findings)
        totals = {
            key: sum((Decimal(money(line.buckets[key])) for line in splits), ZERO)
            for key in BUCKETS
        }
        billed = sum((Decimal(money(line.billed)) for line in splits), ZERO)
        deductible, fund, critical = self.payers(totals["covered"], totals["pre_self_pay"])
        patient = billed - totals["denied"] - fund - critical
        self.step({"step": "patient", "value": money(patient)})
        result: ResultDict = {
            "claim_id": self.claim.id,
            "policy": {
                "region": self.policy.name,
                "version": version.isoformat(),
                "as_of": self.day.isoformat(),
            },
            "decision": decision(findings, len(splits), denied_lines),
            "totals": {
                "billed": money(billed),
                "denied": money(totals["denied"]),
                "excluded": money(totals["excluded"]),
                "over_limit": money(totals["over_limit"]),
                "pre_self_pay": money(totals["pre_self_pay"]),
                "covered": money(totals["covered"]),
                "deductible": money(deductible),
                "payers": {"fund": money(fund), "critical_illness": money(critical)},
                "patient": money(patient),
            },
            "lines": allocate(splits, {"fund": fund, "critical_illness": critical}),
            "findings": findings,
            "provisional": [str(n) for n in sorted(self.notes, key=Note.sort_key)],
        }
        if self.steps is not None:
            result["trace"] = self.steps
        return result

    def audit_tables(self) -> None:
        """Record which row of each audit rule's table applies (e.g. the days-supply limit)."""
        from policyengine.interpret.rules import applicable

        for rule in self.policy.rules:
            if rule.level != "line" or not applicable(self, rule):
                continue
            for name, table in rule.tables.items():
                row = self.lookup(table)
                value = self.policy.value(row.expr, self.day) if row is not None else None
                if row is None or (isinstance(value, Val) and not value.amounts):
                    continue  # no row, or one saying `none`: nothing limited, no step
                assert value is not None
                self.step(
                    {
                        "step": "audit_table",
                        "rule": row.location,
                        "source": row.origin.as_json(),
                        "table": name,
                        "value": value.describe(),
                        "provisional": self.step_notes(row),
                    }
                )

    def lines(self, findings: list[FindingDict]) -> tuple[list[SplitLine], set[int]]:
        claim_actions = {f["action"] for f in findings if f["line"] is None}
        out = []
        denied_lines = set()
        self.extras = extra_shares(self)
        for item in sorted(self.claim.items, key=lambda i: i.line):
            own = [f for f in findings if f["line"] == item.line]
            actions = {f["action"] for f in own} | claim_actions
            entry = self.policy.catalogue.get(item.code)
            if "reject" in actions:
                denied_lines.add(item.line)
            split, basis = split_line(self, item, entry, "reject" in actions, "exclude" in actions)
            line = SplitLine(
                item.line,
                item.amount,
                item_class(entry.cls) if entry else None,
                split,
                [f["id"] for f in own],
            )
            self.step(line_step(item.code, line, basis))
            out.append(line)
            if split["covered"]:
                category = entry.category or None if entry is not None else None
                self.by_category[category] = self.by_category.get(category, ZERO) + split["covered"]
        for extra in self.extras:
            self.step(extra.step(self.step_notes(extra.row)))
        return out, denied_lines

    # ------------------------------------------------------------ payers
    def payers(self, covered: Decimal, pre_self_pay: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        if covered == 0:
            return ZERO, ZERO, ZERO
        visit = self.facts["visit"]
        deductible = self.deductible(visit, covered)
        fund = self.fund(visit, covered, deductible)
        critical = second_layer(self, visit, covered - fund, pre_self_pay)
        return deductible, fund, critical

    def deductible(self, visit: str, covered: Decimal) -> Decimal:
        table = self.policy.deductibles.get(visit)
        row = self.required(table, "deductible")
        assert table is not None
        amount = self.money_figure(self.value(row))
        met = ZERO
        if table.period == "year":
            met = self.claim.history.deductible_met.get(visit, ZERO)
        value = min(covered, max(ZERO, amount - met))
        step: DeductibleStep = {
            "step": "deductible",
            "pool": visit,
            "period": deductible_period(table.period),
            "rule": row.location,
            "source": row.origin.as_json(),
            "figures": {
                "amount": money(amount),
                "met": money(met),
                "admission": self.facts["admission"],
            },
            "value": money(value),
            "composition": self.composition(row),
            "provisional": self.step_notes(row),
        }
        if self.steps is not None and (found := derivation(self, row, amount)) is not None:
            step["figures"]["derivation"] = found
        self.step(step)
        return value

    def ratio_table(self, visit: str) -> tuple[TableIR | None, TableIR | None]:
        """The ratio table that applies to the visit type (following `as`), and the alias."""
        table = self.policy.ratios.get(visit)
        if table is not None and table.alias is not None:
            self.notes.update(table.alias_notes)
            return self.policy.ratios.get(table.alias), table
        return table, None

    def rate_for(
        self, table: TableIR | None, facts: dict[str, Any]
    ) -> tuple[RowIR, list[RowIR], Value, Value]:
        """The row, the adjustments that apply, the base and the final ratio for `facts`
        (adjustments combined and held as the table says: interpret/ratios.py)."""
        row, adjustments, _points, base, final, _combination = rate_parts(self, table, facts)
        return row, adjustments, base, final

    def ratio(self, visit: str) -> Value:
        return ratio(self, visit)

    def fund(self, visit: str, covered: Decimal, deductible: Decimal) -> Decimal:
        ratio = self.ratio(visit)
        base = covered - deductible
        entering = fund_limits.fund_ceiling(self, visit, base)
        if entering is not None:
            base = entering
        computed = categories.fund(self, visit, base, covered)
        pooled = None
        if computed is None:  # one ratio for the claim
            if not isinstance(ratio, BandsVal):
                paid = base * self.level(ratio)
            elif ratio.cumulative:  # banded on the year's amount entering the fund
                pooled = self.claim.history.pooled.get(visit, ZERO)
                paid = banded_total(ratio, pooled + base) - banded_total(ratio, pooled)
            else:
                paid = banded_total(ratio, base)
            computed = to_unit(paid, self.policy.money_unit)
        figures: FundFigures = {"covered": money(covered), "deductible": money(deductible)}
        if entering is not None:
            figures["entering"] = money(entering)
        if pooled is not None:
            figures["pooled"] = money(pooled)
        self.step({"step": "fund", "figures": figures, "value": money(computed)})
        fund = fund_limits.period_caps(self, visit, self.cap(visit, computed))
        return self.limit(visit, fund)

    def cap(self, visit: str, fund: Decimal) -> Decimal:
        table = self.policy.cap_of(visit, None)
        if table is None:
            return fund
        row = self.required(table, "annual cap")
        value = self.value(row)
        if isinstance(value, Val) and not value.amounts:  # `none`: no cap
            return fund
        cap = self.money_figure(value)
        paid = sum((self.paid(p) for p in table.pools), ZERO)
        left = max(ZERO, cap - paid)
        result = min(fund, left)
        step: CapStep = {
            "step": "cap",
            "rule": row.location,
            "source": row.origin.as_json(),
            "figures": {
                "cap": money(cap),
                "pools": list(table.pools),
                "paid": money(paid),
                "left": money(left),
            },
            "value": money(result),
            "composition": self.composition(row),
            "provisional": self.step_notes(row),
        }
        if self.steps is not None and (found := derivation(self, row, cap)) is not None:
            step["figures"]["derivation"] = found
        self.step(step)
        return result

    def limit(self, visit: str, fund: Decimal) -> Decimal:
        table = self.policy.limits.get(visit)
        if table is None:
            return fund
        live = [r for r in table.rows if r.active(self.day)]
        numeric = [r for r in live if self.policy.value(r.expr, self.day).unit != "none"]
        context = FactContext(self.policy.conditions, table.programme)
        certified = FACTS["certified"].read(self.claim, context)
        self.notes.update(dated_out(table.rows, self.day, {"certified": certified}))
        if not numeric:
            if live:  # the limits are cancelled (`none`): say so, citing the cancellation
                # the person's own conditions' rows; all of them for a person certified for none
                rows = [r for r in live if matches(r.conds, {"certified": certified})] or live
                self.cancelled_limit(rows, fund)
            return fund
        used = [r for r in numeric if matches(r.conds, {"certified": certified})]
        limit = sum((self.money_figure(self.value(r)) for r in used), ZERO)
        pool = table.pools[0] if table.pools else visit
        paid = self.paid(pool)
        left = max(ZERO, limit - paid)
        result = min(fund, left)
        self.step(
            {
                "step": "limit",
                "rule": table.location,
                "source": (used[0] if used else numeric[0]).origin.as_json(),
                "figures": {
                    "conditions": {
                        r.certified_condition: money(self.money_figure(self.value(r))) for r in used
                    },
                    "limit": money(limit),
                    "rows": [r.location for r in used],
                    "pool": pool,
                    "paid": money(paid),
                    "left": money(left),
                },
                "value": money(result),
                "provisional": self.step_notes(*used),
            }
        )
        return result

    def cancelled_limit(self, rows: list[RowIR], fund: Decimal) -> None:
        for row in rows:
            self.use(row)
        self.step(
            {
                "step": "limit",
                "rule": rows[0].location,
                "source": rows[0].origin.as_json(),
                "figures": {"limit": None, "rows": [r.location for r in rows]},
                "value": money(fund),
                "provisional": self.step_notes(*rows),
            }
        )

    def composition(self, row: RowIR) -> Composition:
        """How the row's figure is composed of named figures (ir.composition)."""
        return self.policy.composition(row, self.day, self.facts["level"])

    def paid(self, pool: str) -> Decimal:
        return self.claim.history.paid.get(pool, ZERO)

    def step_notes(self, *rows: RowIR, extra: tuple[Note, ...] = ()) -> list[str]:
        if self.steps is None:
            return []
        notes: set[Note] = set(extra)
        for row in rows:
            notes.update(self.row_notes(row))
        return [str(n) for n in sorted(notes, key=Note.sort_key)]


def adjudicate(
    policy: PolicyIR,
    claim: Claim,
    *,
    as_of: dt.date | None = None,
    moment: str = "during",
    trace: bool = False,
) -> ResultDict:
    day = as_of or claim.visit.date
    if policy.version_index(day) < 0:
        raise NotInForce(
            f"policy {policy.name} is in force from {policy.start}; no rules for {day}"
        )
    return Run(policy, claim, day, moment, trace).settle()
