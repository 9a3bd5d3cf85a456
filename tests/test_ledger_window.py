"""The ledger hands each claim a sliding window of the year's dispensing and services, so a
person's year costs time linear in its claims — and changes no result.

(Speed itself is measured in benchmarks/test_person_year.py, never asserted here.)
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest

from policyengine.batch.options import BatchOptions
from policyengine.batch.worker import settle_group
from policyengine.contract.claims import load_claim
from policyengine.contract.fastclaim import Claim
from policyengine.engine import Engine
from policyengine.ledger import settle_person
from tests.support import example_claim
from tests.test_batch import accumulate

DRUGS = {  # code → generic prefix shared with another code (alternatives, duplicates)
    "tianjin": [
        "XC08CAA001A001010001001",
        "XC08CAA001A001010001002",
        "XC09CAE012A001010001003",
        "XA10BAE054A001010001005",
        "XJ01CAA040A001010001013",
    ],
    "quanzhou": [
        "XC08CAA001A001010001001",
        "XC08CAA001A001010001002",
        "XC09CAE012A001010001003",
        "XA10BAE054A001010001005",
        "XJ01CAA040A001010001013",
    ],
}
SERVICES = ["001101000010000", "002501010150000"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def dense_year(region: str, count: int, seed: int) -> list[dict[str, Any]]:
    """One person's claims, several a day, supplies of 0–10 days crossing the tolerance
    boundaries, the same services on the same day, and an opening history with old,
    running and future-dated records."""
    rand = random.Random(seed)
    template = example_claim()
    claims = []
    for index in range(count):
        claim = json.loads(json.dumps(template))
        claim["id"], claim["region"] = f"{region}-{index}", region
        day = dt.date(2024, 1, 1) + dt.timedelta(days=index * 90 // count)
        claim["visit"]["date"] = day.isoformat()
        items = []
        for line in range(1, rand.randint(2, 5)):
            if rand.random() < 0.7:
                code, kind = rand.choice(DRUGS[region]), "drug"
            else:
                code, kind = rand.choice(SERVICES), "service"
            item = {"line": line, "code": code, "kind": kind, "quantity": "1"}
            item.update(unit_price="3.00", amount="3.00")
            if kind == "drug":
                item["days_supply"] = rand.randint(0, 10)
            items.append(item)
        claim["items"] = items
        claims.append(claim)
    claims[0]["history"] = {
        "paid": {},
        "deductible_met": {},
        "self_burden": {"inpatient": "0"},
        "admissions": 0,
        "dispensed": [
            {"code": DRUGS[region][0], "date": "2023-12-20", "days_supply": 30},
            {"code": DRUGS[region][2], "date": "2023-11-01", "days_supply": 5},
            {"code": DRUGS[region][3], "date": "2024-02-10", "days_supply": 4},
        ],
        "services": [
            {"code": SERVICES[0], "date": "2024-01-01"},
            {"code": SERVICES[1], "date": "2024-01-20"},
        ],
    }
    return claims


@pytest.mark.parametrize("region", ["tianjin", "quanzhou"])
def test_the_window_changes_no_result(engine: Engine, region: str) -> None:
    """Batch (windows) against claim by claim with the whole year's history."""
    claims = dense_year(region, 240, seed=3)
    raw = [(index, json.dumps(claim).encode()) for index, claim in enumerate(claims)]
    options = BatchOptions(input=Path("claims.jsonl"), output=Path("results.jsonl"))
    batch = {s.result["claim_id"]: s.result for s in settle_group(engine, options, raw) if s.result}
    assert len(batch) == len(claims)
    assert batch == claim_by_claim(engine, claims)
    findings = [f["kind"] for r in batch.values() for f in r["findings"]]
    assert "duplicate_dispensing" in findings and "duplicate_service" in findings


def claim_by_claim(engine: Engine, claims: list[dict[str, Any]]) -> dict[str, Any]:
    """Each claim in date order with the whole history so far: the first claim's own, then
    everything every earlier claim added (tests/test_batch.py's accumulate)."""
    history = claims[0]["history"]
    expected = {}
    for _index, original in sorted(enumerate(claims), key=lambda p: (p[1]["visit"]["date"], p[0])):
        claim = dict(original, history=history)
        result = engine.settle(claim)
        expected[claim["id"]] = result
        history = accumulate(history, claim, result, engine)
    return expected


def test_each_claim_reads_a_bounded_window(engine: Engine) -> None:
    """The history a claim is given no longer grows with the year: 400 claims of one
    person read at most what can still match (before: every record of the year so far)."""
    seen: list[tuple[int, int]] = []
    region = "tianjin"

    def settle(claim: Claim) -> dict[str, Any]:
        seen.append((len(claim.history.dispensed), len(claim.history.services)))
        return engine.settle(claim)

    claims = dense_year(region, 400, seed=5)
    raw = [(index, json.dumps(claim).encode()) for index, claim in enumerate(claims)]
    results = list(settle_person(raw, settle, rules_of=lambda c: engine.ledger_rules(c.region)))
    assert all(s.result is not None for s in results)
    per_day = 400 // 90 + 1
    assert max(d for d, _ in seen) <= 4 * 10 * per_day  # ≤ 4 lines × 10 days of supply
    assert max(s for _, s in seen) <= 4 * per_day  # services of the day only


def test_supplies_running_past_the_last_date_settle_alike_on_both_back_ends() -> None:
    """`date + days_supply` past 9999-12-31 overflowed in the reference interpreter
    (OverflowError) where the compiled code computes the days left as a difference."""
    claim = example_claim()
    claim["visit"]["date"] = "9999-12-31"
    claim["history"] = {
        "dispensed": [{"code": claim["items"][0]["code"], "date": "9999-12-30", "days_supply": 30}]
    }
    results = [Engine.load(backend=b).settle(claim) for b in ("compiled", "interpreted")]
    assert results[0] == results[1]
    assert "duplicate_dispensing" in [f["kind"] for f in results[0]["findings"]]


def test_a_line_joins_the_year_by_the_kind_its_policys_catalogue_gives(engine: Engine) -> None:
    """The catalogue's kind prevails over the claim's: a code the claim calls a service but
    the settling policy's catalogue lists as a drug joins the dispensings, read from that
    policy's ledger rules (before, batch without --region read the first catalogue listing
    the code, whatever the claim's region)."""
    from policyengine.ledger import Ledger
    from policyengine.prepared import LedgerRules

    for region in engine.regions:
        assert engine.ledger_rules(region).kinds == engine.policy(region).kinds
    raw = example_claim()
    result = engine.settle(raw)
    record = load_claim(raw)
    paid = [line["line"] for line in result["lines"] if line["denied"] == "0.00"]
    item = next(i for i in record.items if i.line in paid)
    for kind, joins in (("drug", "dispensed"), ("service", "services"), ("material", None)):
        ledger = Ledger(dt.date(2024, 1, 1), rules=LedgerRules(kinds={item.code: kind}))
        ledger.record(record, result)
        joined = {r.code: name for name in ("dispensed", "services") for r in getattr(ledger, name)}
        assert joined.get(item.code) == joins, (item, kind)
