"""The components of a settlement, read from its trace.

A traced result states every figure settlement used: each line's buckets and the basis
of its split (payment standard, 自付比例, the extra pre-self-pay shares of named tables),
the deductible amount and the amount already met, the ratio (base, adjustments, how they
combine and the bounds), the ceiling on the cost entering the fund and the year's amount
entered, the annual cap and the year's paid against it, the caps per visit and per day (and
what the day had paid), the per-condition limit and its paid, the second-layer schedule and
whether its base includes the pre-self-pay, the year's self-burden S and the second layer's
paid. diff/reading.py's `read` collects them into a State; diff/recompute.py applies the
spec's formulas (../spec/claims.md §2, steps 6–9) to a State; diff/attribution.py
substitutes the components of one version by the other's, one at a time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Literal

import orjson

from policyengine.semantics.money import fen

if TYPE_CHECKING:
    from policyengine.contract.fastclaim import History
    from policyengine.contract.trace import Citation
    from policyengine.semantics.values import BandsVal

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
class ExtraShare:
    """A named pre-self-pay table's row that took a share of a line (异地就医先行自付 …):
    `rate` of what the line had left in scope, half-up to the fen."""

    table: str  # the table's title, else its name
    rate: Decimal
    cite: Cite


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
    extras: tuple[ExtraShare, ...] = ()  # the extra pre-self-pay tables' shares, in order

    @property
    def status(self) -> str:
        if self.denied:
            return "denied"
        return "excluded" if self.excluded else "priced"

    def buckets(self) -> tuple[Decimal, ...]:
        return (self.denied, self.excluded, self.over_limit, self.pre_self_pay, self.covered)

    def priced(
        self,
        price_cap: Decimal | None,
        selfpay: Decimal | None,
        extras: tuple[ExtraShare, ...],
    ) -> LineState:
        """The line split with this payment standard, 自付比例 and extra pre-self-pay shares
        (spec §2, buckets 3–5; each extra share is taken of what the line has left)."""
        over = ZERO
        if price_cap is not None:
            over = max(ZERO, fen(self.amount - price_cap * self.quantity))
        pre = fen((self.amount - over) * selfpay) if selfpay is not None else ZERO
        covered = self.amount - over - pre
        for extra in extras:
            share = fen(covered * extra.rate)
            pre, covered = pre + share, covered - share
        return dataclasses.replace(
            self,
            over_limit=over,
            pre_self_pay=pre,
            covered=covered,
            price_cap=price_cap,
            selfpay=selfpay,
            extras=extras,
        )

    def reproduced(self) -> bool:
        """Whether pricing the line from its own figures gives its buckets (a priced line)."""
        return self.priced(self.price_cap, self.selfpay, self.extras).buckets() == self.buckets()


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
    ratio_adjustments: tuple[Decimal, ...] = ()  # the points of the adjustments that applied
    ratio_how: str | None = None  # `adjustments sum|largest` (None: the table says nothing)
    ratio_at_least: Decimal | None = None  # the bounds the combined ratio is held within
    ratio_at_most: Decimal | None = None
    fund_ceiling: Decimal | None = None  # the most that may enter the fund this year
    pooled: Decimal = ZERO  # what entered the fund this year before, in the ceiling's pools
    cap: Decimal | None = None
    cap_paid: Decimal = ZERO
    visit_cap: Decimal | None = None  # a cap per visit
    day_cap: Decimal | None = None  # a cap per day
    day_paid: Decimal = ZERO  # what the fund paid earlier that day, in the day cap's pools
    limit: Decimal | None = None
    limit_paid: Decimal = ZERO
    schedule: BandsVal | None = None
    base_with_pre_self_pay: bool = False  # the second layer's base includes pre-self-pay
    self_burden_before: Decimal = ZERO
    critical_paid: Decimal = ZERO
    # a `bands cumulative` ratio: the year's amount entered the fund before (history.pooled)
    ratio_pooled: Decimal | None = None
    # per-category ratios: each category's (name, rate, rule) — not recomputed
    categories: tuple[tuple[str | None, str, str], ...] = ()
    # a construct the recomputation does not model (per-category ratios), saying which
    unmodelled: str | None = None

    @property
    def ratio_points(self) -> Decimal:
        """The adjustments combined: the largest where the table says so, else their sum."""
        if self.ratio_how == "largest" and self.ratio_adjustments:
            return max(self.ratio_adjustments)
        return sum(self.ratio_adjustments, ZERO)

    def ratio(self, base: Decimal) -> Decimal:
        """base + the combined points, held within the table's bounds."""
        rate = base + self.ratio_points
        if self.ratio_at_least is not None:
            rate = max(rate, self.ratio_at_least)
        if self.ratio_at_most is not None:
            rate = min(rate, self.ratio_at_most)
        return rate


@dataclass(frozen=True)
class Cites:
    deductible: Cite = NO_CITE
    ratio: Cite = NO_CITE
    adjustments: tuple[tuple[Cite, Decimal], ...] = ()
    combination: Cite = NO_CITE  # the table's `adjustments …` declaration
    # each category's (name — "" for none —, rate, ratio row)
    categories: tuple[tuple[str, str, Cite], ...] = ()
    fund_ceiling: Cite = NO_CITE
    cap: Cite = NO_CITE
    visit_cap: Cite = NO_CITE
    day_cap: Cite = NO_CITE
    limit: Cite = NO_CITE
    second_layer: Cite = NO_CITE


@dataclass(frozen=True)
class Pools:
    """Which parts of the history each payer step reads (from the step's figures)."""

    visit: str = ""
    deductible_yearly: bool = False
    fund_ceiling: tuple[str, ...] = ()
    cap: tuple[str, ...] = ()
    day_cap: tuple[str, ...] = ()
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


def clause_key(target: Target) -> str:
    """How the by-clause table groups targets."""
    if target.kind == "rule":
        return target.source or f"uncited:{target.detail or target.step}"
    return target.kind
