"""Claim contract version 2 (spec §5): the new facts at the JSON boundary, the policy's own
refusals (a tier it does not declare, a history of another benefit year) and the ledger's new
parts (the year's pooled amounts, the benefit year). Settlement with these facts is in the
YAML cases of tests/policies/ (both back ends) and the differential tests."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policyengine.contract.claims import Claim, ClaimRejected, load_claim
from policyengine.contract.fastclaim import fast_claim, from_model
from policyengine.engine import Engine
from policyengine.ledger import settle_person

ROOT = Path(__file__).resolve().parents[1]
TEST_POLICIES = ROOT / "tests" / "policies"

CLAIM: dict[str, Any] = {
    "id": "V2-1",
    "region": "constructs",
    "person": {
        "id": "P1",
        "scheme": "resident",
        "birth_date": "1970-01-01",
        "sex": "male",
        "tier": "high",
        "enrolled_years": 12,
    },
    "visit": {
        "type": "inpatient",
        "date": "2024-06-20",
        "hospital": {"id": "H3", "level": 3, "kind": "general"},
        "doctor": {"id": "D1", "title": "chief"},
        "diagnoses": [],
        "place": "out_of_province",
        "filed": False,
        "referral": {
            "from": {"id": "H1", "level": 1, "kind": "community"},
            "within_alliance": True,
        },
        "department": "psychiatry",
    },
    "items": [
        {
            "line": 1,
            "code": "S001",
            "kind": "service",
            "quantity": "1",
            "unit_price": "1000",
            "amount": "1000",
        }
    ],
    "history": {"pooled": {"inpatient": "2500.00"}, "benefit_year_start": "2024-01-01"},
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(TEST_POLICIES)


def test_version_2_facts_are_read_alike_by_the_fast_path_and_the_models() -> None:
    fast = fast_claim(CLAIM)
    assert fast is not None, "a plainly valid version-2 claim takes the fast path"
    assert fast == from_model(Claim.model_validate(CLAIM))
    assert fast.visit.referral is not None and fast.visit.referral.from_.level == 1
    assert (fast.visit.place, fast.visit.filed, fast.visit.department) == (
        "out_of_province",
        False,
        "psychiatry",
    )
    assert (fast.person.tier, fast.person.enrolled_years) == ("high", 12)
    assert fast.history.pooled == {"inpatient": Decimal("2500.00")}


def test_a_version_1_claim_has_the_defaults() -> None:
    claim = copy.deepcopy(CLAIM)
    for key in ("place", "filed", "referral", "department"):
        del claim["visit"][key]
    del claim["person"]["tier"], claim["person"]["enrolled_years"], claim["history"]
    loaded = load_claim(claim)
    assert (loaded.visit.place, loaded.visit.filed, loaded.visit.referral) == ("local", True, None)
    assert (loaded.person.tier, loaded.person.enrolled_years) == (None, None)
    assert (loaded.history.pooled, loaded.history.benefit_year_start) == ({}, None)


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("visit", "place"), "abroad", "visit.place"),
        (("visit", "filed"), "no", "visit.filed"),
        (("visit", "referral", "from", "level"), 4, "visit.referral.from.level"),
        (("visit", "referral", "within_alliance"), 1, "visit.referral.within_alliance"),
        (("visit", "department"), "", "visit.department"),
        (("person", "enrolled_years"), -1, "person.enrolled_years"),
        (("person", "enrolled_years"), "3", "person.enrolled_years"),
        (
            ("history", "pooled"),
            {"critical_illness": "1.00"},
            "history.pooled.critical_illness.[key]",
        ),
        (("history", "benefit_year_start"), "2024-02-30", "history.benefit_year_start"),
    ],
)
def test_a_bad_version_2_fact_is_refused_at_its_path(
    path: tuple[str, ...], value: Any, where: str
) -> None:
    claim = copy.deepcopy(CLAIM)
    target = claim
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert fast_claim(claim) is None, "the fast path leaves doubtful claims to the models"
    with pytest.raises(ClaimRejected) as refused:
        load_claim(claim)
    assert [e.path for e in refused.value.errors] == [where]


def test_the_claim_schema_lists_the_version_2_facts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "policyengine", "schema", "claim"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    schema = json.loads(done.stdout)
    text = json.dumps(schema)
    for word in ("place", "filed", "referral", "within_alliance", "department", "tier"):
        assert f'"{word}"' in text
    for word in ("enrolled_years", "pooled", "benefit_year_start", "out_of_province"):
        assert word in text


# ------------------------------------------------------------------ the policy's refusals


def test_the_engine_refuses_a_tier_the_policy_does_not_declare(engine: Engine) -> None:
    claim = copy.deepcopy(CLAIM)
    claim["person"]["tier"] = "middle"
    with pytest.raises(ClaimRejected) as refused:
        engine.settle(claim)
    assert [e.path for e in refused.value.errors] == ["person.tier"]
    assert "high, low, student" in refused.value.errors[0].message


def test_a_policy_without_tiers_ignores_the_tier(engine: Engine) -> None:
    claim = {**copy.deepcopy(CLAIM), "region": "yearjiao"}
    claim["visit"]["type"] = "outpatient"
    claim["person"]["tier"] = "anything"
    claim["history"] = {"benefit_year_start": "2023-10-01"}
    assert engine.settle(claim)["decision"] == "pay"


# ------------------------------------------------------------------ the ledger


def _outpatient(claim_id: str, day: str, amount: str, region: str = "yearjiao") -> bytes:
    claim = copy.deepcopy(CLAIM)
    claim.update(id=claim_id, region=region, history={})
    claim["visit"].update(type="outpatient", date=day, place="local")
    claim["items"][0].update(unit_price=amount, amount=amount)
    return json.dumps(claim).encode()


def _settle_year(engine: Engine, raws: list[bytes]) -> list[Any]:
    def settle(claim: Any) -> Any:
        return engine.settle(claim)

    return list(
        settle_person(
            list(enumerate(raws)),
            settle,
            rules_of=lambda c: engine.ledger_rules(c.region),
        )
    )


def test_the_ledger_opens_a_new_year_on_the_policys_day(engine: Engine) -> None:
    """yearjiao's benefit year begins on 1 October: its outpatient deductible (100 a year)
    is met by the September claim and due again on 1 October."""
    settled = _settle_year(
        engine,
        [
            _outpatient("A", "2024-09-01", "300.00"),
            _outpatient("B", "2024-09-30", "300.00"),
            _outpatient("C", "2024-10-01", "300.00"),
        ],
    )
    deductibles = [s.result["totals"]["deductible"] for s in settled]
    assert deductibles == ["100.00", "0.00", "100.00"]


def test_the_ledger_keeps_calendar_years_by_default(engine: Engine) -> None:
    """constructs runs calendar years: the outpatient deductible (200 a year for residents) is
    met on 2024-09-30 and still met on 2024-10-01, due again on 2025-01-01."""
    raws = [
        _outpatient("A", "2024-09-30", "300.00", "constructs"),
        _outpatient("B", "2024-10-01", "300.00", "constructs"),
        _outpatient("C", "2025-01-01", "300.00", "constructs"),
    ]
    settled = list(
        settle_person(
            list(enumerate(raws)),
            engine.settle,
            rules_of=lambda c: engine.ledger_rules(c.region),
        )
    )
    assert [s.result["totals"]["deductible"] for s in settled] == ["200.00", "0.00", "200.00"]


def test_the_ledger_adds_covered_less_deductible_to_the_pool(engine: Engine) -> None:
    seen: list[dict[str, Decimal]] = []

    def settle(claim: Any) -> Any:
        seen.append(dict(claim.history.pooled))
        return engine.settle(claim)

    raws = [_outpatient(str(n), f"2024-0{n + 1}-01", "300.00") for n in range(3)]
    rules = engine.policy("yearjiao").ledger
    list(settle_person(list(enumerate(raws)), settle, rules_of=lambda _claim: rules))
    # each claim: covered 300 − deductible (100 the first time, met afterwards)
    assert seen == [{}, {"outpatient": Decimal("200.00")}, {"outpatient": Decimal("500.00")}]


def test_a_claim_the_policy_refuses_is_an_error_record_in_batch(engine: Engine) -> None:
    raws = [_outpatient("A", "2024-03-01", "300.00", "constructs")]
    claim = json.loads(raws[0])
    claim["person"]["tier"] = "middle"
    settled = _settle_year(engine, [json.dumps(claim).encode()])
    assert settled[0].result is None and settled[0].error is not None
    assert settled[0].error["error"] == "malformed_claim"
    assert [e["path"] for e in settled[0].error["errors"]] == ["person.tier"]
