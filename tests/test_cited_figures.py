"""The number check (check/numbers.py): every cited figure is a number its quote states.

The exact diagnostics (C007, C009) are planted in a small city whose held document states
money, ratios, points and months in Arabic and Chinese numerals; then every cited figure of
the bundled policies is mutated (×10, +1, its unit swapped) and each mutation must be caught
at the figure itself.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from rulefuzz import copy_policies

from policyengine import Engine
from policyengine.check import CheckResult, check
from policyengine.check.quoted import numbers_in
from policyengine.diagnostics import Diagnostic, render
from policyengine.explain import render as explain
from tests.support import city_directory

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "policies"

HEADER = """\
policy city "测试市基本医疗保险" {
  uses national
  effective from 2020-01-01
    provisional "测试用起始日期"
}

source DOC {
  title "测试市基本医疗保险办法"
  file "sources/doc.md"
}

source GUIDE {
  title "未持有的指导意见"
}
"""

DOCUMENT = """\
测试市基本医疗保险办法

一、待遇标准
(一)门诊
1.职工普通门诊起付线为800元,最高支付限额由5500元提高至7500元。
2.普通门诊支付比例为60%,困难人员提高5个百分点。
(二)住院
1.住院最高支付限额由35万元调至45万元。
2.居民住院报销比例三级医院提高10个百分点、二级医院提高5个百分点。
二、用药管理
对病情稳定的患者可开具2个月长处方用药量,疫情防控期间可放宽至三个月。
"""

Check = Callable[..., CheckResult]


@pytest.fixture
def city(tmp_path: Path) -> Check:
    """Write `rules` as city/rules.policy beside the header, the held document and national;
    check the city."""

    def run(rules: str, document: str = DOCUMENT) -> CheckResult:
        return check(city_directory(tmp_path, HEADER, rules, document))

    return run


def only(result: CheckResult) -> Diagnostic:
    assert len(result.diagnostics) == 1, [d.headline() for d in result.diagnostics]
    return result.diagnostics[0]


def facts(diagnostic: Diagnostic) -> tuple[str, str, str, str | None]:
    return diagnostic.code, str(diagnostic.span), diagnostic.message, diagnostic.hint


def figures(result: CheckResult) -> list[tuple[str, str, str | None]]:
    return [(f.location, f.figure, f.derived) for f in result.cited_figures]


# ------------------------------------------------------------------ C007, exact


def test_a_tenfold_figure_is_caught_with_the_quotes_numbers(city: Check) -> None:
    rules = 'let outpatient_cap = 75000 元\n  cite DOC 一(一)1 "最高支付限额由5500元提高至7500元"\n'
    result = city(rules)
    assert facts(only(result)) == (
        "C007",
        "city/rules.policy:1:22",
        "cited figure `75000 元` is not a number of its quote, which states 5500元, 7500元",
        "did you mean `7500 元`? (the quote states 7500元)",
    )
    assert render(only(result), result.texts) == (
        "city/rules.policy:1:22: error[C007]: cited figure `75000 元` is not a number of its "
        "quote, which states 5500元, 7500元\n"
        "  1 | let outpatient_cap = 75000 元\n"
        "    |                      ^^^^^^^^\n"
        "  city/rules.policy:2:3: note: the quote of DOC 一(一)1\n"
        '  2 |   cite DOC 一(一)1 "最高支付限额由5500元提高至7500元"\n'
        "    |   " + "^" * 51 + "\n"
        "  = help: did you mean `7500 元`? (the quote states 7500元)"
    )


def test_a_figure_the_quote_does_not_state(city: Check) -> None:
    rules = 'let outpatient_deductible = 400 元\n  cite DOC 一(一)1 "职工普通门诊起付线为800元"\n'
    assert facts(only(city(rules))) == (
        "C007",
        "city/rules.policy:1:29",
        "cited figure `400 元` is not a number of its quote, which states 800元",
        "did you mean `800 元`? (the quote states 800元)",
    )


def test_yuan_for_wan_yuan(city: Check) -> None:
    rules = 'let inpatient_cap = 35 元\n  cite DOC 一(二)1 "住院最高支付限额由35万元调至45万元"\n'
    assert facts(only(city(rules))) == (
        "C007",
        "city/rules.policy:1:21",
        "cited figure `35 元` is not a number of its quote, which states 35万元 (350000元), "
        "45万元 (450000元)",
        "did you mean `35 万元`? (the quote states 35万元)",
    )


def test_a_ratio_for_percentage_points(city: Check) -> None:
    rules = 'let hardship = 5%\n  cite DOC 一(一)2 "困难人员提高5个百分点"\n'
    assert facts(only(city(rules))) == (
        "C007",
        "city/rules.policy:1:16",
        "cited figure `5%` is not a number of its quote, which states 5个百分点",
        "did you mean `5 pt`? (the quote states 5个百分点)",
    )


def test_points_for_a_ratio(city: Check) -> None:
    rules = 'let outpatient_ratio = 60 pt\n  cite DOC 一(一)2 "普通门诊支付比例为60%"\n'
    assert facts(only(city(rules))) == (
        "C007",
        "city/rules.policy:1:24",
        "cited figure `60 pt` is not a number of its quote, which states 60%",
        "the quote's 60% is a ratio: write `60%`, or, if it means percentage points here, "
        'say so: `derived "60%即60个百分点"`',
    )


def test_months_are_not_days_unless_the_rule_says_so(city: Check) -> None:
    rules = 'let epidemic_days = 90 days\n  cite DOC 二 "疫情防控期间可放宽至三个月"\n'
    assert facts(only(city(rules))) == (
        "C007",
        "city/rules.policy:1:21",
        "cited figure `90 days` is not a number of its quote, which states 三个月 (3个月)",
        "a month is not a fixed number of days: if 三个月 counts as 90 days here, say so after "
        'the quote: `derived "三个月按90天计"`',
    )
    result = city(rules.replace('三个月"\n', '三个月" derived "三个月按90天计"\n'))
    assert result.diagnostics == ()
    assert figures(result) == [("city/rules.policy:1:21", "90 days", "三个月按90天计")]


def test_a_quote_alone_is_read_the_same_and_named_by_where_it_was_found(city: Check) -> None:
    result = city('let outpatient_cap = 7600 元\n  cite DOC "最高支付限额由5500元提高至7500元"\n')
    assert facts(only(result))[:3] == (
        "C007",
        "city/rules.policy:1:22",
        "cited figure `7600 元` is not a number of its quote, which states 5500元, 7500元",
    )
    assert [(r.message) for r in only(result).related] == ["the quote of DOC 一(一)1"]
    clean = city('let outpatient_cap = 7500 元\n  cite DOC "最高支付限额由5500元提高至7500元"\n')
    assert [(f.doc, f.clause) for f in clean.cited_figures] == [("DOC", "一(一)1")]


def test_a_quote_without_numbers(city: Check) -> None:
    rules = 'let cap = 7500 元\n  cite DOC 一(一)2 "困难人员提高"\n'
    assert facts(only(city(rules))) == (
        "C007",
        "city/rules.policy:1:11",
        "cited figure `7500 元` is not a number of its quote, which states no number",
        "quote the words that state the figure, or, if it follows from them, say how after the "
        'quote: `derived "…"`',
    )


def test_every_literal_of_a_by_level_list(city: Check) -> None:
    quote = "三级医院提高10个百分点、二级医院提高5个百分点"
    rules = f'let uplift = by level 0 pt / 5 pt / 10 pt\n  cite DOC 一(二)2 "{quote}"\n'
    assert facts(only(city(rules))) == (
        "C007",
        "city/rules.policy:1:23",
        "cited figure `0 pt` is not a number of its quote, which states 三级 (3), 10个百分点, "
        "二级 (2), 5个百分点",
        "correct the figure, or, if it follows from the quoted numbers, say how after the "
        'quote: `derived "…"`',
    )
    derived = city(rules.replace('分点"\n', '分点" derived "一级医院提高0个百分点"\n'))
    assert derived.diagnostics == ()
    assert figures(derived) == [
        ("city/rules.policy:1:23", "0 pt", "一级医院提高0个百分点"),
        ("city/rules.policy:1:30", "5 pt", None),
        ("city/rules.policy:1:37", "10 pt", None),
    ]


def test_the_literals_inside_a_function_or_a_sign_are_checked(city: Check) -> None:
    """`max(800 元, 700 元)`, `-6 pt` and the `1` of `at_level(…, level − 1)` are literals
    of the value its citation vouches for, as those of a sum or a product are."""
    rules = """\
let deductibles = by level 800 元 / 900 元 / 1000 元 provisional "测试"
deductible outpatient per year {
  always => max(800 元, 700 元) cite DOC 一(一)1 "职工普通门诊起付线为800元"
}
deductible inpatient per admission {
  always => at_level(deductibles, level − 2)
    cite DOC 一(二)2 "居民住院报销比例三级医院提高10个百分点、二级医院提高5个百分点"
}
ratio outpatient {
  always => 60% cite DOC 一(一)2 "普通门诊支付比例为60%"
  adjust hardship: when group low_income => -6 pt cite DOC 一(一)2 "困难人员提高5个百分点"
}
"""
    result = city(rules)
    assert [(d.code, str(d.span)) for d in result.diagnostics] == [
        ("C007", "city/rules.policy:3:24"),
        ("C007", "city/rules.policy:11:46"),
    ]
    assert ("city/rules.policy:6:43", "2", None) in figures(result)  # 二级医院 states 2


def test_a_derived_note_must_state_the_figure(city: Check) -> None:
    rules = """\
let uplift = by level 0 pt / 5 pt / 10 pt
  cite DOC 一(二)2 "三级医院提高10个百分点、二级医院提高5个百分点"
    derived "一级医院不提高"
"""
    assert facts(only(city(rules))) == (
        "C007",
        "city/rules.policy:1:23",
        "cited figure `0 pt` is neither a number of its quote (三级 (3), 10个百分点, 二级 (2), "
        "5个百分点) nor one its `derived` note states (一级 (1))",
        "correct the figure, or the `derived` note: it must state the figure it explains",
    )


# ------------------------------------------------------------------ C009, exact


def test_a_derived_note_with_nothing_derived(city: Check) -> None:
    rules = """\
let outpatient_cap = 7500 元
  cite DOC 一(一)1 "最高支付限额由5500元提高至7500元"
    derived "即7500元"
"""
    assert facts(only(city(rules))) == (
        "C009",
        "city/rules.policy:3:5",
        "nothing here is derived: every figure the citation covers is a number of its quote",
        'remove `derived "…"`',
    )


def test_a_derived_note_on_a_citation_of_no_figure(city: Check) -> None:
    rules = 'condition copd = J44\n  cite DOC 一(一)2 "普通门诊支付比例为60%" derived "60%"\n'
    assert facts(only(city(rules))) == (
        "C009",
        "city/rules.policy:2:33",
        "`derived` on a citation that covers no figure",
        "`derived` explains how a cited figure follows from its quote; remove it",
    )


def test_derived_follows_only_a_cite(city: Check) -> None:
    result = city('let cap = 7500 元 secondary GUIDE "7500元" derived "即7500元"\n')
    assert [d.code for d in result.diagnostics] == ["P001"]


# ------------------------------------------------------------------ which figures a citation covers


def test_a_named_figure_is_checked_at_its_let(city: Check) -> None:
    """`base + 5 pt` under a cite: the literal 5 pt is checked against the row's quote; `base`
    against its own `let`'s quote."""
    rules = """\
let base = 60%
  cite DOC 一(一)2 "普通门诊支付比例为60%"
ratio outpatient {
  always => base + 5 pt
    cite DOC 一(一)2 "困难人员提高5个百分点"
}
"""
    result = city(rules)
    assert result.diagnostics == ()
    assert figures(result) == [
        ("city/rules.policy:1:12", "60%", None),
        ("city/rules.policy:4:20", "5 pt", None),
    ]
    assert facts(only(city(rules.replace("base + 5 pt", "base + 6 pt"))))[:2] == (
        "C007",
        "city/rules.policy:4:20",
    )


def test_band_statements_with_their_own_provenance_are_theirs(city: Check) -> None:
    rules = """\
ratio inpatient {
  always => bands {
      band 0 元 to 350000 元 at 60%
      band above 350000 元 at 90% provisional "测试"
    }
    cite DOC 一(二)1 "住院最高支付限额由35万元调至45万元"
}
"""
    result = city(rules)
    assert [facts(d)[:3] for d in result.diagnostics] == [
        (
            "C007",
            "city/rules.policy:3:12",
            "cited figure `0 元` is not a number of its quote, which states 35万元 (350000元), "
            "45万元 (450000元)",
        ),
        (
            "C007",
            "city/rules.policy:3:31",
            "cited figure `60%` is not a number of its quote, which states 35万元 (350000元), "
            "45万元 (450000元)",
        ),
    ]
    assert figures(result) == [("city/rules.policy:3:19", "350000 元", None)]


def test_a_rule_parameter_takes_the_rules_citation(city: Check) -> None:
    rules = """\
audit duplicate_dispensing cite DOC 二 "可开具2个月长处方用药量" {
  action reject
  tolerance 3 days
}
"""
    assert facts(only(city(rules)))[:3] == (
        "C007",
        "city/rules.policy:3:13",
        "cited figure `3 days` is not a number of its quote, which states 2个月",
    )
    own = rules.replace("3 days\n", '3 days provisional "测试"\n')
    assert city(own).diagnostics == ()


def test_only_verified_quotes_are_read(city: Check) -> None:
    """A quote not in its clause is C004 alone; `secondary` and `provisional` are not read."""
    assert [
        d.code for d in city('let x = 9 元\n  cite DOC 一(一)2 "起付线为800元"\n').diagnostics
    ] == ["C004"]
    assert city('let x = 9 元 secondary GUIDE "起付线为800元"\n').diagnostics == ()
    assert city('let x = 9 元 provisional "800元"\n').cited_figures == ()


def test_the_quotes_read_are_bounded(city: Check) -> None:
    long = "起付线为800元" + "。" * 100_000
    document = DOCUMENT.replace("1.职工普通门诊起付线为800元,", f"1.职工普通门诊{long},")
    assert facts(only(city(f'let x = 800 元\n  cite DOC 一(一)1 "{long}"\n', document))) == (
        "P006",
        "city/rules.policy:2:3",
        "the quotes of cited figures run to more than 100,000 characters: their numbers are "
        "not read past here",
        "quote the words that state each figure, not whole clauses",
    )


# ------------------------------------------------------------------ the bundled policies


def test_the_bundled_cited_figures() -> None:
    counts = {}
    for name in ("national", "tianjin", "quanzhou"):
        result = check(POLICIES / name)
        assert result.ok
        derived = [(f.location, f.figure, f.derived) for f in result.cited_figures if f.derived]
        counts[name] = (len(result.cited_figures), derived)
    assert counts == {
        "national": (0, []),
        "tianjin": (
            10,
            [("tianjin/benefits.policy:54:55", "0 pt", "一级医院不提高:0个百分点")],
        ),
        "quanzhou": (
            2,
            [
                ("quanzhou/audit.policy:11:10", "60 days", "2个月按60天计"),
                ("quanzhou/audit.policy:14:10", "90 days", "3个月按90天计"),
            ],
        ),
    }


def _mutants(text: str) -> Iterator[str]:
    """The figure ×10 (unless 0), +1, and with its unit swapped for a neighbour's."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(\s*)(\S*)", text)
    assert match, text
    number, space, unit = Decimal(match[1]), match[2], match[3]
    if number:
        yield f"{number * 10}{space}{unit}"
    yield f"{number + 1}{space}{unit}"
    swapped = {"元": " 万元", "万元": " 元", "%": " pt", "pt": "%", "个百分点": "%", "days": ""}
    if number or unit not in ("元", "万元"):  # 0 元 is 0 万元: the same figure
        yield f"{number}{swapped.get(unit, ' days')}"


@pytest.mark.parametrize("region", ["tianjin", "quanzhou", "weihai"])
def test_every_mutation_of_every_cited_figure_is_caught(region: str, tmp_path: Path) -> None:
    directory = copy_policies(tmp_path, region)
    clean = check(directory)
    assert clean.ok and clean.cited_figures
    caught = 0
    for figure in clean.cited_figures:
        file, line, col = figure.location.rsplit(":", 2)
        path = directory / file.split("/", 1)[1]
        original = path.read_text(encoding="utf-8")
        lines = original.split("\n")
        row, start = lines[int(line) - 1], int(col) - 1
        assert row[start : start + len(figure.figure)] == figure.figure
        for mutant in _mutants(figure.figure):
            if _stated(mutant, figure.quote):
                continue
            lines[int(line) - 1] = row[:start] + mutant + row[start + len(figure.figure) :]
            path.write_text("\n".join(lines), encoding="utf-8")
            result = check(directory)
            at_figure = [d for d in result.diagnostics if d.code == "C007"]
            assert [str(d.span) for d in at_figure] == [figure.location], (figure, mutant)
            caught += 1
        path.write_text(original, encoding="utf-8")
    mutations = sum(
        1 for f in clean.cited_figures for m in _mutants(f.figure) if not _stated(m, f.quote)
    )
    assert caught == mutations == {"tianjin": 29, "quanzhou": 6, "weihai": 37}[region]


def _stated(mutant: str, quote: str) -> bool:
    """A mutant its quote does state: its text (`10%`), or a count the quote names in words —
    the `1` of `at_level(…, level − 1)` mutated to 2, under a quote of 二级 and 一级."""
    if mutant.replace(" ", "") in quote:
        return True
    counts = {q.value for q in numbers_in(quote) if q.kind == "count"}
    return mutant.isdigit() and Decimal(mutant) in counts


# ------------------------------------------------------------------ derived notes reach the result


def test_a_derived_figure_shows_its_note_in_the_trace_and_explain() -> None:
    claim = {
        "id": "QZ-DERIVED",
        "region": "quanzhou",
        "person": {
            "id": "P",
            "scheme": "employee",
            "status": "working",
            "birth_date": "1966-07-01",
            "sex": "male",
            "certifications": [
                {
                    "condition": "hypertension",
                    "programme": "special_outpatient",
                    "since": "2019-03-01",
                    "doctor_title": "chief",
                }
            ],
        },
        "visit": {
            "type": "special_outpatient",
            "date": "2021-06-01",
            "hospital": {"id": "H", "level": 2, "kind": "general"},
            "doctor": {"id": "D", "title": "attending"},
            "diagnoses": ["I10.x00"],
        },
        "items": [
            {
                "line": 1,
                "code": "XC08CAA001A001010001001",
                "kind": "drug",
                "quantity": "90",
                "unit_price": "0.50",
                "amount": "45.00",
                "days_supply": 90,
            }
        ],
    }
    result = Engine.load().settle(copy.deepcopy(claim), trace=True)
    sources = [step.get("source") or {} for step in result["trace"]]
    assert {
        "doc": "泉丰政办综〔2021〕33号",
        "clause": "三(六)",
        "quote": "疫情防控期间可放宽处方用药量至3个月",
        "derived": "3个月按90天计",
        "provenance": "cited",
    } in sources
    for lang, words in (("zh", "(推算: 3个月按90天计)"), ("en", "(derived: 3个月按90天计)")):
        text = explain.render_text(explain.build(claim, result, lang), width=200, color=False)
        assert words in text
