"""The settlement constructs of tests/policies/payments beyond what a YAML case states: the
batch ledger of a second layer whose base includes the pre-self-pay, and the trace's account
of the second layer band by band and of remote care's extra pre-self-pay, alike on both back
ends (the YAML cases there hold the money on both)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from policyengine.contract.steps import read_steps
from policyengine.engine import Engine
from policyengine.ledger import settle_person
from policyengine.prepared import BACKENDS, LedgerRules
from tests.support import ROOT

PAYMENTS = ROOT / "tests" / "policies" / "payments"

INPATIENT: dict[str, Any] = {
    "id": "PM-1",
    "region": "payments",
    "person": {
        "id": "P1",
        "scheme": "employee",
        "status": "working",
        "birth_date": "1960-05-02",
        "sex": "male",
    },
    "visit": {
        "type": "inpatient",
        "date": "2024-03-20",
        "admitted": "2024-03-10",
        "hospital": {"id": "H3", "level": 3, "kind": "general"},
        "doctor": {"id": "D1", "title": "chief"},
        "diagnoses": ["K80.200"],
    },
    "items": [
        {
            "line": 1,
            "code": "S001",
            "kind": "service",
            "quantity": "1",
            "unit_price": "30000.00",
            "amount": "30000.00",
        },
        {
            "line": 2,
            "code": "D002",
            "kind": "drug",
            "quantity": "1",
            "unit_price": "10000.00",
            "amount": "10000.00",
            "days_supply": 5,
        },
    ],
}


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    return Engine.load(PAYMENTS, backend=request.param)


def test_the_ledger_counts_the_pre_self_pay_where_the_second_layer_does(engine: Engine) -> None:
    """Each claim: covered 39000, deductible 1000, fund 30400, pre-self-pay 1000, so s = 9600.
    The second claim reads S = 9600 (8600 were the pre-self-pay left out): F(19200) − F(9600) =
    (19200 − 10000) × 50% = 4600.00."""
    policy = engine.policy("payments")
    assert policy.ledger == LedgerRules((1, 1), True)
    second = copy.deepcopy(INPATIENT)
    second["id"], second["visit"]["date"] = "PM-2", "2024-05-20"
    settled = list(
        settle_person(
            enumerate([INPATIENT, second]),
            lambda claim: engine.settle(claim, trace=True),
            rules_of=lambda _claim: policy.ledger,
        )
    )
    first, then = (s.result for s in settled)
    assert first is not None and then is not None
    assert first["totals"]["payers"]["critical_illness"] == "0.00"
    assert then["totals"]["payers"]["critical_illness"] == "4600.00"
    figures = read_steps(then).critical_illness
    assert figures is not None
    assert figures["figures"]["self_burden_before"] == "9600.00"
    assert figures["figures"].get("pre_self_pay") == "1000.00"
    assert figures["figures"].get("by_band") == [
        {
            "from": "10000.00",
            "to": "50000.00",
            "rate": "0.5",
            "self_burden": "9200.00",
            "paid": "4600.00",
        }
    ]


def test_the_bands_paid_add_up_to_the_payment_before_its_rounding(engine: Engine) -> None:
    claim = copy.deepcopy(INPATIENT)
    claim["history"] = {"self_burden": {"inpatient": "45000.00"}}
    step = read_steps(engine.settle(claim, trace=True)).critical_illness
    assert step is not None
    bands = step["figures"].get("by_band", [])
    paid = sum(Decimal(band["paid"]) for band in bands)
    assert paid == Decimal(step["figures"]["computed"]) == Decimal("5720.00")
    assert [band["to"] for band in bands] == ["50000.00", None]


def test_remote_care_states_each_lines_share_in_its_own_step(engine: Engine) -> None:
    claim = copy.deepcopy(INPATIENT)
    claim["visit"].update(place="out_of_province", filed=False)
    result = engine.settle(claim, trace=True)
    steps = read_steps(result)
    (extra,) = steps.extra_pre_self_pay
    # line 1: 30000 × 20% = 6000.00; line 2: (10000 − 1000) × 20% = 1800.00
    assert [(s["line"], s["base"], s["value"]) for s in extra["lines"]] == [
        (1, "30000.00", "6000.00"),
        (2, "9000.00", "1800.00"),
    ]
    assert (extra["table"], extra["rate"], extra["value"]) == ("remote", "0.2", "7800.00")
    assert result["totals"]["pre_self_pay"] == "8800.00"
    kinds = [s["step"] for s in steps.all]
    assert kinds.index("extra_pre_self_pay") == kinds.index("deductible") - 1  # after the lines
    assert extra["rule"].startswith("payments/remote.policy:")


SPECIAL: dict[str, Any] = {
    "id": "PM-S-1",
    "region": "payments",
    "person": {"id": "P2", "scheme": "resident", "birth_date": "1955-05-02", "sex": "female"},
    "visit": {
        "type": "special_outpatient",
        "date": "2024-04-08",
        "hospital": {"id": "H2", "level": 2, "kind": "general"},
        "doctor": {"id": "D1", "title": "attending"},
        "diagnoses": ["I10"],
    },
    "items": [
        {
            "line": 1,
            "code": "S001",
            "kind": "service",
            "quantity": "1",
            "unit_price": "1000.00",
            "amount": "1000.00",
        }
    ],
}


def test_the_ledger_keeps_what_the_fund_paid_on_the_day_for_caps_per_day(engine: Engine) -> None:
    """Each visit: (1000 − 50) × 70% = 665.00, at most 200.00 a visit (level 2) and 500.00 a
    day. Three visits on 8 April: 200, 200, then 500 − 400 = 100; on 9 April afresh 200."""
    policy = engine.policy("payments")
    claims = []
    for index, date in enumerate(("2024-04-08", "2024-04-08", "2024-04-08", "2024-04-09")):
        claim = copy.deepcopy(SPECIAL)
        claim["id"], claim["visit"]["date"] = f"PM-S-{index}", date
        claims.append(claim)
    settled = list(
        settle_person(
            enumerate(claims),
            lambda claim: engine.settle(claim, trace=True),
            rules_of=lambda _claim: policy.ledger,
        )
    )
    funds = [s.result["totals"]["payers"]["fund"] for s in settled if s.result is not None]
    assert funds == ["200.00", "200.00", "100.00", "200.00"]
    third = settled[2].result
    assert third is not None
    day = [s for s in read_steps(third).period_caps if s["period"] == "day"]
    assert [(s["figures"]["paid"], s["figures"]["left"]) for s in day] == [("400.00", "100.00")]


def test_a_claims_paid_today_is_read_alike_by_the_fast_path_and_the_models() -> None:
    from policyengine.contract.claims import Claim
    from policyengine.contract.fastclaim import fast_claim, from_model

    claim = copy.deepcopy(SPECIAL)
    claim["history"] = {"paid_today": {"special_outpatient": "350.00"}}
    fast = fast_claim(claim)
    assert fast is not None and fast == from_model(Claim.model_validate(claim))
    assert fast.history.paid_today == {"special_outpatient": Decimal("350.00")}


def test_a_catalogue_category_is_a_word_in_an_optional_column() -> None:
    from policyengine.catalogue import COLUMNS, load_catalogue
    from policyengine.diagnostics import Diagnostics

    header = ",".join((*COLUMNS, "category"))
    empty = "," * (len(COLUMNS) - 6)
    text = (
        f"{header}\nM1,植入,imp,material,B,0.2{empty},implant\nM2,坏,bad,material,A,{empty},植入\n"
    )
    diags = Diagnostics()
    items = load_catalogue(text, "c.csv", diags)
    assert items["M1"].category == "implant" and "M2" not in items
    (problem,) = diags.sorted()
    column = text.split("\n")[2].rindex(",") + 2  # the category cell, 1-based
    assert (problem.code, problem.span.line, problem.span.col) == ("I001", 3, column)
    assert "catalogue column `category`" in problem.message
    without = load_catalogue(
        ",".join(COLUMNS) + "\nS1,诊查,exam,service,A" + "," * 17, "d.csv", Diagnostics()
    )
    assert without["S1"].category == ""


def test_a_ceiling_holds_the_lines_proportion_and_names_its_row(engine: Engine) -> None:
    """A special-outpatient claim (../outpatient.policy: `pre_self_pay ceiling`, drugs at most
    15%): the drug listed at 20% is held at 15% and its line names the ceiling's row and
    note; the drug listed at 5% keeps the catalogue's; a 乙类 material is not bounded."""
    rules = (PAYMENTS / "outpatient.policy").read_text("utf-8").splitlines()
    ceiling = next(i for i, line in enumerate(rules, 2) if line.startswith("pre_self_pay ceil"))
    items = [
        ("D003", "drug", "200.00", "0.15", f"payments/outpatient.policy:{ceiling + 1}"),
        ("D004", "drug", "100.00", "0.05", "payments/catalogue.csv:"),
        ("M003", "material", "100.00", "0.2", "payments/catalogue.csv:"),
    ]
    claim = {
        **INPATIENT,
        "visit": {**INPATIENT["visit"], "type": "special_outpatient"},
        "items": [
            {"line": n, "code": c, "kind": k, "quantity": "1", "unit_price": a, "amount": a}
            for n, (c, k, a, _p, _r) in enumerate(items, 1)
        ],
    }
    del claim["visit"]["admitted"]
    result = engine.settle(claim, trace=True)
    lines = read_steps(result).lines
    for step, (_code, _kind, _amount, proportion, rule) in zip(lines, items, strict=True):
        assert Decimal(step["selfpay"] or "") == Decimal(proportion)
        assert (step["selfpay_rule"] or "").startswith(rule)
    assert lines[0]["selfpay_source"] is not None
    assert lines[0]["selfpay_source"]["provenance"] == "provisional"
    assert any("门特乙类药品自付比例不超过15%" in note for note in result["provisional"])
    assert [line["pre_self_pay"] for line in result["lines"]] == ["30.00", "5.00", "20.00"]


def test_a_ceiling_no_catalogue_proportion_exceeds_is_listed_apart() -> None:
    """Weihai's ceiling (10% for severe mental disorder) holds no drug of the bundled
    catalogue: `policyengine test` lists its row as unreachable, not as missed."""
    from policyengine.compile.module import UNREACHABLE_CEILING

    policy = Engine.load().policy("weihai")
    entries = [e for e in policy.inventory if "pre_self_pay ceiling" in e["what"]]
    assert [e.get("unreachable") for e in entries] == [UNREACHABLE_CEILING]
