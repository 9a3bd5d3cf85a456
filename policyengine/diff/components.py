"""The components of a settlement, read from its trace, and their recomputation.

A traced result states every figure settlement used: each line's buckets and the basis
of its split, the deductible amount and the amount already met, the ratio (base and
adjustments), the cap and the year's paid against it, the per-condition limit and its
paid, the second-layer schedule, the year's self-burden S and the second layer's paid.
`read` collects them into a State; `recompute` applies the spec's formulas
(../spec/claims.md §2, steps 6–9) to a State. diff_attribution.py substitutes the
components of one version by the other's, one at a time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from policyengine.semantics.matching import round_fen
from policyengine.semantics.values import Band, BandsVal, banded_total

ZERO = Decimal(0)
LEDGER = "ledger"


@dataclass(frozen=True)
class Change:
    """A claim's change (amended − base) in what each party pays, and in denied money."""

    fund: Decimal = ZERO
    critical_illness: Decimal = ZERO
    patient: Decimal = ZERO
    denied: Decimal = ZERO

    def __add__(self, other: Change) -> Change:
        return Change(*(a + b for a, b in zip(self.values(), other.values(), strict=True)))

    def __sub__(self, other: Change) -> Change:
        return Change(*(a - b for a, b in zip(self.values(), other.values(), strict=True)))

    def __neg__(self) -> Change:
        return ZERO_CHANGE - self

    def values(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        return (self.fund, self.critical_illness, self.patient, self.denied)

    @property
    def payers(self) -> Decimal:
        return self.fund + self.critical_illness

    def __bool__(self) -> bool:
        return any(self.values())


ZERO_CHANGE = Change()


@dataclass(frozen=True)
class Target:
    """Where a step's change goes: a rule of one version, or the ledger, or a whole claim."""

    kind: str  # "rule", "ledger", "one_version", "unexplained"
    step: str  # lines, deductible, deductible_met, ratio, ratio_adjustment, cap, cap_paid, …
    rule: str | None = None  # file:line of the rule or row
    version: str | None = None  # whose files `rule` refers to: "amended" or "base"
    source: str | None = None  # the cited source as canonical JSON (hashable)
    detail: str | None = None  # e.g. the finding kind, the catalogue code

    @property
    def source_json(self) -> dict[str, Any] | None:
        return orjson.loads(self.source) if self.source is not None else None


def source_key(source: dict[str, Any] | None) -> str | None:
    if source is None:
        return None
    return orjson.dumps(source, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class Cite:
    rule: str | None
    source: str | None

    def target(self, step: str, version: str, detail: str | None = None) -> Target:
        return Target("rule", step, self.rule, version, self.source, detail)


NO_CITE = Cite(None, None)


# ------------------------------------------------------------------ components


@dataclass(frozen=True)
class Finding:
    kind: str
    action: str
    rule: str | None
    source: str | None


@dataclass(frozen=True)
class LineState:
    line: int
    code: str
    amount: Decimal
    quantity: Decimal
    denied: Decimal
    excluded: Decimal
    over_limit: Decimal
    pre_self_pay: Decimal
    covered: Decimal
    findings: tuple[Finding, ...]  # the line's own and the claim-level ones
    price_cap: Decimal | None
    selfpay: Decimal | None
    selfpay_cite: Cite

    @property
    def status(self) -> str:
        if self.denied:
            return "denied"
        return "excluded" if self.excluded else "priced"

    def buckets(self) -> tuple[Decimal, ...]:
        return (self.denied, self.excluded, self.over_limit, self.pre_self_pay, self.covered)

    def priced(self, price_cap: Decimal | None, selfpay: Decimal | None) -> LineState:
        """The line split with this payment standard and 自付比例 (spec §2, buckets 3–5)."""
        over = ZERO
        if price_cap is not None:
            over = max(ZERO, round_fen(self.amount - price_cap * self.quantity))
        pre = round_fen((self.amount - over) * selfpay) if selfpay is not None else ZERO
        return dataclasses.replace(
            self,
            over_limit=over,
            pre_self_pay=pre,
            covered=self.amount - over - pre,
            price_cap=price_cap,
            selfpay=selfpay,
        )


@dataclass(frozen=True)
class State:
    """Everything fund and critical_illness depend on, as the trace states it."""

    billed: Decimal
    lines: tuple[LineState, ...]
    payers: bool  # the payer steps ran (covered > 0)
    deductible: Decimal = ZERO
    deductible_met: Decimal = ZERO
    ratio_base: Decimal | None = ZERO  # None: a banded ratio, not recomputable
    ratio_banded: str | None = None  # a banded ratio's description
    ratio_points: Decimal = ZERO
    cap: Decimal | None = None
    cap_paid: Decimal = ZERO
    limit: Decimal | None = None
    limit_paid: Decimal = ZERO
    schedule: BandsVal | None = None
    self_burden_before: Decimal = ZERO
    critical_paid: Decimal = ZERO


@dataclass(frozen=True)
class Cites:
    deductible: Cite = NO_CITE
    ratio: Cite = NO_CITE
    adjustments: tuple[tuple[Cite, Decimal], ...] = ()
    cap: Cite = NO_CITE
    limit: Cite = NO_CITE
    second_layer: Cite = NO_CITE


@dataclass(frozen=True)
class Pools:
    """Which parts of the history each payer step reads (from the step's figures)."""

    visit: str = ""
    deductible_yearly: bool = False
    cap: tuple[str, ...] = ()
    limit: str | None = None


@dataclass(frozen=True)
class Settlement:
    """One version's settlement of a claim, read from its result and trace."""

    state: State
    cites: Cites
    outcome: Outcome
    history: Any  # the claim's history as settled (the ledger's, in a batch)
    pools: Pools


@dataclass(frozen=True)
class Outcome:
    covered: Decimal
    denied: Decimal
    deductible: Decimal
    fund: Decimal
    critical_illness: Decimal
    patient: Decimal

    def change(self) -> Change:
        return Change(self.fund, self.critical_illness, self.patient, self.denied)


def _d(text: Any) -> Decimal:
    return Decimal(str(text))


def _opt(text: Any) -> Decimal | None:
    return None if text is None else Decimal(str(text))


def _cite(step: dict[str, Any]) -> Cite:
    return Cite(step.get("rule"), source_key(step.get("source")))


def read(claim: Any, result: dict[str, Any]) -> Settlement:
    """The components of one traced settlement (`claim`: the parsed claim records)."""
    items = {item.line: item for item in claim.items}
    findings: dict[int | None, list[Finding]] = {}
    for f in result["findings"]:
        findings.setdefault(f["line"], []).append(
            Finding(f["kind"], f["action"], f.get("rule"), source_key(f.get("source")))
        )
    claim_level = tuple(findings.get(None, ()))
    lines: list[LineState] = []
    state_fields: dict[str, Any] = {}
    cites: dict[str, Any] = {}
    pools: dict[str, Any] = {"visit": claim.visit.type}
    for step in result["trace"]:
        kind = step["step"]
        figures = step.get("figures") or {}
        if kind == "line":
            item = items[step["line"]]
            lines.append(
                LineState(
                    line=step["line"],
                    code=item.code,
                    amount=item.amount,
                    quantity=item.quantity,
                    denied=_d(step["denied"]),
                    excluded=_d(step["excluded"]),
                    over_limit=_d(step["over_limit"]),
                    pre_self_pay=_d(step["pre_self_pay"]),
                    covered=_d(step["covered"]),
                    findings=tuple(findings.get(step["line"], ())) + claim_level,
                    price_cap=_opt(step.get("price_cap")),
                    selfpay=_opt(step.get("selfpay")),
                    selfpay_cite=Cite(
                        step.get("selfpay_rule"), source_key(step.get("selfpay_source"))
                    ),
                )
            )
        elif kind == "deductible":
            state_fields.update(
                payers=True, deductible=_d(figures["amount"]), deductible_met=_d(figures["met"])
            )
            pools["deductible_yearly"] = step.get("period") == "year"
            cites["deductible"] = _cite(step)
        elif kind == "ratio":
            base = _ratio(figures.get("base"))
            adjustments = tuple(
                (Cite(a.get("rule"), source_key(a.get("source"))), _d(a["points"]))
                for a in figures.get("adjustments") or ()
            )
            state_fields.update(
                ratio_base=base,
                ratio_banded=None if base is not None else str(step.get("value")),
                ratio_points=sum((p for _c, p in adjustments), ZERO),
            )
            cites.update(ratio=_cite(step), adjustments=adjustments)
        elif kind == "cap":
            state_fields.update(cap=_d(figures["cap"]), cap_paid=_d(figures["paid"]))
            pools["cap"] = tuple(figures.get("pools") or ())
            cites["cap"] = _cite(step)
        elif kind == "limit":
            rows = figures.get("rows") or []
            pools["limit"] = figures.get("pool") or claim.visit.type
            cites["limit"] = Cite(
                rows[0] if rows else step.get("rule"), source_key(step.get("source"))
            )
            if figures.get("limit") is not None:
                state_fields.update(limit=_d(figures["limit"]), limit_paid=_d(figures["paid"]))
        elif kind == "critical_illness":
            state_fields.update(
                schedule=_schedule(figures["schedule"]),
                self_burden_before=_d(figures["self_burden_before"]),
                critical_paid=_d(figures["paid"]),
            )
            cites["second_layer"] = _cite(step)
    totals = result["totals"]
    outcome = Outcome(
        covered=_d(totals["covered"]),
        denied=_d(totals["denied"]),
        deductible=_d(totals["deductible"]),
        fund=_d(totals["payers"]["fund"]),
        critical_illness=_d(totals["payers"]["critical_illness"]),
        patient=_d(totals["patient"]),
    )
    state = State(billed=_d(totals["billed"]), lines=tuple(lines), payers=False)
    state = dataclasses.replace(state, **state_fields)
    return Settlement(state, Cites(**cites), outcome, claim.history, Pools(**pools))


def _ratio(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text))
    except InvalidOperation:  # a banded ratio's description
        return None


def _schedule(data: dict[str, Any]) -> BandsVal:
    return BandsVal(
        threshold=_opt(data.get("threshold")),
        bands=tuple(Band(_d(b["from"]), _opt(b.get("to")), _d(b["rate"])) for b in data["bands"]),
        ceiling=_opt(data.get("ceiling")),
        payment_cap=_opt(data.get("payment_cap")),
    )


# ------------------------------------------------------------------ recomputation


class NotRecomputable(Exception):
    """The settlement cannot be recomputed from the trace's figures (a banded ratio)."""


PAYER_FIELDS = (
    "deductible",
    "deductible_met",
    "ratio_base",
    "ratio_banded",
    "ratio_points",
    "cap",
    "cap_paid",
    "limit",
    "limit_paid",
    "schedule",
    "self_burden_before",
    "critical_paid",
)


def recompute(state: State) -> Outcome:
    """Spec §2, steps 6–9, on the state's figures."""
    covered = sum((line.covered for line in state.lines), ZERO)
    denied = sum((line.denied for line in state.lines), ZERO)
    deductible = fund = critical = ZERO
    if covered:
        if state.ratio_base is None:
            raise NotRecomputable("a banded ratio")
        deductible = min(covered, max(ZERO, state.deductible - state.deductible_met))
        fund = round_fen((covered - deductible) * (state.ratio_base + state.ratio_points))
        if state.cap is not None:
            fund = min(fund, max(ZERO, state.cap - state.cap_paid))
        if state.limit is not None:
            fund = min(fund, max(ZERO, state.limit - state.limit_paid))
        bands = state.schedule
        if bands is not None:
            before = state.self_burden_before
            critical = round_fen(
                banded_total(bands, before + covered - fund) - banded_total(bands, before)
            )
            if bands.payment_cap is not None:
                critical = min(critical, max(ZERO, bands.payment_cap - state.critical_paid))
    patient = state.billed - denied - fund - critical
    return Outcome(covered, denied, deductible, fund, critical, patient)


def clause_key(target: Target) -> str:
    """How the by-clause table groups targets."""
    if target.kind == "rule":
        return target.source or f"uncited:{target.detail or target.step}"
    return target.kind
