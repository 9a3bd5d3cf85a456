"""Invariants of settlement over generated claims of both regions, through the Engine.

Two kinds of checks:

- the contract's arithmetic (spec §2–3): the settlement identities, buckets non-negative and
  well formed, totals = Σ lines, line payers = claim payers, the fund within the cap left and
  covered − deductible, 大病 within s and the bands, monotonicity when a line is added,
  determinism, the `before` moment, the decision order;
- an independent oracle written from the facts (/work/shared/facts/*.md) and the catalogue
  CSV only — not from the rule files or the engine — for the findings, the line split and
  the payers. Both evaluators read the same IR, so the differential test cannot see a figure
  or a rule the policy files got wrong; this oracle can.

Examples per test: POLICYENGINE_FUZZ_EXAMPLES (default 100).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    CLASS_A_PLAIN,
    REGIONS,
    claims,
    claims_with_extra_line,
    equal_line_claims,
    visit_dates,
)

from policyengine.check import check
from policyengine.contract.claims import Claim, load_claim
from policyengine.engine import MONEY_CONTEXT, Engine
from policyengine.interpret.evaluator import adjudicate
from tests.support import FUZZ, outpatient_claim, over_limit_claim, priced_lines

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Engine.load()
ZERO = Decimal(0)
FEN = Decimal("0.01")
MONEY_TEXT = re.compile(r"\d+\.\d\d")
MOMENTS = st.sampled_from(("before", "during", "after"))


def D(text: str) -> Decimal:
    return Decimal(text)


def fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, ROUND_HALF_UP)


def settle(raw: dict[str, Any], **options: Any) -> dict[str, Any]:
    return ENGINE.settle(raw, **options)


def model(raw: dict[str, Any]) -> Claim:
    """The claim through the contract's pydantic models (the oracle does not share the
    engine's own claim loading)."""
    return Claim.model_validate(raw)


def is_audit(finding: dict[str, Any]) -> bool:
    return finding["rule"].split(":")[0].endswith("/audit.policy")


# ====================================================================== the facts, independently

TITLE_RANK = {"resident": 0, "attending": 1, "associate_chief": 2, "chief": 3}
D19 = dt.date(2019, 1, 1)
TJ_LOCAL_OUT = dt.date(2023, 1, 1)
QZ_REFORM = dt.date(2021, 11, 25)
QZ_EPIDEMIC = (dt.date(2020, 1, 24), dt.date(2023, 1, 7))
TJ_CI_RESIDENT_START = dt.date(2014, 7, 1)
HARDSHIP_RATIO = {"low_income", "low_income_edge"}
HARDSHIP_CI = {"low_income", "extremely_poor", "severely_disabled", "poverty_registered"}
AUDIT_KINDS = {  # the facts' audit tables
    "tianjin": {
        "duplicate_dispensing",
        "excess_supply",
        "contraindication",
        "duplicate_service",
        "certification_required",
    },
    "quanzhou": {
        "excess_supply",
        "duplicate_dispensing",
        "duplicate_service",
        "contraindication",
        "certification_required",
        "non_selected_drug",
    },
}
TOLERANCE = {"tianjin": 3, "quanzhou": 7}
SPECIAL_CONDITIONS = {
    "tianjin": {
        "hypertension",
        "diabetes",
        "uremia_dialysis",
        "malignant_tumour",
        "organ_transplant",
    },
    "quanzhou": {"hypertension", "diabetes"},
}


@dataclass(frozen=True)
class Row:
    code: str
    generic: str
    kind: str
    cls: str
    selfpay: Decimal | None
    price_cap: Decimal | None
    selected: bool
    negotiated: bool
    two_disease: bool
    local_region: str
    indications: tuple[str, ...]
    min_level: int | None
    sex: str
    min_age: int | None
    max_age: int | None
    min_title: str
    contra_dx: tuple[str, ...]
    contra_sex: str
    contra_min_age: int | None
    contra_max_age: int | None
    daily_frequency: int | None


def _read_catalogue() -> dict[str, Row]:
    def num(text: str) -> int | None:
        return int(text) if text else None

    def codes(text: str) -> tuple[str, ...]:
        return tuple(c.strip().upper() for c in text.split(";") if c.strip())

    out = {}
    with (ROOT / "policies" / "national" / "catalogue.csv").open(
        encoding="utf-8", newline=""
    ) as handle:
        for r in csv.DictReader(handle):
            out[r["code"]] = Row(
                code=r["code"],
                generic=r["generic"],
                kind=r["kind"],
                cls=r["class"],
                selfpay=D(r["selfpay_prop"]) if r["selfpay_prop"] else None,
                price_cap=D(r["price_cap"]) if r["price_cap"] else None,
                selected=r["selected"] == "1",
                negotiated=r["negotiated"] == "1",
                two_disease=r["two_disease"] == "1",
                local_region=r["local_region"],
                indications=codes(r["indications"]),
                min_level=num(r["min_level"]),
                sex=r["sex"],
                min_age=num(r["min_age"]),
                max_age=num(r["max_age"]),
                min_title=r["min_title"],
                contra_dx=codes(r["contra_dx"]),
                contra_sex=r["contra_sex"],
                contra_min_age=num(r["contra_min_age"]),
                contra_max_age=num(r["contra_max_age"]),
                daily_frequency=num(r["daily_frequency"]),
            )
    return out


CATALOGUE = _read_catalogue()


def conditions_of(diagnoses: tuple[str, ...]) -> set[str]:
    """ICD-10 condition lists of the facts: ranges on the 3-character category."""
    up = [d.upper() for d in diagnoses]
    found = set()
    for name, low, high in (
        ("hypertension", "I10", "I15"),
        ("diabetes", "E10", "E14"),
        ("malignant_tumour", "C00", "C97"),
    ):
        if any(low <= d[:3] <= high for d in up):
            found.add(name)
    if any(d.startswith("Z94") for d in up):
        found.add("organ_transplant")
    if any(d.startswith("N18") for d in up) and any(d.startswith(("Z49", "Z99.2")) for d in up):
        found.add("uremia_dialysis")
    return found


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def by_level(level: int, *figures: int) -> Decimal:
    return Decimal(figures[level - 1])


class Oracle:
    """What the facts say a claim settles to (moment `during`/`after`, or `before`)."""

    def __init__(self, claim: Claim, moment: str = "during", day: dt.date | None = None) -> None:
        assert claim.region is not None
        self.c = claim
        self.region = claim.region
        self.moment = moment
        self.day = day or claim.visit.date
        self.vtype = claim.visit.type
        self.scheme = claim.person.scheme
        self.status = claim.person.status if self.scheme == "employee" else None
        self.level = claim.visit.hospital.level
        self.groups = set(claim.person.groups)
        self.dx = conditions_of(claim.visit.diagnoses)
        self.age = age_on(claim.person.birth_date, claim.visit.date)
        self.items = sorted(claim.items, key=lambda i: i.line)

    # ------------------------------------------------------------ helpers
    def entry(self, code: str) -> Row | None:
        row = CATALOGUE.get(code)
        return row if row is not None and row.local_region in ("", self.region) else None

    def kind(self, item: Any) -> str:
        row = CATALOGUE.get(item.code)
        return row.kind if row is not None else item.kind

    def action(self, kind: str, action: str) -> str:
        if self.moment == "before" and kind in AUDIT_KINDS[self.region]:
            return "warn"
        return action

    def certs(self, programme: str, conditions: set[str], matching: bool = True) -> list[Any]:
        return [
            c
            for c in self.c.person.certifications
            if c.programme == programme
            and c.since <= self.c.visit.date
            and c.condition in conditions
            and (not matching or c.condition in self.dx)
        ]

    def has_dx(self, prefixes: tuple[str, ...]) -> bool:
        return any(d.upper().startswith(prefixes) for d in self.c.visit.diagnoses)

    # ------------------------------------------------------------ findings: Counter of (kind, line, action)
    def findings(self) -> Counter[tuple[str, int | None, str]]:
        out: Counter[tuple[str, int | None, str]] = Counter()

        def add(kind: str, line: int | None, action: str) -> None:
            out[(kind, line, self.action(kind, action))] += 1

        region, vtype = self.region, self.vtype
        if vtype == "special_outpatient" and not self.certs(
            "special_outpatient", SPECIAL_CONDITIONS[region]
        ):
            add("certification_required", None, "reject")
        if region == "tianjin" and vtype == "two_disease":
            add("restricted_use", None, "exclude")
        if region == "quanzhou":
            if vtype == "two_disease" and not self.certs(
                "two_disease", {"hypertension", "diabetes"}
            ):
                add("certification_required", None, "reject")
            if vtype == "two_disease" and (self.scheme == "employee" or self.level == 3):
                add("restricted_use", None, "exclude")
            if vtype == "special_outpatient" and self.day >= QZ_REFORM:
                matching = self.certs("special_outpatient", {"hypertension", "diabetes"})
                # a certification made before the reform stands whoever made it
                # (facts/quanzhou.md: QZ2021 三(五) does not revoke earlier ones)
                if matching and not any(
                    TITLE_RANK.get(c.doctor_title or "", -1) >= 2 or c.since < QZ_REFORM
                    for c in matching
                ):
                    add("prescriber_qualification", None, "reject")

        services_today = Counter(
            s.code for s in self.c.history.services if s.date == self.c.visit.date
        )
        for index, item in enumerate(self.items):
            row = self.entry(item.code)
            earlier = self.items[:index]
            line = item.line
            if row is None or row.cls == "C":
                add("not_covered", line, "exclude")
            if row is not None and self.restricted(row):
                add("restricted_use", line, "exclude")
            if self.duplicate_dispensing(item, earlier):
                add("duplicate_dispensing", line, "reject")
            limit = self.max_days()
            if (
                self.kind(item) == "drug"
                and item.days_supply is not None
                and limit is not None
                and item.days_supply > limit
            ):
                add("excess_supply", line, "reject")
            if row is not None and self.contraindicated(row):
                add("contraindication", line, "reject")
            if self.kind(item) == "service":
                frequency = (row.daily_frequency if row is not None else None) or 1
                seen = services_today[item.code] + sum(
                    1 for e in earlier if e.code == item.code and self.kind(e) == "service"
                )
                if seen >= frequency:
                    add("duplicate_service", line, "reject")
            if region == "tianjin":
                known = CATALOGUE.get(item.code)
                if (
                    self.day >= TJ_LOCAL_OUT
                    and known is not None
                    and known.local_region == "tianjin"
                ):
                    add("not_covered", line, "exclude")
                if (
                    row is not None
                    and row.negotiated
                    and (
                        self.level < 3
                        or TITLE_RANK[self.c.visit.doctor.title] < 2
                        or (row.indications and not self.has_dx(row.indications))
                    )
                ):
                    add("designated_use", line, "reject")
            else:
                if (
                    row is not None
                    and row.kind == "drug"
                    and not row.selected
                    and row.generic
                    and any(
                        other.selected
                        and other.generic == row.generic
                        and self.entry(other.code) is not None
                        for other in CATALOGUE.values()
                    )
                ):
                    add("non_selected_drug", line, "warn")
                if vtype == "two_disease" and not (row is not None and row.two_disease):
                    add("not_covered", line, "exclude")
        return out

    def restricted(self, row: Row) -> bool:
        title = TITLE_RANK[self.c.visit.doctor.title]
        return bool(
            (row.indications and not self.has_dx(row.indications))
            or (row.min_level is not None and self.level < row.min_level)
            or (row.sex and self.c.person.sex != row.sex)
            or (row.min_age is not None and self.age < row.min_age)
            or (row.max_age is not None and self.age > row.max_age)
            or (row.min_title and title < TITLE_RANK[row.min_title])
        )

    def contraindicated(self, row: Row) -> bool:
        by_age = (row.contra_min_age is not None or row.contra_max_age is not None) and (
            (row.contra_min_age or 0) <= self.age
            and (row.contra_max_age is None or self.age <= row.contra_max_age)
        )
        return bool(
            (row.contra_dx and self.has_dx(row.contra_dx))
            or (row.contra_sex and self.c.person.sex == row.contra_sex)
            or by_age
        )

    def duplicate_dispensing(self, item: Any, earlier: list[Any]) -> bool:
        if self.kind(item) != "drug":
            return False
        generic = item.code[:10]
        if any(
            self.kind(e) == "drug" and (e.code == item.code or e.code[:10] == generic)
            for e in earlier
        ):
            return True
        visit = self.c.visit.date
        return any(
            r.date <= visit
            and (r.code == item.code or r.code[:10] == generic)
            and (r.date + dt.timedelta(days=r.days_supply) - visit).days > TOLERANCE[self.region]
            for r in self.c.history.dispensed
        )

    def max_days(self) -> int | None:
        if self.vtype == "outpatient":
            return 7
        if self.region == "tianjin":
            return 30 if self.vtype == "special_outpatient" else None
        if self.vtype in ("special_outpatient", "two_disease") and self.dx & {
            "hypertension",
            "diabetes",
        }:
            return 90 if QZ_EPIDEMIC[0] <= self.day <= QZ_EPIDEMIC[1] else 60
        return None

    # ------------------------------------------------------------ lines
    def lines(self, findings: Counter[tuple[str, int | None, str]]) -> list[dict[str, Any]]:
        claim_actions = {a for (_, line, a) in findings if line is None}
        out = []
        for item in self.items:
            actions = claim_actions | {a for (_, line, a) in findings if line == item.line}
            known = CATALOGUE.get(item.code)
            split = dict.fromkeys(
                ("denied", "excluded", "over_limit", "pre_self_pay", "covered"), ZERO
            )
            if "reject" in actions:
                split["denied"] = item.amount
            elif "exclude" in actions:
                split["excluded"] = item.amount
            else:
                assert known is not None, "a line outside the catalogue must be excluded"
                over = ZERO
                if known.price_cap is not None:
                    over = max(ZERO, fen(item.amount - known.price_cap * item.quantity))
                pre = ZERO
                if known.cls == "B":
                    pre = fen(
                        (item.amount - over)
                        * (known.selfpay if known.selfpay is not None else Decimal("0.10"))
                    )
                split.update(over_limit=over, pre_self_pay=pre, covered=item.amount - over - pre)
            out.append(
                {
                    "line": item.line,
                    "billed": item.amount,
                    "class": known.cls if known else None,
                    "is_denied": "reject" in actions,
                    **split,
                }
            )
        return out

    # ------------------------------------------------------------ payers
    def deductible_amount(self) -> Decimal:
        tj, v, s, lv = self.region == "tianjin", self.vtype, self.scheme, self.level
        first = self.c.history.admissions == 0
        if v == "inpatient":
            if s == "employee":
                base = by_level(lv, 500, 800, 1300) if tj else by_level(lv, 400, 700, 1000)
                return base if first else base / 2
            if tj:
                return by_level(lv, 300, 500, 800) if first else ZERO
            return by_level(lv, 200, 500, 900)
        if v == "outpatient":
            if tj:
                return Decimal(500 if s == "resident" else 800 if self.status == "working" else 700)
            return Decimal(0 if s == "resident" else 700)
        if v == "special_outpatient":
            if tj:
                return Decimal(500 if s == "employee" else 300)
            return Decimal(200 if self.day < QZ_REFORM else 0)
        return ZERO  # two_disease (Quanzhou; Tianjin never reaches the payers)

    def deductible(self, covered: Decimal) -> Decimal:
        amount = self.deductible_amount()
        met = (
            ZERO
            if self.vtype == "inpatient"
            else self.c.history.deductible_met.get(self.vtype, ZERO)
        )
        return min(covered, max(ZERO, amount - met))

    def ratio(self) -> Decimal:
        tj, v, s, lv, st_ = (
            self.region == "tianjin",
            self.vtype,
            self.scheme,
            self.level,
            self.status,
        )
        pct: Decimal
        if v == "outpatient":
            if tj:
                pct = by_level(
                    lv, *{"working": (65, 60, 55), "retired": (70, 65, 60), None: (55, 50, 45)}[st_]
                )
            else:
                pct = by_level(
                    lv, *{"working": (80, 70, 60), "retired": (85, 75, 65), None: (50, 40, 30)}[st_]
                )
        elif tj and v in ("inpatient", "special_outpatient"):
            if s == "employee":
                pct = by_level(lv, *((90, 87, 85) if st_ == "working" else (93, 90, 88)))
            else:
                pct = by_level(lv, *((80, 70, 60) if self.day < D19 else (80, 75, 70)))
                if self.groups & HARDSHIP_RATIO:
                    pct += 5
        elif v == "inpatient":
            if s == "employee":
                pct = by_level(lv, *((92, 88, 85) if st_ == "working" else (95, 91, 88)))
            else:
                pct = by_level(lv, 85, 75, 60)
        elif v == "special_outpatient":
            pct = Decimal(85 if s == "employee" else 70)
        else:
            pct = Decimal(50)
        return pct / 100

    def cap_left(self) -> Decimal | None:
        """Cap − Σ paid of the pools sharing it (None: no cap)."""
        paid = self.c.history.paid
        tj, v, s, new = self.region == "tianjin", self.vtype, self.scheme, self.day >= D19
        if v == "outpatient":
            cap = (
                (7500 if new else 5500)
                if tj and s == "employee"
                else (4000 if new else 3000)
                if tj
                else (5000 if s == "employee" else 500)
            )
            used = paid.get("outpatient", ZERO)
        elif v in ("inpatient", "special_outpatient"):
            cap = (
                (450000 if new else 350000)
                if tj and s == "employee"
                else 200000
                if tj
                else (300000 if s == "employee" else 150000)
            )
            used = paid.get("inpatient", ZERO) + paid.get("special_outpatient", ZERO)
        else:
            return None
        return max(ZERO, Decimal(cap) - used)

    def limit_left(self) -> Decimal | None:
        """Quanzhou's per-condition limits (two_disease; special_outpatient before the reform)."""
        if self.region != "quanzhou":
            return None
        if self.vtype == "two_disease":
            figures, pool = {"hypertension": 300, "diabetes": 500}, "two_disease"
        elif self.vtype == "special_outpatient" and self.day < QZ_REFORM:
            figures, pool = {"hypertension": 1500, "diabetes": 2500}, "special_outpatient"
        else:
            return None
        held = {c.condition for c in self.certs(pool, set(figures), matching=False)}
        limit = sum((Decimal(figures[c]) for c in held), ZERO)
        return max(ZERO, limit - self.c.history.paid.get(pool, ZERO))

    def bands(self) -> tuple[list[tuple[int, int | None, Decimal]], int | None, int | None] | None:
        """(bands (low, high, rate), ceiling on the counted amount, payment cap) or None."""
        if self.vtype not in ("inpatient", "special_outpatient"):
            return None
        p = Decimal("0.01")
        if self.region == "quanzhou":
            if self.scheme == "resident":
                return (
                    [(15000, 50000, 60 * p), (50000, 100000, 70 * p), (100000, None, 80 * p)],
                    None,
                    300000,
                )
            return [(30000, None, 80 * p)], None, 250000
        if self.scheme == "employee":
            return ([(30000, None, 60 * p)], 400000, None) if self.day >= D19 else None
        if self.day >= D19 and self.groups & HARDSHIP_CI:
            return (
                [(10000, 100000, 65 * p), (100000, 200000, 65 * p), (200000, None, 75 * p)],
                None,
                None,
            )
        if self.day >= D19:
            return (
                [(20000, 100000, 60 * p), (100000, 200000, 60 * p), (200000, 300000, 70 * p)],
                None,
                None,
            )
        if self.day >= TJ_CI_RESIDENT_START:
            return (
                [(20000, 100000, 50 * p), (100000, 200000, 60 * p), (200000, 300000, 70 * p)],
                None,
                None,
            )
        return None

    @staticmethod
    def F(bands: list[tuple[int, int | None, Decimal]], ceiling: int | None, x: Decimal) -> Decimal:
        if ceiling is not None:
            x = min(x, Decimal(ceiling))
        total = ZERO
        for low, high, rate in bands:
            top = x if high is None else min(x, Decimal(high))
            if top > low:
                total += (top - low) * rate
        return total

    def payers(self, covered: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        if covered == 0:
            return ZERO, ZERO, ZERO
        deductible = self.deductible(covered)
        fund = fen((covered - deductible) * self.ratio())
        for left in (self.cap_left(), self.limit_left()):
            if left is not None:
                fund = min(fund, left)
        critical = ZERO
        found = self.bands()
        if found is not None:
            bands, ceiling, payment_cap = found
            before = self.c.history.self_burden.inpatient
            critical = fen(
                self.F(bands, ceiling, before + covered - fund) - self.F(bands, ceiling, before)
            )
            if payment_cap is not None:
                critical = min(
                    critical,
                    max(ZERO, payment_cap - self.c.history.paid.get("critical_illness", ZERO)),
                )
        return deductible, fund, critical

    def decision(
        self, findings: Counter[tuple[str, int | None, str]], lines: list[dict[str, Any]]
    ) -> str:
        claim_actions = {a for (_, line, a) in findings if line is None}
        denied = sum(1 for line in lines if line["is_denied"])
        if denied == len(lines) or claim_actions & {"reject", "exclude"}:
            return "reject"
        if denied:
            return "partial"
        return "review" if any(a == "review" for (_, _, a) in findings) else "pay"


# ====================================================================== arithmetic invariants

BUCKETS = ("denied", "excluded", "over_limit", "pre_self_pay", "covered")


def money_fields(result: dict[str, Any]) -> list[tuple[str, str]]:
    out = [(f"totals.{k}", v) for k, v in result["totals"].items() if k != "payers"]
    out += [(f"totals.payers.{k}", v) for k, v in result["totals"]["payers"].items()]
    for line in result["lines"]:
        n = line["line"]
        out += [(f"lines[{n}].{k}", line[k]) for k in ("billed", *BUCKETS, "patient")]
        out += [(f"lines[{n}].payers.{k}", v) for k, v in line["payers"].items()]
    return out


def assert_arithmetic(result: dict[str, Any], raw: dict[str, Any]) -> None:
    totals = result["totals"]
    payers = totals["payers"]
    for path, text in money_fields(result):
        assert MONEY_TEXT.fullmatch(text), f"{path} = {text!r} is not money text"
        assert D(text) >= 0, f"{path} = {text} is negative"
    billed, denied, fund, ci, patient = (
        D(totals["billed"]),
        D(totals["denied"]),
        D(payers["fund"]),
        D(payers["critical_illness"]),
        D(totals["patient"]),
    )
    assert billed == denied + fund + ci + patient
    lines = result["lines"]
    assert [line["line"] for line in lines] == sorted(i["line"] for i in raw["items"])
    amounts = {i["line"]: fen(D(str(i["amount"]))) for i in raw["items"]}
    for line in lines:
        assert D(line["billed"]) == amounts[line["line"]]
        assert D(line["billed"]) == sum((D(line[k]) for k in BUCKETS), ZERO), f"line {line['line']}"
        paid = sum((D(v) for v in line["payers"].values()), ZERO)
        assert D(line["patient"]) == D(line["billed"]) - D(line["denied"]) - paid
    for key in ("billed", *BUCKETS):
        assert D(totals[key]) == sum((D(line[key]) for line in lines), ZERO), f"totals.{key}"
    for payer in ("fund", "critical_illness"):
        assert D(payers[payer]) == sum((D(line["payers"][payer]) for line in lines), ZERO), (
            f"line {payer}"
        )
    assert D(totals["patient"]) == sum((D(line["patient"]) for line in lines), ZERO)
    covered, deductible = D(totals["covered"]), D(totals["deductible"])
    assert deductible <= covered
    assert fund <= covered - deductible
    assert ci <= covered - fund


def assert_decision_order(result: dict[str, Any]) -> None:
    """Spec §3: reject, partial, review, pay — from the result's own findings and lines."""
    findings = {f["id"]: f for f in result["findings"]}
    claim_level = [f for f in result["findings"] if f["line"] is None]
    claim_actions = {f["action"] for f in claim_level}
    denied_lines = 0
    for line in result["lines"]:
        actions = {findings[i]["action"] for i in line["findings"]} | claim_actions
        for i in line["findings"]:
            assert findings[i]["line"] == line["line"]
        is_denied = "reject" in actions
        denied_lines += is_denied
        expect_denied = line["billed"] if is_denied else "0.00"
        expect_excluded = line["billed"] if not is_denied and "exclude" in actions else "0.00"
        assert line["denied"] == expect_denied, f"line {line['line']} denied"
        assert line["excluded"] == expect_excluded, f"line {line['line']} excluded"
    assert sorted(i for line in result["lines"] for i in line["findings"]) == sorted(
        f["id"] for f in result["findings"] if f["line"] is not None
    )
    rule_lines = [(f["rule"], f["line"]) for f in result["findings"]]
    assert len(rule_lines) == len(set(rule_lines)), "more than one finding per rule and line"
    if denied_lines == len(result["lines"]) or claim_actions & {"reject", "exclude"}:
        expected = "reject"
    elif denied_lines:
        expected = "partial"
    elif any(f["action"] == "review" for f in result["findings"]):
        expected = "review"
    else:
        expected = "pay"
    assert result["decision"] == expected


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_settlement_identities(region: str, data: st.DataObject) -> None:
    raw = data.draw(claims(region), label="claim")
    moment = data.draw(MOMENTS, label="moment")
    result = settle(raw, moment=moment)
    assert_arithmetic(result, raw)
    assert_decision_order(result)


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_line_payments_within_line_covered(region: str, data: st.DataObject) -> None:
    """Each payer's line share is between 0 and the line's covered amount."""
    raw = data.draw(claims(region, max_items=12), label="claim")
    assert_line_shares_within_covered(settle(raw))


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_line_payments_with_equal_lines(region: str, data: st.DataObject) -> None:
    """Pro-rata shares of a payment of a few fen over lines with equal covered amounts."""
    raw = data.draw(equal_line_claims(region), label="claim")
    result = settle(raw)
    assert_arithmetic(result, raw)
    assert_line_shares_within_covered(result)


def assert_line_shares_within_covered(result: dict[str, Any]) -> None:
    for line in result["lines"]:
        for payer, value in line["payers"].items():
            assert D(value) >= 0, f"line {line['line']} {payer} share {value}"
        shares = sum((D(v) for v in line["payers"].values()), ZERO)
        assert shares <= D(line["covered"]), (
            f"line {line['line']} paid {shares} > covered {line['covered']}"
        )


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_fund_and_critical_illness_within_limits(region: str, data: st.DataObject) -> None:
    raw = data.draw(claims(region), label="claim")
    result = settle(raw)
    oracle = Oracle(model(raw))
    totals = result["totals"]
    covered, deductible = D(totals["covered"]), D(totals["deductible"])
    fund, ci = D(totals["payers"]["fund"]), D(totals["payers"]["critical_illness"])
    assert fund <= covered - deductible
    for left in (oracle.cap_left(), oracle.limit_left()):
        if left is not None:
            assert fund <= left, f"fund {fund} above what is left {left}"
    s = covered - fund
    assert ci <= s
    found = oracle.bands()
    if found is None:
        assert ci == 0, "大病 paid where the facts have no bands"
        return
    bands, ceiling, payment_cap = found
    before = model(raw).history.self_burden.inpatient
    assert ci <= fen(Oracle.F(bands, ceiling, before + s) - Oracle.F(bands, ceiling, before))
    if payment_cap is not None:
        assert ci <= max(ZERO, payment_cap - model(raw).history.paid.get("critical_illness", ZERO))


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(pair=st.data())
def test_adding_a_line_never_lowers_the_fund(region: str, pair: st.DataObject) -> None:
    raw, extra = pair.draw(claims_with_extra_line(region), label="claim and extra line")
    more = {**raw, "items": [*raw["items"], extra]}
    moment = pair.draw(MOMENTS, label="moment")
    before, after = settle(raw, moment=moment), settle(more, moment=moment)
    assert D(after["totals"]["payers"]["fund"]) >= D(before["totals"]["payers"]["fund"])
    assert D(after["totals"]["covered"]) >= D(before["totals"]["covered"])
    # Findings of the earlier lines do not depend on a later line.
    old = {line["line"]: line for line in before["lines"]}
    for line in after["lines"]:
        if line["line"] in old:
            assert {k: line[k] for k in ("billed", *BUCKETS)} == {
                k: old[line["line"]][k] for k in ("billed", *BUCKETS)
            }


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_deterministic_and_unshared(region: str, data: st.DataObject) -> None:
    """The same claim settles to the same result; a caller mutating a result changes nothing."""
    raw = data.draw(claims(region), label="claim")
    moment = data.draw(MOMENTS, label="moment")
    trace = data.draw(st.booleans(), label="trace")
    first = settle(raw, moment=moment, trace=trace)
    pristine = copy.deepcopy(first)
    _scribble(first)
    second = settle(copy.deepcopy(raw), moment=moment, trace=trace)
    assert second == pristine
    assert settle(raw, moment=moment, trace=trace) == pristine


def _scribble(value: Any) -> None:
    """Mutate every dict and list reachable from a result, as a careless caller might."""
    if isinstance(value, dict):
        for key in list(value):
            _scribble(value[key])
            if isinstance(value[key], str):
                value[key] = value[key] + "!"
        value["scribbled"] = True
    elif isinstance(value, list):
        for item in value:
            _scribble(item)
        value.append("scribbled")


# ====================================================================== the `before` moment

POLICIES = {region: check(ROOT / "policies" / region).policy for region in REGIONS}
WITHOUT_AUDIT = {
    region: dataclasses.replace(policy, rules=tuple(r for r in policy.rules if not r.audit))
    for region, policy in POLICIES.items()
}
MONEY_KEYS = (
    "billed",
    "denied",
    "excluded",
    "over_limit",
    "pre_self_pay",
    "covered",
    "deductible",
    "patient",
)


def money_view(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "totals": {k: result["totals"][k] for k in MONEY_KEYS}
        | {"payers": result["totals"]["payers"]},
        "lines": [
            {k: line[k] for k in (*BUCKETS, "billed", "patient", "payers")}
            for line in result["lines"]
        ],
    }


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_before_moment_only_warns_for_audit_rules(region: str, data: st.DataObject) -> None:
    raw = data.draw(claims(region), label="claim")
    before, during = settle(raw, moment="before"), settle(raw, moment="during")
    for finding in before["findings"]:
        if is_audit(finding):
            assert finding["action"] not in ("reject", "exclude"), finding
    assert D(before["totals"]["denied"]) <= D(during["totals"]["denied"])
    # Money at `before` = money `during` with the audit findings absent.
    with localcontext(MONEY_CONTEXT):
        no_audit = adjudicate(WITHOUT_AUDIT[region], load_claim(raw), moment="during")
    assert money_view(before) == money_view(no_audit)
    # `after` (开药后审核) behaves as `during`.
    assert settle(raw, moment="after") == during
    # The same findings are raised, only the audit ones downgraded.
    assert [(f["kind"], f["line"], f["rule"]) for f in before["findings"]] == [
        (f["kind"], f["line"], f["rule"]) for f in during["findings"]
    ]


# ====================================================================== the facts oracle


def oracle_view(
    oracle: Oracle,
) -> tuple[Counter[Any], list[dict[str, Any]], dict[str, Decimal], str]:
    findings = oracle.findings()
    lines = oracle.lines(findings)
    covered = sum((line["covered"] for line in lines), ZERO)
    deductible, fund, critical = oracle.payers(covered)
    money = {
        "covered": covered,
        "deductible": deductible,
        "fund": fund,
        "critical_illness": critical,
    }
    return findings, lines, money, oracle.decision(findings, lines)


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_findings_match_the_facts(region: str, data: st.DataObject) -> None:
    raw = data.draw(claims(region), label="claim")
    moment = data.draw(MOMENTS, label="moment")
    as_of = data.draw(st.one_of(st.none(), visit_dates(region)), label="as_of")
    result = settle(raw, moment=moment, as_of=as_of)
    expected = Oracle(model(raw), moment, as_of).findings()
    got = Counter((f["kind"], f["line"], f["action"]) for f in result["findings"])
    assert got == expected, (
        f"engine − facts: {dict(got - expected)}; facts − engine: {dict(expected - got)}"
    )


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_lines_match_the_catalogue(region: str, data: st.DataObject) -> None:
    raw = data.draw(claims(region), label="claim")
    result = settle(raw)
    oracle = Oracle(model(raw))
    # Given the engine's own findings, the line split follows the catalogue.
    findings = Counter((f["kind"], f["line"], f["action"]) for f in result["findings"])
    for got, want in zip(result["lines"], oracle.lines(findings), strict=True):
        assert got["class"] == want["class"]
        for key in ("billed", *BUCKETS):
            assert D(got[key]) == want[key], f"line {got['line']} {key}: {got[key]} ≠ {want[key]}"


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_payers_match_the_facts(region: str, data: st.DataObject) -> None:
    raw = data.draw(claims(region), label="claim")
    as_of = data.draw(st.one_of(st.none(), visit_dates(region)), label="as_of")
    result = settle(raw, as_of=as_of)
    oracle = Oracle(model(raw), day=as_of)
    covered = D(result["totals"]["covered"])
    deductible, fund, critical = oracle.payers(covered)
    totals = result["totals"]
    got = (
        D(totals["deductible"]),
        D(totals["payers"]["fund"]),
        D(totals["payers"]["critical_illness"]),
    )
    assert got == (deductible, fund, critical), "deductible, fund, critical_illness"


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_decision_matches_the_facts(region: str, data: st.DataObject) -> None:
    raw = data.draw(claims(region), label="claim")
    moment = data.draw(MOMENTS, label="moment")
    _, _, money, decision = oracle_view(Oracle(model(raw), moment))
    result = settle(raw, moment=moment)
    assert result["decision"] == decision
    assert D(result["totals"]["covered"]) == money["covered"]


# ====================================================================== known cases
# Minimal claims found by the fuzzer, kept so that they run on every test run.


def _equal_lines_claim() -> dict[str, Any]:
    """Eight class-A lines of 1.00 (covered 8.00), deductible left 7.94, ratio 65%: the fund
    pays fen(0.06 × 0.65) = 0.04; pro rata each line gets fen(0.005) = 0.01, and the line with
    the largest covered takes the difference 0.04 − 0.08, i.e. −0.03."""
    lines = priced_lines(list(CLASS_A_PLAIN), unit_price="1", amount="1.00")
    claim = outpatient_claim("EQUAL", "tianjin", lines, level=1, diagnoses=("I10",))
    claim["history"] = {"deductible_met": {"outpatient": "792.06"}}
    return claim


def _tiny_lines_claim() -> dict[str, Any]:
    """Five lines of 0.01 (covered 0.05), Quanzhou resident outpatient at level 2 (40%, no
    deductible): the fund pays fen(0.05 × 0.40) = 0.02; each pro-rata share fen(0.004) is 0.00,
    so the line with the largest covered takes the whole 0.02 — more than its covered 0.01,
    and that line's patient share becomes −0.01."""
    resident = {"id": "P", "scheme": "resident", "birth_date": "1970-01-01", "sex": "male"}
    lines = priced_lines(list(CLASS_A_PLAIN[:5]), unit_price="0.01", amount="0.01")  # the drugs
    return outpatient_claim(
        "TINY", "quanzhou", lines, level=2, diagnoses=("I10",), person=resident, title="resident"
    )


KNOWN_CLAIMS = {
    "equal_lines_small_fund": _equal_lines_claim(),
    "tiny_lines_remainder_above_covered": _tiny_lines_claim(),
    "over_limit_rounds_to_zero_tianjin": over_limit_claim("tianjin"),
    "over_limit_rounds_to_zero_quanzhou": over_limit_claim("quanzhou"),
}


@pytest.mark.parametrize("name", sorted(KNOWN_CLAIMS))
def test_known_claims(name: str) -> None:
    raw = KNOWN_CLAIMS[name]
    for moment in ("before", "during"):
        result = settle(raw, moment=moment)
        assert_arithmetic(result, raw)
        assert_decision_order(result)
        assert_line_shares_within_covered(result)
        oracle = Oracle(model(raw), moment)
        _, lines, money, decision = oracle_view(oracle)
        assert result["decision"] == decision
        assert [{k: D(line[k]) for k in ("billed", *BUCKETS)} for line in result["lines"]] == [
            {k: line[k] for k in ("billed", *BUCKETS)} for line in lines
        ]
        assert (
            D(result["totals"]["deductible"]),
            D(result["totals"]["payers"]["fund"]),
            D(result["totals"]["payers"]["critical_illness"]),
        ) == (money["deductible"], money["fund"], money["critical_illness"])
