"""The report of `policyengine diff`, built from the tally (its declared shape and JSON
Schema: diff/schema.py)."""

from __future__ import annotations

import itertools
import math
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from policyengine._version import __version__
from policyengine.diff.components import ZERO, ZERO_CHANGE, Change, Target, clause_key
from policyengine.diff.schema import (
    DIFF_SCHEMA,
    AttributionSection,
    Band,
    Bin,
    ChangeAmounts,
    ClauseRow,
    DiffReport,
    Largest,
    Measure,
    Payments,
    RuleRow,
    Spread,
    TotalRow,
)
from policyengine.diff.words import CATALOGUE_ENTRY, band_label, clause_label, target_label
from policyengine.semantics.money import FEN
from policyengine.semantics.money import money as money_text

if TYPE_CHECKING:
    from policyengine.contract.trace import Citation
    from policyengine.diff.compare import ChangedClaim, DiffOptions, Tally
    from policyengine.diff.source import Version
    from policyengine.engine import Engine

MEASURES: tuple[Measure, ...] = ("fund", "critical_illness", "payers", "patient", "denied")
BAND_EDGES = (-10000, -1000, -100, -10, 0, 10, 100, 1000, 10000)
HISTOGRAM_BINS = 20

# ------------------------------------------------------------------ building


def money(amount: Decimal) -> str:
    text = money_text(amount)
    return "0.00" if text == "-0.00" else text


def change_json(change: Change) -> ChangeAmounts:
    return {
        "fund": money(change.fund),
        "critical_illness": money(change.critical_illness),
        "payers": money(change.payers),
        "patient": money(change.patient),
        "denied": money(change.denied),
    }


def _totals(tally: Tally) -> list[TotalRow]:
    rows: list[TotalRow] = []
    for measure in MEASURES:
        sides = []
        for side in ("base", "amended"):
            totals = tally.totals[side]
            if measure == "payers":
                sides.append(totals["fund"] + totals["critical_illness"])
            else:
                sides.append(totals[measure])
        base, amended = sides
        percent = None if base == 0 else money((amended - base) / base * 100)
        rows.append(
            {
                "measure": measure,
                "base": money(base),
                "amended": money(amended),
                "change": money(amended - base),
                "change_percent": percent,
            }
        )
    return rows


def _bands(values: list[Decimal]) -> list[Band]:
    edges = [Decimal(e) for e in BAND_EDGES]
    bands: list[Band] = []

    def add(low: Decimal | None, high: Decimal | None, chosen: list[Decimal]) -> None:
        bands.append(
            {
                "label": band_label(low, high),
                "from": money(low) if low is not None else None,
                "to": money(high) if high is not None else None,
                "count": len(chosen),
                "change": money(sum(chosen, ZERO)),
            }
        )

    add(None, edges[0], [v for v in values if v < edges[0]])
    for low, high in itertools.pairwise(edges):
        if high <= 0:
            add(low, high, [v for v in values if low <= v < high])
        if high == 0:
            add(ZERO, ZERO, [v for v in values if v == 0])
        if low >= 0:
            add(low, high, [v for v in values if low < v <= high])
    add(edges[-1], None, [v for v in values if v > edges[-1]])
    return bands


def nice_width(span: Decimal, bins: int) -> Decimal:
    """A bin width of 1, 2, 2.5 or 5 × 10^k covering `span` in about `bins` bins."""
    raw = max(span / bins, FEN)  # bins at least a fen wide
    exponent = math.floor(math.log10(raw))
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        width = step.scaleb(exponent)
        if width >= raw:
            return width
    return Decimal(10).scaleb(exponent)  # pragma: no cover


def histogram(values: list[Decimal], bins: int = HISTOGRAM_BINS) -> list[Bin]:
    if not values:
        return []
    low, high = min(values), max(values)
    width = nice_width(high - low if high > low else max(abs(low), Decimal(1)), bins)
    start = (low / width).to_integral_value(ROUND_FLOOR) * width
    count = int(((high - start) / width).to_integral_value(ROUND_FLOOR)) + 1
    counts = [0] * count
    for value in values:
        counts[min(count - 1, int(((value - start) / width).to_integral_value(ROUND_FLOOR)))] += 1
    return [
        {"from": money(start + i * width), "to": money(start + (i + 1) * width), "count": c}
        for i, c in enumerate(counts)
    ]


def _spread(values: list[Decimal]) -> Spread:
    ordered = sorted(values)
    middle = None
    if ordered:
        half = len(ordered) // 2
        middle = ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
    return {
        "changed": len(values),
        "min": money(ordered[0]) if ordered else None,
        "median": money(middle) if middle is not None else None,
        "max": money(ordered[-1]) if ordered else None,
        "mean": money(sum(ordered, ZERO) / len(ordered)) if ordered else None,
        "bands": _bands(values),
        "histogram": histogram(values),
    }


class Labels:
    """Names for targets: the inventory's `what` of each rule, in the version it refers to."""

    def __init__(self, base: Version, amended: Version) -> None:
        self.what = {"base": inventory(base.engine), "amended": inventory(amended.engine)}

    def what_of(self, target: Target) -> str | None:
        if target.rule is None:
            return None
        found = self.what.get(target.version or "amended", {}).get(target.rule)
        if found is not None:
            kind, _, name = found.partition(" ")
            found = kind if name == kind else found  # `excess_supply excess_supply`
        if found is None and ".csv:" in target.rule:
            return CATALOGUE_ENTRY
        return found

    def label(self, target: Target) -> str:
        what = self.what_of(target)
        return target_label(
            target.kind, target.step, target.rule, what, target.detail, target.version
        )


def _order(change: Change) -> tuple[Decimal, Decimal]:
    return (-abs(change.payers), -abs(change.patient))


def _clause_row(source: Citation | None, label: str, claims: int) -> ClauseRow:
    """A clause's row before its rules and change are added up."""
    return {
        "label": label,
        "doc": source.get("doc") if source else None,
        "clause": source.get("clause") if source else None,
        "quote": source.get("quote") if source else None,
        "provenance": source.get("provenance") if source else None,
        "note": source.get("note") if source else None,
        "rules": [],
        "claims": claims,
        "change": change_json(ZERO_CHANGE),
    }


def _attribution(tally: Tally, labels: Labels, expected: Change) -> AttributionSection:
    """The change by rule and by clause; `expected` is the change in the totals, which the
    parts must sum to exactly."""
    by_rule: list[RuleRow] = []
    clauses: dict[str, ClauseRow] = {}
    clause_changes: dict[str, Change] = {}
    total = ZERO_CHANGE
    for target, part in sorted(tally.by_target.items(), key=lambda item: _order(item[1].change)):
        total = total + part.change
        source = target.source_json
        by_rule.append(
            {
                "kind": target.kind,
                "step": target.step,
                "rule": target.rule,
                "version": target.version,
                "what": labels.what_of(target),
                "detail": target.detail,
                "source": source,
                "label": labels.label(target),
                "claims": part.claims,
                "change": change_json(part.change),
            }
        )
        key = clause_key(target)
        label = clause_label(source, target.kind, target.detail)
        group = clauses.setdefault(key, _clause_row(source, label, tally.by_clause_claims[key]))
        clause_changes[key] = clause_changes.get(key, ZERO_CHANGE) + part.change
        if target.rule is not None and target.rule not in group["rules"]:
            group["rules"].append(target.rule)
    for key, change in clause_changes.items():
        clauses[key]["change"] = change_json(change)
    return {
        "by_rule": by_rule,
        "by_clause": [
            clauses[key] for key in sorted(clauses, key=lambda k: _order(clause_changes[k]))
        ],
        "total": change_json(total),
        "not_decomposed": {"claims": tally.not_decomposed, "examples": tally.notes},
        "reconciled": total == expected,
    }


def _payments(totals: dict[str, Decimal] | None) -> Payments | None:
    if totals is None:
        return None
    return {
        "fund": money(totals["fund"]),
        "critical_illness": money(totals["critical_illness"]),
        "patient": money(totals["patient"]),
    }


def _largest(entry: ChangedClaim, labels: Labels) -> Largest:
    return {
        "line": entry.line,
        "claim_id": entry.claim_id,
        "base": _payments(entry.totals.get("base")),
        "amended": _payments(entry.totals.get("amended")),
        "change": change_json(entry.change),
        "because": [
            {
                "label": labels.label(t),
                "kind": t.kind,
                "step": t.step,
                "rule": t.rule,
                "payers": money(part.payers),
            }
            for t, part in entry.because
        ],
    }


def build_report(tally: Tally, base: Version, amended: Version, options: DiffOptions) -> DiffReport:
    labels = Labels(base, amended)
    totals = {side: tally.totals[side] for side in ("base", "amended")}
    expected = Change(
        *(
            totals["amended"][key] - totals["base"][key]
            for key in ("fund", "critical_illness", "patient", "denied")
        )
    )
    persons_up = sum(1 for v in tally.person_changes if v > 0)
    persons_down = sum(1 for v in tally.person_changes if v < 0)
    return {
        "schema": DIFF_SCHEMA,
        "generator": f"policyengine {__version__}",
        "input": str(options.input),
        "base": base.describe(),
        "amended": amended.describe(),
        "claims": {
            "total": tally.claims,
            "settled": {"base": tally.settled["base"], "amended": tally.settled["amended"]},
            "errors": {"base": tally.errors["base"], "amended": tally.errors["amended"]},
            "changed": tally.changed["changed"],
            "increased": tally.changed["increased"],
            "decreased": tally.changed["decreased"],
        },
        "persons": {
            "total": tally.persons,
            "changed": tally.persons_changed,
            "increased": persons_up,
            "decreased": persons_down,
        },
        "totals": _totals(tally),
        "distribution": {
            "measure": "payers",
            "claims": _spread(tally.claim_changes),
            "persons": _spread(tally.person_changes),
        },
        "largest": [
            _largest(entry, labels) for *_key, entry in sorted(tally.largest, reverse=True)
        ],
        "attribution": _attribution(tally, labels, expected),
        "one_version_errors": tally.error_examples,
    }


def inventory(engine: Engine) -> dict[str, str]:
    """Rule location → what it is (`cap outpatient (scheme employee)`)."""
    return {
        entry["location"]: entry["what"]
        for policy in engine.describe()
        for entry in policy.inventory
    }
