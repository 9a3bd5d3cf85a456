"""policyengine diff on the settlement constructs of issue 16: each change attributed to its row.

A test policy (tests/policies/payments, tests/policies/figures) is copied, one figure of one
construct is changed, and the same claims are diffed on both back ends (tests/test_diff.py's
`diff`, which also asserts that every claim was decomposed and that the parts reconcile). The
expected changes are worked by hand from the rule files, the arithmetic in a comment.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policyengine.diff.compare import DiffOptions, run_diff
from policyengine.diff.render import render_table
from policyengine.diff.schema import validate
from policyengine.diff.source import Version
from policyengine.engine import Engine
from tests.support import ROOT
from tests.test_diff import diff, english_in_chinese, rows, total, write

TEST_POLICIES = ROOT / "tests" / "policies"


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compile each policy (the copies and their edits) once for the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLICYENGINE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


def copied(root: Path, name: str, file: str, *edits: tuple[str, str]) -> Path:
    """tests/policies/NAME copied under root/ (without its cases), `edits` made in FILE."""
    target = root / name
    shutil.copytree(TEST_POLICIES / name, target, ignore=shutil.ignore_patterns("tests"))
    path = target / file
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return target


def row_of(policy: Path, file: str, start: str) -> str:
    """`NAME/FILE:N` of the line of the copied policy starting (indent aside) with `start`."""
    lines = (policy / file).read_text(encoding="utf-8").splitlines()
    number = next(i for i, text in enumerate(lines, 1) if text.strip().startswith(start))
    return f"{policy.name}/{file}:{number}"


def claim(
    cid: str,
    region: str,
    visit: dict[str, Any],
    items: list[tuple[str, str, str]],
    *,
    person: dict[str, Any] | None = None,
    history: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A claim of `region`; items as (code, kind, amount), one unit each."""
    return {
        **({"history": history} if history else {}),
        "id": cid,
        "region": region,
        "person": {
            "id": "P1",
            "scheme": "employee",
            "status": "working",
            "birth_date": "1970-01-01",
            "sex": "female",
            **(person or {}),
        },
        "visit": {
            "date": "2024-04-08",
            "hospital": {"id": "H2", "level": 2, "kind": "general"},
            "doctor": {"id": "D1", "title": "attending"},
            "diagnoses": ["I10"],
            **visit,
        },
        "items": [
            {
                "line": n,
                "code": code,
                "kind": kind,
                "quantity": "1",
                "unit_price": amount,
                "amount": amount,
                **({"days_supply": 5} if kind == "drug" else {}),
            }
            for n, (code, kind, amount) in enumerate(items, start=1)
        ],
    }


def change(fund: str, critical_illness: str = "0.00", denied: str = "0.00") -> dict[str, str]:
    """A change as the report writes it, patients paying the payers' opposite."""
    payers = sum(map(float, (fund, critical_illness)))
    patient = -payers - float(denied)
    return {
        "fund": fund,
        "critical_illness": critical_illness,
        "payers": f"{payers:.2f}",
        "patient": f"{patient:.2f}" if patient else "0.00",
        "denied": denied,
    }


def step_of(report: dict[str, Any], rule: str) -> str:
    return str(next(r["step"] for r in report["attribution"]["by_rule"] if r["rule"] == rule))


# ------------------------------------------------------------------ the ratio's combination


def test_the_bound_of_combined_adjustments_goes_to_the_combination_row(tmp_path: Path) -> None:
    base = copied(tmp_path / "base", "figures", "benefits.policy")
    amended = copied(
        tmp_path / "amended",
        "figures",
        "benefits.policy",
        ("adjustments sum, at most 100%\n", "adjustments sum, at most 95%\n"),
    )
    bound = row_of(amended, "benefits.policy", "adjustments sum, at most 95%")
    inpatient = {"type": "inpatient", "hospital": {"id": "H1", "level": 1, "kind": "general"}}
    claims = [
        # born 1930, 94 at the visit, level 1, low income: 92% + 10 pt + 5 pt = 107%, held at
        # 100% → 95%; deductible 300 (level 1); 9700 × 100% = 9700.00 → × 95% = 9215.00
        claim(
            "HELD",
            "figures",
            inpatient,
            [("S001", "service", "10000.00")],
            person={"birth_date": "1930-01-01", "groups": ["low_income"]},
        ),
        # born 1970, 54: 92% + 2 pt = 94%, under either bound: unchanged
        claim("UNDER", "figures", inpatient, [("S001", "service", "10000.00")]),
    ]
    report = diff(tmp_path, claims, base, amended)
    assert rows(report) == {bound: change("-485.00")}
    assert step_of(report, bound) == "ratio_bounds"
    assert report["claims"]["changed"] == 1 and total(report, "fund")["change"] == "-485.00"
    assert english_in_chinese(report) == []


def test_two_adjustments_changed_at_once_are_each_attributed_to_their_row(tmp_path: Path) -> None:
    base = copied(tmp_path / "base", "figures", "benefits.policy")
    amended = copied(
        tmp_path / "amended",
        "figures",
        "benefits.policy",
        ("=> 2 pt × max(0, floor", "=> 3 pt × max(0, floor"),
        ("low_income => 5 pt", "low_income => 3 pt"),
    )
    age = row_of(amended, "benefits.policy", "adjust age_uplift")
    hardship = row_of(amended, "benefits.policy", "adjust hardship")
    # born 1970, 54 at the visit, level 1, low income: 92% + 2 pt + 5 pt = 99% → 92% + 3 pt +
    # 3 pt = 98%; deductible 300 (level 1), 9700 entering: each point is 97.00 — the age uplift
    # +1 pt (+97.00), the hardship −2 pt (−194.00); the two parts sum to the claim's −97.00
    both = _low_income_stay("BOTH")
    report = diff(tmp_path, [both], base, amended)
    assert rows(report) == {age: change("97.00"), hardship: change("-194.00")}
    assert step_of(report, age) == step_of(report, hardship) == "ratio_adjustment"
    assert total(report, "fund")["change"] == "-97.00"
    assert english_in_chinese(report) == []


def test_an_adjustment_gone_while_another_changes_goes_to_the_base_row(tmp_path: Path) -> None:
    base = copied(tmp_path / "base", "figures", "benefits.policy")
    hardship = row_of(base, "benefits.policy", "adjust hardship")
    amended = copied(
        tmp_path / "amended",
        "figures",
        "benefits.policy",
        ("=> 2 pt × max(0, floor", "=> 3 pt × max(0, floor"),
        (
            "  adjust hardship: when group low_income => 5 pt\n"
            '    provisional "测试:低保对象提高5个百分点"\n',
            "",
        ),
    )
    age = row_of(amended, "benefits.policy", "adjust age_uplift")
    # 92% + 2 pt + 5 pt = 99% → 92% + 3 pt = 95%; 9700 entering, each point 97.00: the amended
    # rows first — the age uplift +1 pt (+97.00, to 100%, the bound not reached) — then the
    # row gone from the base, named at its base line: hardship −5 pt (−485.00); sum −388.00
    both = _low_income_stay("GONE")
    report = diff(tmp_path, [both], base, amended)
    assert rows(report) == {age: change("97.00"), hardship: change("-485.00")}
    assert step_of(report, age) == step_of(report, hardship) == "ratio_adjustment"
    assert total(report, "fund")["change"] == "-388.00"
    assert english_in_chinese(report) == []


def test_how_adjustments_combine_goes_to_the_combination_row(tmp_path: Path) -> None:
    base = copied(tmp_path / "base", "figures", "benefits.policy")
    amended = copied(
        tmp_path / "amended",
        "figures",
        "benefits.policy",
        ("adjustments largest\n", "adjustments sum, at most 82%\n"),
    )
    rule = row_of(amended, "benefits.policy", "adjustments sum, at most 82%")
    # special outpatient, no deductible, 70%; low income 5 pt and severely disabled 10 pt: the
    # largest, 80% → summed, 85%, and held at 82%. 1200 × 80% = 960.00 → 1200 × 85% = 1020.00
    # (+60.00, how they combine) → 1200 × 82% = 984.00 (−36.00, the bound): both the same row
    special = claim(
        "SP",
        "figures",
        {"type": "special_outpatient"},
        [("S001", "service", "1200.00")],
        person={"groups": ["low_income", "severely_disabled"]},
    )
    report = diff(tmp_path, [special], base, amended)
    by_step = {r["step"]: r for r in report["attribution"]["by_rule"]}
    assert set(by_step) == {"ratio_combination", "ratio_bounds"}
    assert by_step["ratio_combination"]["rule"] == by_step["ratio_bounds"]["rule"] == rule
    assert by_step["ratio_combination"]["change"] == change("60.00")
    assert by_step["ratio_bounds"]["change"] == change("-36.00")
    assert total(report, "fund")["change"] == "24.00"


# ------------------------------------------------------------------ fund ceiling, caps


def test_a_fund_ceiling_change_goes_to_its_row(
    tmp_path: Path,
) -> None:
    base = copied(tmp_path / "base", "payments", "outpatient.policy")
    amended = copied(
        tmp_path / "amended",
        "payments",
        "outpatient.policy",
        ("always => 1000 元 provisional", "always => 1500 元 provisional"),
    )
    ceiling = row_of(amended, "outpatient.policy", "always => 1500 元")
    two_disease = {"type": "two_disease"}
    claims = [
        # 800 entered before: 1000 − 800 = 200 enters → 1500 − 800 = 700 (all 400 enter):
        # 200 × 50% = 100.00 → 400 × 50% = 200.00
        claim(
            "PART",
            "payments",
            two_disease,
            [("D001", "drug", "400.00")],
            history={"pooled": {"two_disease": "800.00"}},
        ),
    ]
    report = diff(tmp_path, claims, base, amended)
    assert rows(report) == {ceiling: change("100.00")}
    assert step_of(report, ceiling) == "fund_ceiling"
    assert english_in_chinese(report) == []


def test_caps_per_visit_and_per_day_go_to_their_rows_and_the_days_paid_to_the_ledger(
    tmp_path: Path,
) -> None:
    base = copied(tmp_path / "base", "payments", "outpatient.policy")
    amended = copied(
        tmp_path / "amended",
        "payments",
        "outpatient.policy",
        ("by level 300 元 / 200 元 / 100 元", "by level 300 元 / 250 元 / 100 元"),
    )
    visit_cap = row_of(amended, "outpatient.policy", "always => by level 300 元 / 250 元")
    special = {"type": "special_outpatient"}
    # three visits on one day, each (1000 − 50) × 70% = 665.00; the day's cap 500.
    # Base: 200 (visit cap), 200, then 500 − 400 = 100. Amended: 250, 250, then 500 − 500 = 0.
    # The third: the visit cap adds nothing under the base's 400 paid that day (100 left
    # either way); the day's 100 more paid before takes −100.00 (the ledger).
    claims = [
        claim(f"V{n}", "payments", special, [("S001", "service", "1000.00")]) for n in (1, 2, 3)
    ]
    report = diff(tmp_path, claims, base, amended)
    assert rows(report) == {
        visit_cap: change("100.00"),
        "ledger:cap_per_day_paid": change("-100.00"),
    }
    assert step_of(report, visit_cap) == "cap_per_visit"
    assert total(report, "fund")["change"] == "0.00" and report["claims"]["changed"] == 3
    assert english_in_chinese(report) == []

    day = copied(
        tmp_path / "day",
        "payments",
        "outpatient.policy",
        ("always => 500 元 provisional", "always => 600 元 provisional"),
    )
    day_cap = row_of(day, "outpatient.policy", "always => 600 元")
    # 350 paid that day before: 500 − 350 = 150.00 → 600 − 350 = 250, the visit cap 200.00
    earlier = claim(
        "D",
        "payments",
        special,
        [("S001", "service", "1000.00")],
        history={"paid_today": {"special_outpatient": "350.00"}},
    )
    report = diff(tmp_path, [earlier], base, day)
    assert rows(report) == {day_cap: change("50.00")}
    assert step_of(report, day_cap) == "cap_per_day"


# ------------------------------------------------------------------ second layer, remote share


def test_the_second_layers_base_goes_to_the_second_layer_row(tmp_path: Path) -> None:
    base = copied(tmp_path / "base", "payments", "inpatient.policy")
    amended = copied(
        tmp_path / "amended",
        "payments",
        "inpatient.policy",
        ('  base includes pre_self_pay\n    provisional "测试:大病保险的个人负担含先行自付"\n', ""),
    )
    second = row_of(amended, "inpatient.policy", "always => bands")
    # S001 30000 + D002 10000 (10% pre-self-pay 1000): covered 39000, fund 38000 × 80% =
    # 30400.00; S 5000 before: self-burden 9600 with the pre-self-pay, 8600 without:
    # (14600 − 10000) × 50% = 2300.00 → (13600 − 10000) × 50% = 1800.00
    stay = claim(
        "IP",
        "payments",
        {"type": "inpatient", "admitted": "2024-04-01"},
        [("S001", "service", "30000.00"), ("D002", "drug", "10000.00")],
        history={"self_burden": {"inpatient": "5000.00"}},
    )
    report = diff(tmp_path, [stay], base, amended)
    assert rows(report) == {second: change("0.00", "-500.00")}
    assert step_of(report, second) == "second_layer_base"
    assert english_in_chinese(report) == []


def test_a_remote_share_goes_to_its_row_line_by_line(tmp_path: Path) -> None:
    base = copied(tmp_path / "base", "payments", "remote.policy")
    amended = copied(
        tmp_path / "amended",
        "payments",
        "remote.policy",
        ("filed no => 20%", "filed no => 25%"),
    )
    remote = row_of(amended, "remote.policy", "unfiled:")
    # unfiled out of the province: S001 200 → share 40.00 (20%) → 50.00 (25%); D002 100, 10%
    # pre-self-pay 10, share of 90: 18.00 → 22.50. Covered 232.00 → 217.50; ratio 60% − 10 pt;
    # fund (232 − 100) × 50% = 66.00 → (217.50 − 100) × 50% = 58.75: −7.25 over two lines
    away = claim(
        "R",
        "payments",
        {"type": "outpatient", "place": "out_of_province", "filed": False},
        [("S001", "service", "200.00"), ("D002", "drug", "100.00")],
        person={"scheme": "resident", "status": None},
    )
    report = diff(tmp_path, [away], base, amended)
    by_detail = {r["detail"]: r for r in report["attribution"]["by_rule"]}
    assert set(by_detail) == {"异地就医先行自付 share of S001", "异地就医先行自付 share of D002"}
    assert {r["rule"] for r in by_detail.values()} == {remote}
    assert by_detail["异地就医先行自付 share of S001"]["change"]["fund"] == "-5.00"
    assert by_detail["异地就医先行自付 share of D002"]["change"]["fund"] == "-2.25"
    assert total(report, "fund")["change"] == "-7.25"
    assert english_in_chinese(report) == []


# ------------------------------------------------------------------ what still falls back


def test_per_category_ratios_fall_back_to_the_category_row_with_a_note(tmp_path: Path) -> None:
    base = copied(tmp_path / "base", "payments", "inpatient.policy")
    amended = copied(
        tmp_path / "amended",
        "payments",
        "inpatient.policy",
        ("when category implant => 50%", "when category implant => 40%"),
    )
    implant = row_of(amended, "inpatient.policy", "implant:")
    # S001 6000 (80%) and the implant M001 5000 (20% pre-self-pay: covered 4000, 50% → 40%):
    # covered 10000, the deductible 1000 shared pro rata: 600 and 400. Fund 5400 × 80% +
    # 3600 × 50% = 6120.00 → 5400 × 80% + 3600 × 40% = 5760.00
    stay = claim(
        "CAT",
        "payments",
        {"type": "inpatient", "admitted": "2024-04-01"},
        [("S001", "service", "6000.00"), ("M001", "material", "5000.00")],
    )
    report = run_diff(
        Version(Engine.load(base), None, "base"),
        Version(Engine.load(amended), None, "amended"),
        DiffOptions(write(tmp_path / "claims.jsonl", [stay])),
    )
    validate(report)
    attribution = report["attribution"]
    assert attribution["reconciled"] and attribution["not_decomposed"]["claims"] == 1
    (note,) = attribution["not_decomposed"]["examples"]
    assert "per-category ratios" in note["note"]
    assert rows(report) == {implant: change("-360.00")}
    (row,) = attribution["by_rule"]
    assert row["detail"] == "ratio of category implant"
    assert "not decomposed" in render_table(report)


def _low_income_stay(claim_id: str) -> dict[str, Any]:
    """A low-income employee's 10,000.00 level-1 inpatient stay under the `figures` policy."""
    inpatient = {"type": "inpatient", "hospital": {"id": "H1", "level": 1, "kind": "general"}}
    return claim(
        claim_id,
        "figures",
        inpatient,
        [("S001", "service", "10000.00")],
        person={"groups": ["low_income"]},
    )
