"""Audit rules end to end: planted violations are all found — right kind, action, line and
citation — a clean claim yields none, and the `before` moment only warns."""

from __future__ import annotations

from typing import Any

import pytest

from policyengine import Engine


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def item(
    line: int, code: str, kind: str, quantity: str, price: str, days: int | None = None
) -> dict[str, Any]:
    from decimal import ROUND_HALF_UP, Decimal

    amount = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    out: dict[str, Any] = {
        "line": line,
        "code": code,
        "kind": kind,
        "quantity": quantity,
        "unit_price": price,
        "amount": str(amount),
    }
    if days is not None:
        out["days_supply"] = days
    return out


def tianjin_claim(items: list[dict[str, Any]], **visit: Any) -> dict[str, Any]:
    return {
        "id": "TJ-AUDIT",
        "region": "tianjin",
        "person": {
            "id": "P1",
            "scheme": "employee",
            "status": "working",
            "birth_date": "1980-06-01",
            "sex": "male",
        },
        "visit": {
            "type": "outpatient",
            "date": "2024-05-10",
            "hospital": {"id": "H1", "level": 3, "kind": "general"},
            "doctor": {"id": "D1", "title": "attending"},
            "diagnoses": ["K25.000"],
            **visit,
        },
        "items": items,
        "history": {
            "dispensed": [
                {"code": "XJ01CAA040A001010001013", "date": "2024-05-06", "days_supply": 8}
            ],
            "services": [{"code": "002501010150000", "date": "2024-05-10"}],
        },
    }


PLANTED_TIANJIN = [
    item(
        1, "XJ01CAA040A001010001013", "drug", "2", "10.00", 3
    ),  # amoxicillin: 4 days left > 3 → duplicate
    item(
        2, "XM01AEB014A001010001016", "drug", "1", "20.00", 8
    ),  # ibuprofen: 8 days > 7; K25 contraindicated
    item(
        3, "XG03DAH089A001010001019", "drug", "1", "15.00", 5
    ),  # progesterone: female only → restricted
    item(4, "002501010150000", "service", "1", "20.00"),  # blood count already billed today
    item(
        5, "XL01EBA227A001010001012", "drug", "10", "150.00", 5
    ),  # osimertinib: 国谈药, attending, no C34
    item(6, "ZB02BAE210A001010001022", "drug", "1", "50.00", 5),  # 阿胶, class C
    item(7, "NOT-IN-CATALOGUE-0001", "drug", "1", "5.00", 3),  # unknown code
]


def kinds(result: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    return [(f["kind"], f["action"], f["line"]) for f in result["findings"]]


def test_planted_violations_in_tianjin_are_all_found(engine: Engine) -> None:
    result = engine.settle(tianjin_claim(PLANTED_TIANJIN))
    assert kinds(result) == [
        ("duplicate_dispensing", "reject", 1),
        ("excess_supply", "reject", 2),
        ("contraindication", "reject", 2),
        ("restricted_use", "exclude", 3),
        ("duplicate_service", "reject", 4),
        ("restricted_use", "exclude", 5),
        ("designated_use", "reject", 5),
        ("not_covered", "exclude", 6),
        ("not_covered", "exclude", 7),
    ]
    by_kind = {f["kind"]: f for f in result["findings"]}
    audit_source = {
        "doc": "津政办发〔2018〕4号",
        "clause": "三(二)5",
        "quote": "对重复开药、超量开药、超禁忌症使用、重复开具诊疗项目等发生的医疗费用预警拦截",
        "provenance": "cited",
    }
    for kind in ("duplicate_dispensing", "excess_supply", "contraindication", "duplicate_service"):
        assert by_kind[kind]["source"] == audit_source
        assert by_kind[kind]["rule"].startswith("tianjin/audit.policy:")
    assert by_kind["designated_use"]["source"]["clause"] == "三(一)3"
    designated = by_kind["designated_use"]["message_en"]
    assert "associate_chief or above" in designated and "C34" in designated
    assert result["decision"] == "partial"
    denied = {line["line"] for line in result["lines"] if line["denied"] != "0.00"}
    excluded = {line["line"] for line in result["lines"] if line["excluded"] != "0.00"}
    assert denied == {1, 2, 4, 5} and excluded == {3, 6, 7}


def test_a_clean_tianjin_claim_has_no_findings(engine: Engine) -> None:
    clean = [
        item(
            1, "XJ01CAA040A001010001013", "drug", "2", "10.00", 7
        ),  # 2 days left of the earlier supply
        item(2, "001101000010000", "service", "1", "10.00"),
    ]
    claim = tianjin_claim(clean, diagnoses=["J06.900"])
    claim["history"]["dispensed"][0]["date"] = "2024-05-04"  # 8 days from 05-04 leaves 2 on 05-10
    result = engine.settle(claim)
    assert result["findings"] == [] and result["decision"] == "pay"


def test_before_moment_turns_audit_findings_into_hints(engine: Engine) -> None:
    during = engine.settle(tianjin_claim(PLANTED_TIANJIN))
    before = engine.settle(tianjin_claim(PLANTED_TIANJIN), moment="before")
    after = engine.settle(tianjin_claim(PLANTED_TIANJIN), moment="after")
    assert after == during
    audit = {"duplicate_dispensing", "excess_supply", "contraindication", "duplicate_service"}
    for finding in before["findings"]:
        if finding["kind"] in audit:
            assert finding["action"] == "warn"
        else:  # catalogue rules are not audit hints: they still decide coverage
            assert finding["action"] != "warn"
    assert {line["line"] for line in before["lines"] if line["denied"] != "0.00"} == {5}


def quanzhou_claim(items: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    claim = {
        "id": "QZ-AUDIT",
        "region": "quanzhou",
        "person": {
            "id": "Q1",
            "scheme": "resident",
            "birth_date": "1955-01-01",
            "sex": "female",
            "certifications": [
                {
                    "condition": "hypertension",
                    "programme": "special_outpatient",
                    # made after the 2021-11-25 reform: QZ2021 三(五) asks its doctor's title
                    "since": "2022-01-10",
                    "doctor_title": "attending",
                }
            ],
        },
        "visit": {
            "type": "special_outpatient",
            "date": "2023-06-01",
            "hospital": {"id": "H9", "level": 2, "kind": "community"},
            "doctor": {"id": "D9", "title": "attending"},
            "diagnoses": ["I10.X00"],
        },
        "items": items,
        "history": {
            "dispensed": [
                {"code": "XC08CAA001A001010001001", "date": "2023-05-01", "days_supply": 40}
            ]
        },
    }
    claim.update(changes)
    return claim


def test_the_epidemic_window_allows_90_days(engine: Engine) -> None:
    items = [item(1, "XC08CAX047A001010001004", "drug", "90", "1.00", 90)]
    inside = quanzhou_claim(items, history={})
    inside["visit"]["date"] = "2023-01-07"
    outside = quanzhou_claim(items, history={})
    outside["visit"]["date"] = "2023-01-08"
    assert "excess_supply" not in {f["kind"] for f in engine.settle(inside)["findings"]}
    assert "excess_supply" in {f["kind"] for f in engine.settle(outside)["findings"]}


def test_planted_violations_in_quanzhou(engine: Engine) -> None:
    items = [
        # amlodipine (not the selected one): 61 days > 60 after the epidemic window;
        # the selected amlodipine dispensed 2023-05-01 for 40 days has 9 left > 7
        item(1, "XC08CAA001A001010001002", "drug", "61", "0.50", 61),
        item(2, "XC08CAX047A001010001004", "drug", "30", "1.00", 30),  # nifedipine: fine
    ]
    result = engine.settle(quanzhou_claim(items))
    assert kinds(result) == [
        (
            "prescriber_qualification",
            "reject",
            None,
        ),  # certified by an attending, after the 2021-11-25 reform
        ("excess_supply", "reject", 1),
        ("duplicate_dispensing", "reject", 1),
        ("non_selected_drug", "warn", 1),
    ]
    assert result["findings"][0]["source"]["quote"] == "由副主任医师以上(含副主任医师)作出诊断后"
    assert result["findings"][1]["source"]["clause"] == "三(八)"
    assert result["decision"] == "reject"


def test_a_clean_quanzhou_two_disease_claim(engine: Engine) -> None:
    claim = quanzhou_claim(
        [item(1, "XC08CAA001A001010001001", "drug", "60", "0.20", 60)],
        visit={
            "type": "two_disease",
            "date": "2023-03-01",
            "hospital": {"id": "H9", "level": 1, "kind": "community"},
            "doctor": {"id": "D9", "title": "attending"},
            "diagnoses": ["I10.X00"],
        },
    )
    claim["person"]["certifications"] = [
        {"condition": "hypertension", "programme": "two_disease", "since": "2023-03-01"}
    ]
    claim["history"] = {}
    result = engine.settle(claim)
    assert result["findings"] == [] and result["decision"] == "pay"
    assert result["totals"]["payers"]["fund"] == "6.00"  # 12.00 covered × 50%, no deductible
