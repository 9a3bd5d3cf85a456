"""`policyengine diff`: what a rule change costs, claim by claim and clause by clause.

The same claims are settled under two versions — a baseline and amended rules, or one
policy at two dates — each person's claims in date order with the year's ledger
(ledger.settle_person, as batch does), separately under each version so that the
histories evolve under each rule set. Every claim's change is then split over the rules
that differ (diff/attribution.py); the report (diff/report.py) totals the change per payer,
counts and ranks the changed claims and persons, and aggregates the attribution by rule
and by clause. docs/diff.md describes the method and its limits.
"""

from __future__ import annotations

import heapq
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from policyengine.batch.index import claim_source, scan, tasks
from policyengine.batch.local import BatchOptions
from policyengine.contract.limits import Oversized
from policyengine.contract.steps import read_steps
from policyengine.diff.attribution import Attribution, attribute
from policyengine.diff.components import (
    ZERO,
    ZERO_CHANGE,
    Change,
    LineState,
    Target,
    clause_key,
)
from policyengine.diff.reading import read
from policyengine.diff.source import Version
from policyengine.diff.words import ONE_VERSION_ONLY
from policyengine.engine import MONEY_CONTEXT
from policyengine.ledger import settle_person
from policyengine.prepared import LedgerRules

if TYPE_CHECKING:
    from policyengine.contract.fastclaim import Claim
    from policyengine.contract.results import ErrorRecordDict, ResultDict
    from policyengine.diff.schema import DiffReport, ErrorExample, NoteExample

SIDES = ("base", "amended")
TOTAL_KEYS = ("billed", "denied", "covered", "deductible", "fund", "critical_illness", "patient")
ERROR_EXAMPLES = 20
NOTE_EXAMPLES = 10


@dataclass(frozen=True)
class DiffOptions:
    input: Path
    region: str | None = None
    moment: str = "during"
    largest: int = 10


class Progress(Protocol):
    """What a diff says of its progress: cli/progress.py's bar, or Quiet."""

    def indexed(self, claims: int, size: int, /) -> None: ...
    def start_settling(self, claims: int, /) -> None: ...
    def advance_claims(self, count: int, /) -> None: ...


class Quiet:
    """Progress that says nothing (the CLI passes cli/progress.py's bar)."""

    def indexed(self, _claims: int, _size: int) -> None: ...
    def start_settling(self, _claims: int) -> None: ...
    def advance_claims(self, _count: int) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class Settled:
    claim: Claim | None  # the claim as settled, with the history the ledger gave it
    result: ResultDict | None
    error: ErrorRecordDict | None


class Side:
    """One version settling a person's claims with the ledger."""

    def __init__(self, version: Version, options: DiffOptions) -> None:
        self.version = version
        self.engine = version.engine
        self.region = options.region
        self.moment = options.moment

    def settle(self, claim: Claim) -> ResultDict:
        return self.engine.settle(
            claim, region=self.region, as_of=self.version.as_of, moment=self.moment, trace=True
        )

    def person(self, raw: list[tuple[int, bytes | Oversized]]) -> dict[int, Settled]:
        current: list[Claim | None] = [None]

        def settle(claim: Claim) -> ResultDict:
            current[0] = claim
            return self.settle(claim)

        out = {}

        def rules_of(claim: Claim) -> LedgerRules:
            return self.engine.ledger_rules(self.region or claim.region)

        people = settle_person(raw, settle, region=self.region, rules_of=rules_of)
        for settled in people:
            claim = current[0] if settled.result is not None else None
            out[settled.index] = Settled(claim, settled.result, settled.error)
        return out


# ------------------------------------------------------------------ accumulation


@dataclass
class TargetTotal:
    """A target's part of the change over all claims, and how many claims it moved."""

    change: Change = ZERO_CHANGE
    claims: int = 0


@dataclass(frozen=True)
class ChangedClaim:
    """One of the largest changes: the claim, each side's totals, and its three largest parts."""

    line: int  # the claim's line in the input, from 1
    claim_id: str
    totals: dict[str, dict[str, Decimal]]  # side → _totals (a side that failed is absent)
    change: Change
    because: list[tuple[Target, Change]]


# a changed claim ranked by |payers|, |patient|, then input order (the index is unique: the
# claim itself is never compared)
Ranked = tuple[Decimal, Decimal, int, ChangedClaim]


@dataclass
class Tally:
    """Everything the report needs, accumulated claim by claim."""

    claims: int = 0
    settled: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    totals: dict[str, dict[str, Decimal]] = field(
        default_factory=lambda: {side: dict.fromkeys(TOTAL_KEYS, ZERO) for side in SIDES}
    )
    changed: Counter[str] = field(default_factory=Counter)  # changed, increased, decreased
    claim_changes: list[Decimal] = field(default_factory=list)  # payers, changed claims
    persons: int = 0
    person_changes: list[Decimal] = field(default_factory=list)  # payers, changed persons
    persons_changed: int = 0
    largest: list[Ranked] = field(default_factory=list)  # a bounded heap
    by_target: dict[Target, TargetTotal] = field(default_factory=dict)
    by_clause_claims: Counter[str] = field(default_factory=Counter)
    not_decomposed: int = 0
    notes: list[NoteExample] = field(default_factory=list)
    error_examples: list[ErrorExample] = field(default_factory=list)


def _totals(result: ResultDict) -> dict[str, Decimal]:
    totals = result["totals"]
    return {
        "billed": Decimal(totals["billed"]),
        "denied": Decimal(totals["denied"]),
        "covered": Decimal(totals["covered"]),
        "deductible": Decimal(totals["deductible"]),
        "fund": Decimal(totals["payers"]["fund"]),
        "critical_illness": Decimal(totals["payers"]["critical_illness"]),
        "patient": Decimal(totals["patient"]),
    }


def _same_steps(base: ResultDict, amended: ResultDict) -> bool:
    """Every step after the policy step the same (rules, figures, values): no change."""
    return read_steps(base).all[1:] == read_steps(amended).all[1:]


def _buckets(result: ResultDict) -> list[tuple[str, ...]]:
    return [
        (
            line["denied"],
            line["excluded"],
            line["over_limit"],
            line["pre_self_pay"],
            line["covered"],
        )
        for line in result["lines"]
    ]


def _as_change(totals: dict[str, Decimal]) -> Change:
    return Change(totals["fund"], totals["critical_illness"], totals["patient"], totals["denied"])


class Differ:
    def __init__(self, base: Version, amended: Version, options: DiffOptions) -> None:
        self.base = Side(base, options)
        self.amended = Side(amended, options)
        self.options = options
        self.tally = Tally()

    # ------------------------------------------------------------ per person
    def person(self, raw: list[tuple[int, bytes | Oversized]]) -> None:
        base = self.base.person(raw)
        amended = self.amended.person(raw)
        tally = self.tally
        tally.persons += 1
        person_change = ZERO_CHANGE
        for index in sorted(base):
            change = self.claim(index, base[index], amended[index])
            person_change = person_change + change
        if person_change:
            tally.persons_changed += 1
            tally.person_changes.append(person_change.payers)

    def claim(self, index: int, base: Settled, amended: Settled) -> Change:
        tally = self.tally
        tally.claims += 1
        sides = {"base": base, "amended": amended}
        totals: dict[str, dict[str, Decimal]] = {}
        for name, settled in sides.items():
            if settled.result is None:
                tally.errors[name] += 1
                continue
            tally.settled[name] += 1
            totals[name] = _totals(settled.result)
            for key, value in totals[name].items():
                tally.totals[name][key] += value
        if base.result is None and amended.result is None:
            return ZERO_CHANGE
        if base.result is None or amended.result is None:
            return self._one_version(index, base, amended, totals)
        change = _as_change(totals["amended"]) - _as_change(totals["base"])
        if _same_steps(base.result, amended.result):  # the common case: nothing differs
            return change
        assert base.claim is not None and amended.claim is not None  # settled: both known
        attribution = attribute(
            read(base.claim, base.result),
            read(amended.claim, amended.result),
            self._hybrid(base, amended),
        )
        self._record(index, amended.result, change, attribution, totals)
        return change

    def _hybrid(self, base: Settled, amended: Settled) -> tuple[LineState, ...] | None:
        """The claim's lines under the amended rules with the base history (when the
        histories differ and the lines do too): separates the rules' part of a line's
        change from the ledger's (e.g. a drug dispensed under one version only)."""
        assert base.result is not None and amended.result is not None
        assert base.claim is not None and amended.claim is not None
        if base.claim.history == amended.claim.history:
            return None
        if _buckets(base.result) == _buckets(amended.result):
            return None
        try:
            result = self.amended.settle(base.claim)
        except Exception:  # the claim's own failure is reported by its record, not here
            return None
        return read(base.claim, result).state.lines

    def _one_version(
        self,
        index: int,
        base: Settled,
        amended: Settled,
        totals: dict[str, dict[str, Decimal]],
    ) -> Change:
        tally = self.tally
        if amended.result is not None:
            change, only, error = _as_change(totals["amended"]), "amended", base.error
        else:
            change, only, error = -_as_change(totals["base"]), "base", amended.error
        assert error is not None
        kind = error["error"]
        target = Target("one_version", "claim", detail=ONE_VERSION_ONLY.format(version=only))
        result = amended.result or base.result
        assert result is not None
        self._record(index, result, change, Attribution([(target, change)]), totals)
        if len(tally.error_examples) < ERROR_EXAMPLES:
            tally.error_examples.append(
                {
                    "line": index + 1,
                    "claim_id": error["claim_id"],
                    "failed_under": "base" if only == "amended" else "amended",
                    "error": kind,
                    "message": "; ".join(e["message"] for e in error["errors"]),
                }
            )
        return change

    def _record(
        self,
        index: int,
        result: ResultDict,
        change: Change,
        attribution: Attribution,
        totals: dict[str, dict[str, Decimal]],
    ) -> None:
        tally = self.tally
        parts: dict[Target, Change] = {}
        for target, part in attribution.parts:
            parts[target] = parts.get(target, ZERO_CHANGE) + part
        for target, part in parts.items():
            entry = tally.by_target.setdefault(target, TargetTotal())
            entry.change = entry.change + part
            entry.claims += 1
        for key in {clause_key(target) for target in parts}:
            tally.by_clause_claims[key] += 1
        if attribution.note is not None:
            tally.not_decomposed += 1
            if len(tally.notes) < NOTE_EXAMPLES:
                tally.notes.append(
                    {"line": index + 1, "claim_id": result["claim_id"], "note": attribution.note}
                )
        if not change:
            return
        tally.changed["changed"] += 1
        if change.payers > 0:
            tally.changed["increased"] += 1
        elif change.payers < 0:
            tally.changed["decreased"] += 1
        tally.claim_changes.append(change.payers)
        top = sorted(parts.items(), key=lambda p: -abs(p[1].payers))[:3]
        ranked: Ranked = (
            abs(change.payers),
            abs(change.patient),
            -index,
            ChangedClaim(index + 1, result["claim_id"], totals, change, top),
        )
        if len(tally.largest) < self.options.largest:
            heapq.heappush(tally.largest, ranked)
        elif self.options.largest and ranked[:3] > tally.largest[0][:3]:
            heapq.heapreplace(tally.largest, ranked)


# ------------------------------------------------------------------ driver


def persons(input_path: Path, progress: Progress) -> Iterator[list[tuple[int, bytes | Oversized]]]:
    """Each person's claims as (input index, raw line), persons in id order — the same
    external index as batch (flat memory however large the file)."""
    with tempfile.TemporaryDirectory(prefix="policyengine-diff-") as work:
        options = BatchOptions(input=input_path, output=Path(work) / "unused")
        claims, _blank, runs = scan(options.input, options.jobs, Path(work), progress)
        progress.start_settling(claims)
        with claim_source(input_path) as source:
            for task in tasks(runs):
                for group in task:
                    raw = [
                        (number - 1, source.read(offset, length))
                        for _person, _date, number, offset, length in group
                    ]
                    yield raw
                    progress.advance_claims(len(raw))


def run_diff(
    base: Version,
    amended: Version,
    options: DiffOptions,
    progress: Progress | None = None,
) -> DiffReport:
    """Settle the input under both versions and return the report (diff/report.py)."""
    from policyengine.diff.report import build_report

    progress = progress or Quiet()
    differ = Differ(base, amended, options)
    with localcontext(MONEY_CONTEXT):
        for raw in persons(options.input, progress):
            differ.person(raw)
    return build_report(differ.tally, base, amended, options)
