"""The components of a settlement, read from its trace, and their recomputation.

A traced result states every figure settlement used: each line's buckets and the basis
of its split, the deductible amount and the amount already met, the ratio (base and
adjustments), the cap and the year's paid against it, the per-condition limit and its
paid, the second-layer schedule, the year's self-burden S and the second layer's paid.
`read` collects them into a State; `recompute` applies the spec's formulas
(../spec/claims.md §2, steps 6–9) to a State. diff/attribution.py substitutes the
components of one version by the other's, one at a time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Literal

import orjson

from policyengine.contract.steps import read_steps
from policyengine.semantics.money import fen
from policyengine.semantics.values import Band, BandsVal, banded_total

if TYPE_CHECKING:
    from policyengine.contract.fastclaim import Claim, History, Item
    from policyengine.contract.results import ResultDict
    from policyengine.contract.trace import (
        CapStep,
        Citation,
        CriticalIllnessStep,
        DeductibleStep,
        LimitStep,
        LineStep,
        RatioStep,
        Schedule,
    )

ZERO = Decimal(0)
LEDGER: Final = "ledger"
# where a change goes: a rule (or catalogue row), the ledger, a claim settled under one version
# only, or a change no step explains
TargetKind = Literal["rule", "ledger", "one_version", "unexplained"]
Side = Literal["base", "amended"]  # the two versions compared


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

    kind: TargetKind
    step: str  # lines, deductible, deductible_met, ratio, ratio_adjustment, cap, cap_paid, …
    rule: str | None = None  # file:line of the rule or row
    version: Side | None = None  # whose files `rule` refers to
    source: str | None = None  # the cited source as canonical JSON (hashable)
    detail: str | None = None  # e.g. the finding kind, the catalogue code

    @property
    def source_json(self) -> Citation | None:
        if self.source is None:
            return None
        cited: Citation = orjson.loads(self.source)  # written by source_key from a Citation
        return cited


def source_key(source: Citation | None) -> str | None:
    if source is None:
        return None
    return orjson.dumps(source, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class Cite:
    rule: str | None
    source: str | None

    def target(self, step: str, version: Side, detail: str | None = None) -> Target:
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
            over = max(ZERO, fen(self.amount - price_cap * self.quantity))
        pre = fen((self.amount - over) * selfpay) if selfpay is not None else ZERO
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
    history: History  # the claim's history as settled (the ledger's, in a batch)
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


def _d(text: str) -> Decimal:
    return Decimal(text)


def _opt(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _cite(step: DeductibleStep | RatioStep | CapStep | CriticalIllnessStep) -> Cite:
    return Cite(step["rule"], source_key(step["source"]))


def read(claim: Claim, result: ResultDict) -> Settlement:
    """The components of one traced settlement (`claim`: the parsed claim records)."""
    items = {item.line: item for item in claim.items}
    findings: dict[int | None, list[Finding]] = {}
    for f in result["findings"]:
        findings.setdefault(f["line"], []).append(
            Finding(f["kind"], f["action"], f["rule"], source_key(f["source"]))
        )
    claim_level = tuple(findings.get(None, ()))
    steps = read_steps(result)
    lines = tuple(
        _line(step, items[step["line"]], tuple(findings.get(step["line"], ())) + claim_level)
        for step in steps.lines
    )
    totals = result["totals"]
    outcome = Outcome(
        covered=_d(totals["covered"]),
        denied=_d(totals["denied"]),
        deductible=_d(totals["deductible"]),
        fund=_d(totals["payers"]["fund"]),
        critical_illness=_d(totals["payers"]["critical_illness"]),
        patient=_d(totals["patient"]),
    )
    state = State(billed=_d(totals["billed"]), lines=lines, payers=False)
    cites = Cites()
    pools = Pools(visit=claim.visit.type)
    if steps.deductible is not None:
        figures = steps.deductible["figures"]
        state = dataclasses.replace(
            state, payers=True, deductible=_d(figures["amount"]), deductible_met=_d(figures["met"])
        )
        pools = dataclasses.replace(pools, deductible_yearly=steps.deductible["period"] == "year")
        cites = dataclasses.replace(cites, deductible=_cite(steps.deductible))
    if steps.ratio is not None:
        state, cites = _ratio(state, cites, steps.ratio)
    if steps.cap is not None:
        cap = steps.cap["figures"]
        state = dataclasses.replace(state, cap=_d(cap["cap"]), cap_paid=_d(cap["paid"]))
        pools = dataclasses.replace(pools, cap=tuple(cap["pools"]))
        cites = dataclasses.replace(cites, cap=_cite(steps.cap))
    if steps.limit is not None:
        state, cites, pools = _limit(state, cites, pools, steps.limit)
    if steps.critical_illness is not None:
        second = steps.critical_illness["figures"]
        state = dataclasses.replace(
            state,
            schedule=_schedule(second["schedule"]),
            self_burden_before=_d(second["self_burden_before"]),
            critical_paid=_d(second["paid"]),
        )
        cites = dataclasses.replace(cites, second_layer=_cite(steps.critical_illness))
    return Settlement(state, cites, outcome, claim.history, pools)


def _line(step: LineStep, item: Item, findings: tuple[Finding, ...]) -> LineState:
    return LineState(
        line=step["line"],
        code=item.code,
        amount=item.amount,
        quantity=item.quantity,
        denied=_d(step["denied"]),
        excluded=_d(step["excluded"]),
        over_limit=_d(step["over_limit"]),
        pre_self_pay=_d(step["pre_self_pay"]),
        covered=_d(step["covered"]),
        findings=findings,
        price_cap=_opt(step["price_cap"]),
        selfpay=_opt(step["selfpay"]),
        selfpay_cite=Cite(step["selfpay_rule"], source_key(step["selfpay_source"])),
    )


def _ratio(state: State, cites: Cites, step: RatioStep) -> tuple[State, Cites]:
    """A ratio's base and adjustments; a banded ratio (form "bands") has no base rate, and
    is carried by its description (it cannot be recomputed from the trace)."""
    adjustments = tuple(
        (Cite(a["rule"], source_key(a["source"])), _d(a["points"]))
        for a in step["figures"]["adjustments"]
    )
    banded = step["form"] == "bands"
    state = dataclasses.replace(
        state,
        ratio_base=None if banded else _d(step["figures"]["base"]),
        ratio_banded=step["value"] if banded else None,
        ratio_points=sum((points for _cite, points in adjustments), ZERO),
    )
    return state, dataclasses.replace(cites, ratio=_cite(step), adjustments=adjustments)


def _limit(state: State, cites: Cites, pools: Pools, step: LimitStep) -> tuple[State, Cites, Pools]:
    figures = step["figures"]
    rows = figures["rows"]
    pools = dataclasses.replace(pools, limit=figures.get("pool") or pools.visit)
    cites = dataclasses.replace(
        cites, limit=Cite(rows[0] if rows else step["rule"], source_key(step["source"]))
    )
    limit, paid = figures["limit"], figures.get("paid")
    if limit is not None and paid is not None:  # not cancelled (`none`)
        state = dataclasses.replace(state, limit=_d(limit), limit_paid=_d(paid))
    return state, cites, pools


def _schedule(data: Schedule) -> BandsVal:
    return BandsVal(
        threshold=_opt(data["threshold"]),
        bands=tuple(Band(_d(b["from"]), _opt(b["to"]), _d(b["rate"])) for b in data["bands"]),
        ceiling=_opt(data["ceiling"]),
        payment_cap=_opt(data["payment_cap"]),
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
        fund = fen((covered - deductible) * (state.ratio_base + state.ratio_points))
        if state.cap is not None:
            fund = min(fund, max(ZERO, state.cap - state.cap_paid))
        if state.limit is not None:
            fund = min(fund, max(ZERO, state.limit - state.limit_paid))
        bands = state.schedule
        if bands is not None:
            before = state.self_burden_before
            critical = fen(
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
