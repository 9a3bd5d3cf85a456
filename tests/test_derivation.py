"""Composed figures show how they were built (issue 15.2): a ratio that is a sum of named
figures lists each with its own rule, clause and provenance, a `by level` says which level
was picked, the second layer lists what each band paid, and the year's figures say where
they come from — in the trace (both back ends alike), in text and in markdown.

The expected rules are found in the policy files by their `let`, not written here as line
numbers; the figures are the policy's own (Tianjin: resident inpatient 60% at a level-3
hospital, raised by 10 pt from 2019; 5 pt at level 2)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policyengine.contract.results import ResultDict
from policyengine.contract.steps import read_steps
from policyengine.engine import Engine
from policyengine.explain import render as explain

ROOT = Path(__file__).resolve().parents[1]
CLAIM: dict[str, Any] = json.loads(
    (ROOT / "examples" / "claim-inpatient.json").read_text(encoding="utf-8")
)


def let_location(file: str, name: str) -> str:
    """`tianjin/benefits.policy:51`: where `let name` is declared."""
    lines = (ROOT / "policies" / file).read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith(f"let {name} "))
    return f"{file}:{number}"


@pytest.fixture(scope="module")
def engines() -> tuple[Engine, Engine]:
    return Engine.load(), Engine.load(backend="interpreted")


def settled(engines: tuple[Engine, Engine], claim: dict[str, Any]) -> ResultDict:
    """The traced result, the same on both back ends."""
    compiled, interpreted = (engine.settle(claim, trace=True) for engine in engines)
    assert compiled == interpreted
    return compiled


def at_level(level: int, **history: Any) -> dict[str, Any]:
    claim: dict[str, Any] = copy.deepcopy(CLAIM)
    claim["visit"]["hospital"]["level"] = level
    claim["history"].update(history)
    return claim


@pytest.mark.parametrize(
    ("level", "base", "uplift", "total"), [(3, "60%", "10 pt", "70%"), (2, "70%", "5 pt", "75%")]
)
def test_a_sum_of_named_figures_lists_each_with_its_rule_and_source(
    engines: tuple[Engine, Engine], level: int, base: str, uplift: str, total: str
) -> None:
    result = settled(engines, at_level(level))
    ratio = read_steps(result).ratio
    assert ratio is not None
    derivation = ratio["composition"]
    assert derivation["written"] == "resident_inpatient_base + resident_inpatient_uplift"
    assert (derivation["level"], derivation["value"]) == (level, total)
    parts = {p["name"]: p for p in derivation["parts"]}
    assert list(parts) == ["resident_inpatient_base", "resident_inpatient_uplift"]
    base_part, uplift_part = parts.values()
    assert base_part["rule"] == let_location("tianjin/benefits.policy", "resident_inpatient_base")
    assert base_part["source"]["provenance"] == "provisional"
    assert (base_part["value"], base_part["written"]) == (base, "by level 80% / 70% / 60%")
    assert uplift_part["rule"] == let_location(
        "tianjin/benefits.policy", "resident_inpatient_uplift"
    )
    assert uplift_part["source"]["provenance"] == "cited"
    assert uplift_part["source"]["clause"] == "一(一)"
    assert "提高10个百分点" in uplift_part["source"]["quote"]
    assert uplift_part["value"] == uplift
    assert {p["depth"] for p in derivation["parts"]} == {1}
    for lang, picked in (("zh", f"(取 {level}级)"), ("en", f"(picked at level {level})")):
        doc = explain.build(CLAIM, result, lang)
        text = explain.render_text(doc, width=200, color=False)
        markdown = explain.render_markdown(doc)
        for shown in (text, markdown):
            assert (
                f"resident_inpatient_base + resident_inpatient_uplift → {total} {picked}" in shown
            )
            assert base_part["rule"] in shown and uplift_part["rule"] in shown
            assert f"{uplift} = by level 0 pt / 5 pt / 10 pt" in shown


def test_a_band_rate_built_from_figures_lists_them(engines: tuple[Engine, Engine]) -> None:
    step = read_steps(settled(engines, CLAIM)).critical_illness
    assert step is not None
    parts = {p["name"]: p for p in step["composition"]["parts"]}
    ratio = parts["resident_critical_ratio"]
    assert ratio["rule"] == let_location(
        "tianjin/critical_illness.policy", "resident_critical_ratio"
    )
    assert (ratio["value"], ratio["source"]["provenance"]) == ("60%", "cited")
    assert parts["hardship_critical_points"]["value"] == "5 pt"
    assert step["composition"]["level"] is None  # nothing in the schedule differs by level


def test_the_second_layer_lists_what_each_band_paid(engines: tuple[Engine, Engine]) -> None:
    # a year's self-burden of 99,900 before a claim that brings it past 100,000: the claim's
    # self-burden is counted in two bands (the low-income person's: 65% then 65%)
    claim = at_level(3, self_burden={"inpatient": "99900"})
    step = read_steps(settled(engines, claim)).critical_illness
    assert step is not None
    figures = step["figures"]
    shares = figures["by_band"]
    before, burden = Decimal(figures["self_burden_before"]), Decimal(figures["self_burden"])
    assert before + burden > Decimal(100000) > before
    assert [(s["from"], s["to"]) for s in shares] == [
        ("10000.00", "100000.00"),
        ("100000.00", "200000.00"),
    ]
    assert sum(Decimal(s["self_burden"]) for s in shares) == burden
    assert Decimal(shares[0]["self_burden"]) == Decimal(100000) - before
    for share in shares:
        assert Decimal(share["paid"]) == (
            Decimal(share["self_burden"]) * Decimal(share["rate"])
        ).quantize(Decimal("0.01"))
    total = sum(Decimal(s["paid"]) for s in shares)
    assert abs(total - Decimal(figures["computed"])) <= Decimal("0.01")
    text = explain.render_text(explain.build(claim, settled(engines, claim), "en"), 200, False)
    for share in shares:
        assert f"{share['from']}–{share['to']}: {share['self_burden']} ×" in text


def test_a_plain_figure_and_a_by_level_pick(engines: tuple[Engine, Engine]) -> None:
    employee = copy.deepcopy(CLAIM)
    employee["person"].update(scheme="employee", status="working", groups=[])
    result = settled(engines, employee)
    steps = read_steps(result)
    assert steps.ratio is not None and steps.cap is not None
    # `by level 90% / 87% / 85%` of a working employee: no named figure, the pick shown
    ratio = steps.ratio["composition"]
    assert ratio["parts"] == [] and ratio["level"] == 3
    assert ratio["written"].startswith("by level ") and ratio["value"] == "85%"
    assert ratio["value"] == f"{Decimal(steps.ratio['value']) * 100:.0f}%"
    text = explain.render_text(explain.build(employee, result, "en"), 200, False)
    assert f"= {ratio['written']} → 85% (picked at level 3)" in text
    # a cap written as one figure: nothing more to show
    assert steps.cap["composition"]["parts"] == [] and steps.cap["composition"]["level"] is None


def test_the_years_figures_say_where_they_come_from(engines: tuple[Engine, Engine]) -> None:
    result = settled(engines, CLAIM)
    for lang, words in (("zh", "年内累计数来自申请所附历史"), ("en", "the claim's history")):
        text = explain.render_text(explain.build(CLAIM, result, lang), 200, False)
        assert text.count(words) == 2  # the annual cap's paid, the second layer's self-burden


FIGURES = ROOT / "tests" / "policies"


@pytest.mark.parametrize(("admissions", "deductible"), [(0, "1000.00"), (3, "700.00")])
def test_figures_of_the_claims_facts_show_the_facts_read_and_the_combination(
    admissions: int, deductible: str
) -> None:
    """An employee of 64 at a level-3 hospital (tests/policies/figures): the deductible
    reads the admission's rank, the ratio's age uplift reads the age, and the adjustments
    are summed at most 100% — explain shows each expression with the facts it read and
    what it came to, and the combination with its bound and rule, in both languages."""
    import yaml

    cases = yaml.safe_load((FIGURES / "figures" / "tests" / "inpatient.yaml").read_text("utf-8"))
    claim: dict[str, Any] = copy.deepcopy(cases["defaults"])
    claim["history"] = {"admissions": admissions}
    both = Engine.load(FIGURES), Engine.load(FIGURES, backend="interpreted")
    result = settled(both, claim)
    steps = read_steps(result)
    assert steps.deductible is not None and steps.ratio is not None
    found = steps.deductible["figures"]["derivation"]
    assert found["facts"] == {"admission_rank": admissions + 1} and found["value"] == deductible
    uplift = steps.ratio["figures"]["adjustments"][0]["derivation"]
    assert uplift["facts"] == {"age": 64}
    combination = steps.ratio["figures"]["combination"]
    for lang, summed, most in (
        ("en", "adjustments summed", "at most"),
        ("zh", "各项调整相加", "不超过"),
    ):
        doc = explain.build(claim, result, lang)
        for shown in (explain.render_text(doc, 200, False), explain.render_markdown(doc)):
            assert f"({'admission_rank'} = {admissions + 1}) → {deductible}" in shown
            assert f"{uplift['expression']} (age = 64) → 4 pt" in shown
            assert f"{summed} 4 pt → 89%; {most} 100%" in shown
            assert combination["rule"] in shown
            # the expression is not shown twice with the formula's internal form
            assert "at_level(" not in shown


def test_a_fund_ceiling_caps_and_a_remote_share_show_the_facts_they_read() -> None:
    """A person of 75 enrolled 2 years at a level-3 hospital (tests/policies/figures): the
    special-outpatient fund ceiling reads the age, the two-disease cap per visit the level
    and the age, the cap per day the enrolment, and (at 63) the filed remote outpatient
    share the age — each step states its derivation, alike on both back ends, and explain
    shows it in both languages."""
    import yaml

    cases = yaml.safe_load((FIGURES / "figures" / "tests" / "outpatient.yaml").read_text("utf-8"))
    claim: dict[str, Any] = copy.deepcopy(cases["defaults"])
    claim["person"].update(birth_date="1948-06-01", enrolled_years=2)
    claim["visit"]["hospital"] = {"id": "H3", "level": 3, "kind": "general"}
    special = copy.deepcopy(claim)
    special["visit"]["type"] = "special_outpatient"
    two_disease = copy.deepcopy(claim)
    two_disease["visit"]["type"] = "two_disease"
    two_disease["history"] = {"paid_today": {"two_disease": "200.00"}}
    drug = {"line": 1, "code": "D001", "kind": "drug", "quantity": "100", "unit_price": "20.00"}
    two_disease["items"] = [{**drug, "amount": "2000.00", "days_supply": 30}]
    both = Engine.load(FIGURES), Engine.load(FIGURES, backend="interpreted")

    ceiling = settled(both, special)
    found = read_steps(ceiling).fund_ceiling
    assert found is not None
    assert found["figures"]["derivation"]["facts"] == {"age": 75}
    assert found["figures"]["ceiling"] == found["figures"]["derivation"]["value"] == "7000.00"
    capped = settled(both, two_disease)
    visit_cap, day_cap = read_steps(capped).period_caps
    assert visit_cap["figures"]["derivation"]["facts"] == {"age": 75, "level": 3}
    assert visit_cap["figures"]["cap"] == "350.00"
    assert day_cap["figures"]["derivation"]["facts"] == {"enrolled_years": 2}
    assert (day_cap["figures"]["cap"], day_cap["value"]) == ("340.00", "140.00")
    remote = copy.deepcopy(claim)
    remote["person"]["birth_date"] = "1960-06-01"  # 63: a share of 5%
    remote["visit"].update(place="out_of_province", filed=True)
    shared = settled(both, remote)
    (share,) = read_steps(shared).extra_pre_self_pay
    assert share["derivation"] == {
        "expression": "5% × (1 - min(1, floor(age ÷ 70)))",
        "facts": {"age": 63},
        "value": "0.05",
    }
    assert (share["rate"], share["value"]) == ("0.05", "60.00")
    for lang in ("en", "zh"):
        for raw, result, shown in (
            (remote, shared, "(age = 63) → 5%"),
            (special, ceiling, "(age = 75) → 7000.00"),
            (two_disease, capped, "(age = 75, level = 3) → 350.00"),
            (two_disease, capped, "(enrolled_years = 2) → 340.00"),
        ):
            doc = explain.build(raw, result, lang)
            for text in (explain.render_text(doc, 200, False), explain.render_markdown(doc)):
                assert shown in text
