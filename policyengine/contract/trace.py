"""The trace: every step of a settlement as data (schema `policyengine.trace/1`).

Each step kind is declared here once, as a TypedDict: at run time a step is a plain dict
(nothing to construct, nothing to convert for JSON), and mypy checks every place that
builds one (runtime.py's step builders the generated code calls, the interpreter) and
every place that reads one. The pydantic `Result` (contract/results.py) types its `trace`
with these same declarations, so the JSON Schema (`policyengine schema trace`) is derived
from them, not written beside them.

Consumers read a result's steps through one reader, `contract.steps.read_steps(result)`,
which returns them by kind (`Steps`), in settlement order too. A step names its rule (`file:line`),
the source it cites, the figures it used and its value; money is text with two decimals
(`Money`), rates are decimal text (`Rate`). OpenFisca's TraceNode is the model: a step is
a record of one computation, typed by what it computed.
"""

from __future__ import annotations

from typing import (
    Annotated,
    Literal,
    NotRequired,
    Required,
    cast,
    get_args,
    get_type_hints,
)

# typing_extensions, not typing: pydantic reads these declarations (Result.trace, the JSON
# Schema) and needs its TypedDict on Python < 3.12.
from pydantic import Field
from typing_extensions import TypedDict

from policyengine.semantics.vocabulary import Admission, CapPeriod, ItemClass, Period, Provenance

TRACE_SCHEMA = "policyengine.trace/1"


class PolicyWords(TypedDict):
    """A policy's own names, which a trace document carries for explain: the region and its
    conditions are named as the rule files name them, never by Python."""

    name: str  # the policy's name (its region): `tianjin`
    title: str  # its `policy` declaration's title: 天津市基本医疗保险(…)
    conditions: dict[str, str]  # condition name → title: hypertension → 高血压


# money as the contract writes it: a decimal with two places, "1306.26" (the pattern is what
# a stored trace document is checked against before `explain --replay` computes with it)
Money = Annotated[str, Field(pattern=r"^\d+\.\d{2}$")]
Rate = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$")]  # decimal text: "0.75", "0.05"
DeductiblePeriod = Period  # a deductible table's `per year` / `per admission`


def item_class(text: str) -> ItemClass:
    """A catalogue class as the contract types it (the catalogue admits no other)."""
    if text not in get_args(ItemClass):
        raise ValueError(f"not an item class: {text!r}")
    return cast("ItemClass", text)


def deductible_period(text: str | None) -> DeductiblePeriod:
    """A deductible table's period as the contract types it (the checker admits no other)."""
    if text not in get_args(DeductiblePeriod):
        raise ValueError(f"not a deductible period: {text!r}")
    return cast("DeductiblePeriod", text)


class Citation(TypedDict, total=False):
    """Where a rule comes from (ir.Origin.as_json): a document, its clause and the quoted
    words, or — for a provisional rule — the note saying why it is provisional."""

    doc: str  # 文号, or the title where there is none
    clause: str
    quote: str
    provenance: Required[Provenance]
    note: str
    derived: str  # how a cited figure follows from the quote's numbers (`derived "…"`)


# ------------------------------------------------------------------ the steps


class FigurePart(TypedDict):
    """A named figure (`let`) a step's figure is built from: at `depth` 1 the row names it,
    at 2 a figure of depth 1 does, and so on. Each has its own rule, its own source, and
    what it came to for this claim (at its hospital level where it differs by level)."""

    name: str
    title: str
    rule: str
    source: Citation
    written: str  # as the rule file writes it: `by level 80% / 70% / 60%`
    value: str  # for this claim, in rule-file words: `60%`, `800 元`, `10 pt`
    depth: int


class Composition(TypedDict):
    """How a step's figure is composed from its row: the row's value as written, the hospital
    level a `by level` was picked at (None where no figure differs by level), what the row
    came to, and the named figures it is composed of (none for a plain figure)."""

    written: str
    level: int | None
    value: str
    parts: list[FigurePart]


class PolicyStep(TypedDict):
    """The rule set applied: the version in force on `as_of`."""

    step: Literal["policy"]
    version: str
    as_of: str
    rule: str
    source: Citation


class AuditTableStep(TypedDict):
    """The row of an audit rule's table that applies (e.g. the days-supply limit)."""

    step: Literal["audit_table"]
    rule: str
    source: Citation
    table: str
    value: str  # the row's figure as the rule file words it
    provisional: list[str]  # the row's provisional notes, its dates' too (contract/notes.py)


class HeldSelfpay(TypedDict):
    """The 乙类 proportion a `pre_self_pay ceiling` row held at its bound: the catalogue's own
    for the item, or the `pre_self_pay default` row's where the catalogue gives none."""

    origin: Literal["catalogue", "default"]  # which of the two gave it
    selfpay: Rate
    rule: str  # the catalogue's row or the default row
    source: Citation | None  # the default row's source (None for the catalogue)


LineStep = TypedDict(
    "LineStep",
    {
        "step": Literal["line"],
        "code": str,
        "line": int,
        "billed": Money,
        "class": ItemClass | None,  # None: not in the catalogue
        "denied": Money,
        "excluded": Money,
        "over_limit": Money,
        "pre_self_pay": Money,
        "covered": Money,
        "findings": list[str],  # ids of the line's own findings
        "price_cap": Money | None,  # the payment standard per unit, when the catalogue has one
        "selfpay": Rate | None,  # the 乙类 先行自付 proportion applied
        "selfpay_rule": str | None,  # where it comes from: a catalogue row or a policy row
        "selfpay_source": Citation | None,  # the policy row's source (None for the catalogue)
        # where a `pre_self_pay ceiling` row held the proportion (`selfpay` is then its bound,
        # `selfpay_rule` the row): the proportion it cut, so an auditor sees both
        "selfpay_held": NotRequired[HeldSelfpay],
    },
)
LineStep.__doc__ = "One line's disposition and national decomposition (spec §2, buckets 1–5)."


class ExtraPreSelfPayLine(TypedDict):
    """One line's share of an extra pre-self-pay (`pre_self_pay NAME`): its base, what the
    line had in scope before (amount − over_limit − the 乙类 pre-self-pay and any earlier
    extra share), and the share, `base × rate` half-up to the fen."""

    line: int
    base: Money
    value: Money


class ExtraPreSelfPayStep(TypedDict):
    """An extra pre-self-pay share a named `pre_self_pay` table adds for this claim (e.g.
    异地就医先行自付 by place and filing): the row that applies, its rate, each line's share.
    The lines' `pre_self_pay` (their own steps, before this one) include it."""

    step: Literal["extra_pre_self_pay"]
    table: str  # the table's name (`remote`)
    title: str  # its title as the rule file gives it (异地就医先行自付), else the name
    rule: str
    source: Citation
    rate: Rate
    lines: list[ExtraPreSelfPayLine]
    value: Money  # the claim's total share
    provisional: list[str]
    derivation: NotRequired[Derivation]  # the rate, where it is a figure of the claim's facts


class Derivation(TypedDict):
    """A figure computed from the claim's facts (`2 pt × max(0, floor((age − 40) ÷ 10))`):
    the expression as the rule file writes it, the facts it read with this claim's values,
    and its value. Steps carry one for every such figure they used."""

    expression: str
    facts: dict[str, int]
    value: str  # Money for a money figure, else a Rate


class DeductibleFigures(TypedDict):
    amount: Money
    met: Money  # already met this year (0.00 for a per-admission deductible)
    admission: Admission | None  # inpatient visits only
    derivation: NotRequired[Derivation]  # the amount, where it is a figure of the claim's facts


class DeductibleStep(TypedDict):
    step: Literal["deductible"]
    pool: str  # the visit type whose deductible applies
    period: DeductiblePeriod
    rule: str
    source: Citation
    figures: DeductibleFigures
    value: Money
    composition: Composition  # how the row's figure is composed of named figures
    provisional: list[str]


class RatioAlias(TypedDict):
    """A visit type whose ratio is another's (`ratio ... as`)."""

    of: str
    rule: str
    source: Citation | None


class RatioAdjustment(TypedDict):
    rule: str
    points: Rate
    source: Citation
    derivation: NotRequired[Derivation]  # the points, where they read the claim's facts


class RatioCombination(TypedDict):
    """How the adjustments that applied were combined (`adjustments sum|largest`) and held
    within the table's bounds: value = min(at_most, max(at_least, base + points))."""

    how: Literal["sum", "largest"]
    points: Rate  # the adjustments combined
    unclamped: Rate  # base + points, before the bounds
    at_least: Rate | None
    at_most: Rate | None
    rule: str  # where the table says so
    source: Citation


class RatioFigures(TypedDict):
    base: str  # a Rate, or the schedule's description when the step's form is "bands"
    alias: RatioAlias | None
    adjustments: list[RatioAdjustment]
    base_derivation: NotRequired[Derivation]  # the base, where it reads the claim's facts
    combination: NotRequired[RatioCombination]  # a table that declares `adjustments`


RatioForm = Literal["rate", "bands"]


class RatioStep(TypedDict):
    """The fund's ratio. `form` says what `figures.base` and `value` hold: a rate (decimal
    text) for "rate"; for "bands" (分段支付比例) the schedule's description, which no
    single rate states."""

    step: Literal["ratio"]
    form: RatioForm
    rule: str
    source: Citation
    figures: RatioFigures
    value: str
    composition: Composition  # how the row's figure is composed of named figures
    provisional: list[str]


class FundCeilingFigures(TypedDict):
    ceiling: Money
    pools: list[str]  # the pools whose amounts entering the fund this year count against it
    pooled: Money  # their amounts so far this year (history.pooled)
    left: Money
    amount: Money  # this claim's covered − deductible
    derivation: NotRequired[Derivation]  # the ceiling, where it is a figure of the claim's facts


class FundCeilingStep(TypedDict):
    """A ceiling on the cost entering the fund (`fund_ceiling`): what enters is covered −
    deductible, at most the ceiling less the year's amounts entering its pools."""

    step: Literal["fund_ceiling"]
    rule: str
    source: Citation
    figures: FundCeilingFigures
    value: Money  # the amount entering the fund
    provisional: list[str]


class CategoryPart(TypedDict):
    """One category's part of the fund: its lines' covered, its share of what does not enter
    the fund (the deductible, and what a fund ceiling keeps out), allocated pro rata to covered,
    and its base (covered − share) paid at the category's ratio."""

    category: str | None  # None: the lines whose item has no category
    covered: Money
    deductible: Money
    base: Money
    rate: str  # a Rate, or a banded ratio's schedule in words
    rule: str
    source: Citation
    amount: Money  # base × rate, shown to the fen (the fund rounds the sum once)


class CategoryRatiosStep(TypedDict):
    """Per-category ratios (`when category …` rows of the ratio table): the fund is the sum
    over the claim's categories of base × that category's ratio, rounded once."""

    step: Literal["category_ratios"]
    categories: list[CategoryPart]
    value: Money  # the sum, rounded as the fund is
    provisional: list[str]


class FundFigures(TypedDict):
    covered: Money
    deductible: Money
    entering: NotRequired[Money]  # covered − deductible as a fund ceiling leaves it
    # where the ratio is `bands cumulative`: the year's amount entering the fund before this
    # claim (history.pooled of the visit type), on which the bands are counted
    pooled: NotRequired[Money]


class FundStep(TypedDict):
    """The fund's payment before caps and limits: (covered − deductible) × ratio."""

    step: Literal["fund"]
    figures: FundFigures
    value: Money


class CapFigures(TypedDict):
    cap: Money
    pools: list[str]  # the paid pools the cap counts
    paid: Money
    left: Money
    derivation: NotRequired[Derivation]  # the cap, where it is a figure of the claim's facts


class CapStep(TypedDict):
    step: Literal["cap"]
    rule: str
    source: Citation
    figures: CapFigures
    value: Money  # the fund after the cap
    composition: Composition  # how the row's figure is composed of named figures
    provisional: list[str]


class PeriodCapFigures(TypedDict):
    cap: Money
    pools: list[str]
    paid: Money  # per day: the fund paid on the visit date before (history.paid_today)
    left: Money
    derivation: NotRequired[Derivation]  # the cap, where it is a figure of the claim's facts


class PeriodCapStep(TypedDict):
    """A cap on the fund per visit (this claim) or per day (the person's visit date)."""

    step: Literal["period_cap"]
    period: CapPeriod
    rule: str
    source: Citation
    figures: PeriodCapFigures
    value: Money  # the fund after the cap
    provisional: list[str]


class LimitFigures(TypedDict):
    """A per-condition limit's figures. `limit` None: the limits are cancelled (`none`),
    and only `rows` (the cancelling rows) is given."""

    limit: Money | None
    rows: list[str]  # the rows that applied
    conditions: NotRequired[dict[str, Money]]  # certified condition → its limit
    pool: NotRequired[str]
    paid: NotRequired[Money]
    left: NotRequired[Money]


class LimitStep(TypedDict):
    step: Literal["limit"]
    rule: str
    source: Citation
    figures: LimitFigures
    value: Money  # the fund after the limit
    provisional: list[str]


ScheduleBand = TypedDict("ScheduleBand", {"from": Money, "to": Money | None, "rate": Rate})


class Schedule(TypedDict):
    """A second-layer schedule with its money and rates as text, so that tools can
    recompute the second layer from the trace (policyengine diff)."""

    threshold: Money | None
    bands: list[ScheduleBand]
    ceiling: Money | None
    payment_cap: Money | None


BandPayment = TypedDict(
    "BandPayment",
    {"from": Money, "to": Money | None, "rate": Rate, "self_burden": Money, "paid": Money},
)
BandPayment.__doc__ = """The part of this claim's self-burden inside one band of the second
layer (above the ceiling nothing counts) and what the band pays on it, rate × part, shown to the
fen: the payment is the sum over the bands, rounded once (so these may differ from it by a fen)."""


class CriticalIllnessFigures(TypedDict):
    self_burden_before: Money  # the year's self-burden S before this claim
    self_burden: Money  # this claim's: covered − fund (+ pre_self_pay, `base includes` it)
    pre_self_pay: NotRequired[Money]  # the claim's pre-self-pay counted in it
    # the bands this claim's self-burden falls in (always written; a trace document stored
    # before it was may lack it)
    by_band: NotRequired[list[BandPayment]]
    bands: str  # the schedule as the rule file words it
    schedule: Schedule
    paid: Money
    computed: Money  # before the payment cap
    payment_cap_left: Money | None


class CriticalIllnessStep(TypedDict):
    step: Literal["critical_illness"]
    rule: str
    source: Citation
    figures: CriticalIllnessFigures
    value: Money
    composition: Composition  # how the row's figure is composed of named figures
    provisional: list[str]


class PatientStep(TypedDict):
    step: Literal["patient"]
    value: Money


Step = (
    PolicyStep
    | AuditTableStep
    | LineStep
    | ExtraPreSelfPayStep
    | DeductibleStep
    | RatioStep
    | FundCeilingStep
    | CategoryRatiosStep
    | FundStep
    | CapStep
    | PeriodCapStep
    | LimitStep
    | CriticalIllnessStep
    | PatientStep
)
STEP_TYPES: tuple[type, ...] = get_args(Step)


def _kind_of(declared: type) -> str:
    (kind,) = get_args(get_type_hints(declared)["step"])
    return str(kind)


STEP_KINDS: tuple[str, ...] = tuple(_kind_of(t) for t in STEP_TYPES)
