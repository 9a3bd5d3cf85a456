"""Reading one version's settlement of a claim from its traced result: `read` collects the
figures each step states into the components of diff/components.py (a State, the rules it
cites, the history pools each step reads)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine.contract.steps import read_steps
from policyengine.diff.components import (
    Cite,
    Cites,
    ExtraShare,
    Finding,
    LineState,
    Outcome,
    Pools,
    Settlement,
    State,
    source_key,
)
from policyengine.semantics.values import Band, BandsVal

if TYPE_CHECKING:
    from policyengine.contract.fastclaim import Claim, Item
    from policyengine.contract.results import ResultDict
    from policyengine.contract.steps import Steps
    from policyengine.contract.trace import (
        CapStep,
        CategoryRatiosStep,
        CriticalIllnessStep,
        DeductibleStep,
        ExtraPreSelfPayStep,
        FundCeilingStep,
        LimitStep,
        LineStep,
        PeriodCapStep,
        RatioStep,
        Schedule,
    )


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
    extras = _extras(steps.extra_pre_self_pay)
    lines = tuple(
        _line(
            step,
            items[step["line"]],
            tuple(findings.get(step["line"], ())) + claim_level,
            extras.get(step["line"], ()),
        )
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
    reading = _Reading(
        State(billed=_d(totals["billed"]), lines=lines, payers=False),
        Cites(),
        Pools(visit=claim.visit.type),
    )
    reading.payers(steps)
    return Settlement(reading.state, reading.cites, outcome, claim.history, reading.pools)


def _extras(steps: tuple[ExtraPreSelfPayStep, ...]) -> dict[int, tuple[ExtraShare, ...]]:
    """Line → the extra pre-self-pay shares taken of it, in the tables' order."""
    out: dict[int, tuple[ExtraShare, ...]] = {}
    for step in steps:
        share = ExtraShare(
            step["title"] or step["table"],
            _d(step["rate"]),
            Cite(step["rule"], source_key(step["source"])),
        )
        for line in step["lines"]:
            out[line["line"]] = (*out.get(line["line"], ()), share)
    return out


def _line(
    step: LineStep, item: Item, findings: tuple[Finding, ...], extras: tuple[ExtraShare, ...]
) -> LineState:
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
        extras=extras,
    )


@dataclass
class _Reading:
    """The payer steps of a trace read into a state, its citations and its pools."""

    state: State
    cites: Cites
    pools: Pools

    def set(self, **figures: Any) -> None:  # State's fields, each its own type
        self.state = dataclasses.replace(self.state, **figures)

    def cite(self, **cites: Any) -> None:  # Cites' fields
        self.cites = dataclasses.replace(self.cites, **cites)

    def pool(self, **pools: Any) -> None:  # Pools' fields
        self.pools = dataclasses.replace(self.pools, **pools)

    def payers(self, steps: Steps) -> None:
        if steps.deductible is not None:
            figures = steps.deductible["figures"]
            self.set(
                payers=True, deductible=_d(figures["amount"]), deductible_met=_d(figures["met"])
            )
            self.pool(deductible_yearly=steps.deductible["period"] == "year")
            self.cite(deductible=_cite(steps.deductible))
        if steps.ratio is not None:
            self.ratio(steps.ratio)
        if steps.category_ratios is not None:
            self.categories(steps.category_ratios)
        if steps.fund is not None and "pooled" in steps.fund["figures"]:
            self.set(ratio_pooled=_d(steps.fund["figures"]["pooled"]))
        if steps.fund_ceiling is not None:
            self.fund_ceiling(steps.fund_ceiling)
        if steps.cap is not None:
            cap = steps.cap["figures"]
            self.set(cap=_d(cap["cap"]), cap_paid=_d(cap["paid"]))
            self.pool(cap=tuple(cap["pools"]))
            self.cite(cap=_cite(steps.cap))
        for period_cap in steps.period_caps:
            self.period_cap(period_cap)
        if steps.limit is not None:
            self.limit(steps.limit)
        if steps.critical_illness is not None:
            self.second_layer(steps.critical_illness)

    def ratio(self, step: RatioStep) -> None:
        """A ratio's base, adjustments and their combination; a banded ratio (form "bands")
        has no base rate, and is carried by its description (it is not recomputed)."""
        figures = step["figures"]
        adjustments = tuple(
            (Cite(a["rule"], source_key(a["source"])), _d(a["points"]))
            for a in figures["adjustments"]
        )
        banded = step["form"] == "bands"
        self.set(
            ratio_base=None if banded else _d(figures["base"]),
            ratio_banded=step["value"] if banded else None,
            ratio_adjustments=tuple(points for _cite, points in adjustments),
        )
        self.cite(ratio=_cite(step), adjustments=adjustments)
        if "combination" in figures:
            combination = figures["combination"]
            self.set(
                ratio_how=combination["how"],
                ratio_at_least=_opt(combination["at_least"]),
                ratio_at_most=_opt(combination["at_most"]),
            )
            self.cite(combination=Cite(combination["rule"], source_key(combination["source"])))

    def categories(self, step: CategoryRatiosStep) -> None:
        parts = step["categories"]
        self.set(
            unmodelled="per-category ratios",
            categories=tuple((p["category"], p["rate"], p["rule"]) for p in parts),
        )
        self.cite(
            categories=tuple(
                (p["category"] or "", p["rate"], Cite(p["rule"], source_key(p["source"])))
                for p in parts
            )
        )

    def fund_ceiling(self, step: FundCeilingStep) -> None:
        figures = step["figures"]
        self.set(fund_ceiling=_d(figures["ceiling"]), pooled=_d(figures["pooled"]))
        self.pool(fund_ceiling=tuple(figures["pools"]))
        self.cite(fund_ceiling=Cite(step["rule"], source_key(step["source"])))

    def period_cap(self, step: PeriodCapStep) -> None:
        figures = step["figures"]
        cite = Cite(step["rule"], source_key(step["source"]))
        if step["period"] == "visit":
            self.set(visit_cap=_d(figures["cap"]))
            self.cite(visit_cap=cite)
        else:
            self.set(day_cap=_d(figures["cap"]), day_paid=_d(figures["paid"]))
            self.pool(day_cap=tuple(figures["pools"]))
            self.cite(day_cap=cite)

    def limit(self, step: LimitStep) -> None:
        figures = step["figures"]
        rows = figures["rows"]
        self.pool(limit=figures.get("pool") or self.pools.visit)
        self.cite(limit=Cite(rows[0] if rows else step["rule"], source_key(step["source"])))
        limit, paid = figures["limit"], figures.get("paid")
        if limit is not None and paid is not None:  # not cancelled (`none`)
            self.set(limit=_d(limit), limit_paid=_d(paid))

    def second_layer(self, step: CriticalIllnessStep) -> None:
        second = step["figures"]
        self.set(
            schedule=_schedule(second["schedule"]),
            base_with_pre_self_pay="pre_self_pay" in second,
            self_burden_before=_d(second["self_burden_before"]),
            critical_paid=_d(second["paid"]),
        )
        self.cite(second_layer=_cite(step))


def _schedule(data: Schedule) -> BandsVal:
    return BandsVal(
        threshold=_opt(data["threshold"]),
        bands=tuple(Band(_d(b["from"]), _opt(b["to"]), _d(b["rate"])) for b in data["bands"]),
        ceiling=_opt(data["ceiling"]),
        payment_cap=_opt(data["payment_cap"]),
    )
