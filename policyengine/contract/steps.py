"""Reading a result's trace: the one reader, `read_steps(result)`, which gives the steps by
kind (`Steps`) and in settlement order, and what a step names (`step_rules`, `step_sources`).

The steps themselves are declared in contract/trace.py, their one home; consumers (explain,
diff, the policy tests' coverage) read a trace through this module only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, assert_never

from policyengine.contract.trace import (
    AuditTableStep,
    CapStep,
    CategoryRatiosStep,
    Citation,
    CriticalIllnessStep,
    DeductibleStep,
    ExtraPreSelfPayStep,
    FundCeilingStep,
    FundStep,
    LimitStep,
    LineStep,
    PatientStep,
    PeriodCapStep,
    PolicyStep,
    RatioStep,
    Step,
)

if TYPE_CHECKING:
    from policyengine.contract.results import ResultDict


# ------------------------------------------------------------------ the reader


class TraceError(ValueError):
    """A result settled without a trace, or a trace that repeats a single step."""


@dataclass(frozen=True, slots=True)
class Steps:
    """A result's trace read by kind. `all` keeps the settlement order; a kind that did
    not run (no payer steps when nothing is covered, no cap, no second layer) is None."""

    all: tuple[Step, ...]
    policy: PolicyStep | None
    audit_tables: tuple[AuditTableStep, ...]
    lines: tuple[LineStep, ...]
    extra_pre_self_pay: tuple[ExtraPreSelfPayStep, ...]
    deductible: DeductibleStep | None
    ratio: RatioStep | None
    fund_ceiling: FundCeilingStep | None
    fund: FundStep | None
    cap: CapStep | None
    period_caps: tuple[PeriodCapStep, ...]
    limit: LimitStep | None
    critical_illness: CriticalIllnessStep | None
    patient: PatientStep | None
    category_ratios: CategoryRatiosStep | None = None


def read_steps(result: ResultDict) -> Steps:
    """The steps of a traced result, by kind. Raises TraceError for a result settled
    without a trace, or a trace with two steps of a kind a settlement records once."""
    trace = result.get("trace")
    if trace is None:
        raise TraceError(f"result {result['claim_id']!r} has no trace (settle it with trace)")
    audit_tables: list[AuditTableStep] = []
    lines: list[LineStep] = []
    extra: list[ExtraPreSelfPayStep] = []
    policy: PolicyStep | None = None
    deductible: DeductibleStep | None = None
    ratio: RatioStep | None = None
    fund_ceiling: FundCeilingStep | None = None
    period_caps: list[PeriodCapStep] = []
    fund: FundStep | None = None
    cap: CapStep | None = None
    limit: LimitStep | None = None
    critical_illness: CriticalIllnessStep | None = None
    patient: PatientStep | None = None
    categories: CategoryRatiosStep | None = None
    for step in trace:
        if step["step"] == "line":
            lines.append(step)
        elif step["step"] == "audit_table":
            audit_tables.append(step)
        elif step["step"] == "extra_pre_self_pay":
            extra.append(step)
        elif step["step"] == "policy":
            policy = _once(policy, step)
        elif step["step"] == "deductible":
            deductible = _once(deductible, step)
        elif step["step"] == "ratio":
            ratio = _once(ratio, step)
        elif step["step"] == "fund":
            fund = _once(fund, step)
        elif step["step"] == "fund_ceiling":
            fund_ceiling = _once(fund_ceiling, step)
        elif step["step"] == "period_cap":
            period_caps.append(step)
        elif step["step"] == "cap":
            cap = _once(cap, step)
        elif step["step"] == "limit":
            limit = _once(limit, step)
        elif step["step"] == "critical_illness":
            critical_illness = _once(critical_illness, step)
        elif step["step"] == "patient":
            patient = _once(patient, step)
        elif step["step"] == "category_ratios":
            categories = _once(categories, step)
        else:
            assert_never(step)
    return Steps(
        tuple(trace),
        policy,
        tuple(audit_tables),
        tuple(lines),
        tuple(extra),
        deductible,
        ratio,
        fund_ceiling,
        fund,
        cap,
        tuple(period_caps),
        limit,
        critical_illness,
        patient,
        categories,
    )


_Single = TypeVar("_Single", bound=Step)


def _once(before: _Single | None, step: _Single) -> _Single:
    if before is not None:
        raise TraceError(f"two {step['step']} steps in one trace")
    return step


# ------------------------------------------------------------------ what a step names


def step_rules(step: Step) -> Iterator[str]:
    """Every rule location (`file:line`) a step names: its own, the 乙类 proportion's (and the
    one a ceiling held), a ratio's alias and adjustments, a limit's rows, the figures its row
    is composed of."""
    if step["step"] == "line":
        if step["selfpay_rule"]:
            yield step["selfpay_rule"]
        if "selfpay_held" in step:  # the row a ceiling held was read too
            yield step["selfpay_held"]["rule"]
        return
    if step["step"] == "fund" or step["step"] == "patient":
        return
    if step["step"] == "category_ratios":
        yield from (part["rule"] for part in step["categories"])
        return
    yield step["rule"]
    if step["step"] == "ratio":
        figures = step["figures"]
        yield from (adjustment["rule"] for adjustment in figures["adjustments"])
        if figures["alias"] is not None:
            yield figures["alias"]["rule"]
        if "combination" in figures:
            yield figures["combination"]["rule"]
    elif step["step"] == "limit":
        yield from step["figures"]["rows"]
    if step["step"] in ("deductible", "ratio", "cap", "critical_illness"):
        yield from (part["rule"] for part in step["composition"]["parts"])


def step_sources(step: Step) -> Iterator[Citation]:
    """Every source a step cites: its own, the 乙类 proportion's (and the one a ceiling held), a
    ratio's adjustments', the figures' its row is composed of."""
    if step["step"] == "line":
        if step["selfpay_source"]:
            yield step["selfpay_source"]
        if "selfpay_held" in step and step["selfpay_held"]["source"]:
            yield step["selfpay_held"]["source"]
        return
    if step["step"] == "fund" or step["step"] == "patient":
        return
    if step["step"] == "category_ratios":
        yield from (part["source"] for part in step["categories"])
        return
    yield step["source"]
    if step["step"] == "ratio":
        yield from (adjustment["source"] for adjustment in step["figures"]["adjustments"])
        if "combination" in step["figures"]:
            yield step["figures"]["combination"]["source"]
    if step["step"] in ("deductible", "ratio", "cap", "critical_illness"):
        yield from (part["source"] for part in step["composition"]["parts"])
