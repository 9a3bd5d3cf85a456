"""The catalogue of common mistakes: each planted in a small policy, each diagnostic exact.

Every test writes a city policy `city/` next to a copy of the bundled `national/` layer:
`city/policy.policy` holds the header and the two source documents (DOC is held, its
text under `city/sources/doc.md`; GUIDE is not held), and the mistake goes alone into
`city/rules.policy`, so the line numbers in the assertions count from the mistake's
first line. A test asserts the code, `file:line:col`, the message and the hint.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from policyengine.check import CheckResult, check
from policyengine.cli.main import main
from policyengine.diagnostics import Diagnostic, render

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
  number "测医保发〔2020〕1号"
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
1.职工普通门诊起付线为800元。
2.普通门诊支付比例为60%。
(二)住院
1.住院起付线按医院级别确定。
二、智能审核
对重复开药、超量开药预警拦截。
"""

MISSING_CITATION_HINT = 'add `cite DOC CLAUSE "quote"`, `secondary DOC` or `provisional "reason"`'
OVERLAP_HINT = (
    "if one row is an exception to the other, label the general row (`name: when …`) "
    "and add `overrides name` to the exception"
)

Check = Callable[[str], CheckResult]


@pytest.fixture
def city(tmp_path: Path) -> Check:
    """Write `rules` as city/rules.policy beside the header and national; check the city."""

    def run(rules: str) -> CheckResult:
        shutil.copytree(POLICIES / "national", tmp_path / "national", dirs_exist_ok=True)
        directory = tmp_path / "city"
        (directory / "sources").mkdir(parents=True, exist_ok=True)
        (directory / "sources" / "doc.md").write_text(DOCUMENT, encoding="utf-8")
        (directory / "policy.policy").write_text(HEADER, encoding="utf-8")
        (directory / "rules.policy").write_text(rules, encoding="utf-8")
        return check(directory)

    return run


def only(result: CheckResult) -> Diagnostic:
    assert len(result.diagnostics) == 1, [d.headline() for d in result.diagnostics]
    return result.diagnostics[0]


def facts(diagnostic: Diagnostic) -> tuple[str, str, str, str | None]:
    return diagnostic.code, str(diagnostic.span), diagnostic.message, diagnostic.hint


def related(diagnostic: Diagnostic) -> list[tuple[str, str]]:
    return [(str(r.span), r.message) for r in diagnostic.related]


# ------------------------------------------------------------------ the fixture itself


def test_the_scaffold_alone_checks_clean(city: Check) -> None:
    result = city(
        'let outpatient_deductible = 800 元\n  cite DOC 一(一)1 "职工普通门诊起付线为800元"\n'
    )
    assert result.diagnostics == ()
    assert result.ok


# ------------------------------------------------------------------ citations


def test_missing_citation(city: Check) -> None:
    assert facts(only(city("let outpatient_deductible = 800 元\n"))) == (
        "C001",
        "city/rules.policy:1:1",
        "missing citation: figure `outpatient_deductible`",
        MISSING_CITATION_HINT,
    )


def test_missing_citation_of_a_table_row(city: Check) -> None:
    rules = """\
deductible outpatient per year {
  when scheme employee => 800 元
    cite DOC 一(一)1 "职工普通门诊起付线为800元"
  when scheme resident => 500 元
}
"""
    assert facts(only(city(rules))) == (
        "C001",
        "city/rules.policy:4:3",
        "missing citation: this row of deductible `outpatient`",
        MISSING_CITATION_HINT,
    )


def test_quote_not_in_clause_names_the_clause_that_has_it(city: Check) -> None:
    rules = 'let outpatient_ratio = 60%\n  cite DOC 一(一)1 "普通门诊支付比例为60%"\n'
    assert facts(only(city(rules))) == (
        "C004",
        "city/rules.policy:2:3",
        "quote not found in DOC 一(一)1: “普通门诊支付比例为60%”",
        "the quote is in 一(一)2",
    )


def test_quote_found_nowhere(city: Check) -> None:
    rules = 'let outpatient_ratio = 60%\n  cite DOC 一(一)2 "普通门诊支付比例为65%"\n'
    assert facts(only(city(rules))) == (
        "C004",
        "city/rules.policy:2:3",
        "quote not found in DOC 一(一)2: “普通门诊支付比例为65%”",
        "the clause has “普通门诊支付比例为60%”: the quote has “5” for “0”",
    )


def test_unknown_clause(city: Check) -> None:
    rules = 'let inpatient_deductible = 800 元\n  cite DOC 三(一)1 "住院起付线按医院级别确定"\n'
    assert facts(only(city(rules))) == (
        "C003",
        "city/rules.policy:2:3",
        "`DOC` has no clause 三(一)1",
        "the quote is in 一(二)1",
    )


def test_unknown_document(city: Check) -> None:
    rules = 'let outpatient_deductible = 800 元\n  cite DOX 一(一)1 "职工普通门诊起付线为800元"\n'
    assert facts(only(city(rules))) == (
        "C002",
        "city/rules.policy:2:3",
        "unknown source document `DOX`",
        "did you mean `DOC`?",
    )


def test_citing_a_document_we_do_not_hold(city: Check) -> None:
    rules = 'let outpatient_deductible = 800 元\n  cite GUIDE 一(一)1 "职工普通门诊起付线为800元"\n'
    assert facts(only(city(rules))) == (
        "C006",
        "city/rules.policy:2:3",
        "`GUIDE` is not held (it has no `file`): it can only be `secondary`",
        "write `secondary GUIDE`, or add the document's text and its `file`",
    )


def test_secondary_for_a_document_we_hold(city: Check) -> None:
    assert facts(only(city("let outpatient_deductible = 800 元 secondary DOC\n"))) == (
        "C006",
        "city/rules.policy:1:35",
        "`DOC` is held: quote its words",
        'write `cite DOC CLAUSE "quote"` or `cite DOC "quote"` '
        '(`secondary DOC "quote"` if it is no official text)',
    )


# ------------------------------------------------------------------ names


def test_misspelled_figure(city: Check) -> None:
    rules = """\
let outpatient_base = 60% provisional "测试"
ratio outpatient {
  always => outpatient_bse provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "N001",
        "city/rules.policy:3:13",
        "unknown figure `outpatient_bse`",
        "did you mean `outpatient_base`?",
    )


def test_misspelled_when_key(city: Check) -> None:
    rules = """\
ratio outpatient {
  complete over scheme
  when schem employee => 60% provisional "测试"
  when scheme resident => 50% provisional "测试"
}
"""
    # Only the misspelling: the row it spoils is left out of the overlap and completeness checks.
    assert facts(only(city(rules))) == (
        "N001",
        "city/rules.policy:3:8",
        "unknown condition key `schem`",
        "did you mean `scheme`?",
    )


def test_misspelled_value(city: Check) -> None:
    rules = """\
ratio outpatient {
  complete over scheme
  when scheme employe => 60% provisional "测试"
  when scheme resident => 50% provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "N001",
        "city/rules.policy:3:15",
        "unknown scheme value `employe`",
        "did you mean `employee`?",
    )


def test_unknown_condition_name(city: Check) -> None:
    rules = """\
limit special_outpatient {
  programme special_outpatient
  when certified hypertensoin => 1500 元 provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "N001",
        "city/rules.policy:3:18",
        "unknown certified value `hypertensoin`",
        "did you mean `hypertension`?",
    )


# ------------------------------------------------------------------ units


def test_adding_money_and_days(city: Check) -> None:
    assert facts(only(city('let odd = 800 元 + 7 days provisional "测试"\n'))) == (
        "T001",
        "city/rules.policy:1:11",
        "cannot add money (元) and days",
        None,
    )


def test_adding_two_ratios_suggests_points(city: Check) -> None:
    assert facts(only(city('let raised = 60% + 5% provisional "测试"\n'))) == (
        "T001",
        "city/rules.policy:1:14",
        "cannot add two ratios",
        "an increase of a ratio is in percentage points: write `5 pt`, not `5%`",
    )


def test_ratio_row_holding_money(city: Check) -> None:
    rules = """\
ratio outpatient {
  always => 800 元 provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "T002",
        "city/rules.policy:2:13",
        "expected a ratio (%) or a `bands` block here, found money (元)",
        None,
    )


def test_adjustment_in_percent_instead_of_points(city: Check) -> None:
    rules = """\
ratio inpatient {
  always => 80% provisional "测试"
  adjust when group low_income => 5% provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "T002",
        "city/rules.policy:3:35",
        "expected percentage points (pt) here, found a ratio (%)",
        "an adjustment is in percentage points: write `5 pt`, not `5%`",
    )


def test_ratio_over_a_hundred_percent(city: Check) -> None:
    rules = """\
ratio outpatient {
  always => 120% provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "T003",
        "city/rules.policy:2:13",
        "a ratio must lie within 0%–100%, not 120.00%",
        None,
    )


def test_money_finer_than_the_fen(city: Check) -> None:
    rules = """\
let tiny = 1 元 × 0.5% provisional "测试"
"""
    assert facts(only(city(rules))) == (
        "T004",
        "city/rules.policy:1:1",
        "figure `tiny` is 0.005 元, finer than the fen",
        "state money in whole fen (0.01 元); settlement rounds half-up to the fen itself",
    )


# ------------------------------------------------------------------ dates


def test_overlapping_versions_of_a_figure(city: Check) -> None:
    rules = """\
let outpatient_cap = 5500 元 until 2019-06-30 provisional "测试"
let outpatient_cap = 7500 元 from 2019-01-01 provisional "测试"
"""
    diagnostic = only(city(rules))
    assert facts(diagnostic) == (
        "D001",
        "city/rules.policy:2:1",
        "versions of `outpatient_cap` overlap from 2019-01-01",
        "give each version of a figure its own `from`/`until` range",
    )
    assert related(diagnostic) == [("city/rules.policy:1:1", "the other version")]


def test_gap_between_versions_of_a_figure(city: Check) -> None:
    rules = """\
let outpatient_cap = 5500 元 until 2018-12-30 provisional "测试"
let outpatient_cap = 7500 元 from 2019-01-01 provisional "测试"
"""
    diagnostic = only(city(rules))
    assert facts(diagnostic) == (
        "D002",
        "city/rules.policy:2:1",
        "versions of `outpatient_cap` leave a gap from 2018-12-31 to 2018-12-31",
        None,
    )
    assert related(diagnostic) == [("city/rules.policy:1:1", "the version before the gap")]


def test_gap_between_the_rows_of_a_table(city: Check) -> None:
    rules = """\
cap outpatient {
  pools outpatient
  always => 5500 元 until 2020-12-31 provisional "测试"
  always => 7500 元 from 2021-02-01 provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "D002",
        "city/rules.policy:4:3",
        "gap in cap `outpatient`: no row applies to every claim from 2021-01-01 to 2021-01-31",
        None,
    )


def test_empty_date_range(city: Check) -> None:
    rules = 'let outpatient_cap = 5500 元 from 2021-01-01 until 2020-12-31 provisional "测试"\n'
    assert facts(only(city(rules))) == (
        "D003",
        "city/rules.policy:1:29",
        "empty effective range: from 2021-01-01 is after until 2020-12-31",
        None,
    )


# ------------------------------------------------------------------ tables and rules


def test_overlapping_rows_point_at_both(city: Check) -> None:
    rules = """\
ratio outpatient {
  when scheme employee => 60% provisional "测试"
  when scheme employee, status retired => 70% provisional "测试"
}
"""
    diagnostic = only(city(rules))
    assert facts(diagnostic) == (
        "R001",
        "city/rules.policy:3:3",
        "rows of ratio `outpatient` overlap: both apply to scheme employee, status retired "
        "from 2020-01-01",
        OVERLAP_HINT,
    )
    assert related(diagnostic) == [("city/rules.policy:2:3", "the other row")]


def test_overrides_resolves_an_overlap(city: Check) -> None:
    rules = """\
ratio outpatient {
  employee: when scheme employee => 60% provisional "测试"
  when scheme employee, status retired => 70% provisional "测试" overrides employee
}
"""
    assert city(rules).diagnostics == ()


def test_incomplete_table(city: Check) -> None:
    rules = """\
deductible outpatient per year {
  complete over scheme, status
  when scheme employee, status working => 800 元 provisional "测试"
  when scheme resident => 500 元 provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "R002",
        "city/rules.policy:2:3",
        "deductible `outpatient` is declared complete but no row applies to: "
        "scheme employee, status retired (from 2020-01-01)",
        None,
    )


def test_conflicting_audit_rules(city: Check) -> None:
    rules = """\
audit excess_supply short_supply provisional "测试" {
  action reject
  max_days { always => 7 days provisional "测试" }
}
audit excess_supply long_supply provisional "测试" {
  action review
  when visit outpatient
  max_days { always => 30 days provisional "测试" }
}
"""
    diagnostic = only(city(rules))
    assert facts(diagnostic) == (
        "R003",
        "city/rules.policy:5:1",
        "rules `short_supply` and `long_supply` (excess_supply) both apply to visit outpatient "
        "from 2020-01-01",
        "narrow one with `when`/`effective`, or replace a layer's rule with `overrides`",
    )
    assert related(diagnostic) == [("city/rules.policy:1:1", "the other rule")]


def test_unknown_row_label_in_overrides(city: Check) -> None:
    rules = """\
ratio outpatient {
  employee: when scheme employee => 60% provisional "测试"
  when scheme employee, status retired => 70% provisional "测试" overrides employe
}
"""
    # Only R004: the row whose override did not resolve is left out of the overlap check.
    assert facts(only(city(rules))) == (
        "R004",
        "city/rules.policy:3:3",
        "`overrides employe`: no row labelled `employe` in ratio outpatient",
        "did you mean `employee`?",
    )


def test_unknown_rule_in_overrides(city: Check) -> None:
    rules = """\
rule not_covered city_scope provisional "测试" {
  action exclude
  items outside_catalogue
  overrides national.catalog_scope
}
"""
    assert facts(only(city(rules))) == (
        "R004",
        "city/rules.policy:4:13",
        "rule `city_scope` overrides `national.catalog_scope`, "
        "which is not a rule of a layer it uses",
        "did you mean `national.catalogue_scope`?",
    )


# ------------------------------------------------------------------ settings that must name what exists


def test_certified_outside_a_limit_table(city: Check) -> None:
    rules = """\
ratio two_disease {
  when certified diabetes => 90% provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "N001",
        "city/rules.policy:2:8",
        "`certified` can be tested only in the rows of a `limit` table",
        "test the visit's diagnoses with `diagnosis`; "
        "a rule requires a certification with `certification_required`",
    )


def test_limit_needs_a_programme_and_plain_certified_rows(city: Check) -> None:
    rules = """\
limit special_outpatient {
  when certified diabetes, scheme resident => 2500 元 provisional "测试"
}
"""
    assert [facts(d) for d in city(rules).diagnostics] == [
        (
            "N005",
            "city/rules.policy:1:1",
            "limit `special_outpatient` needs `programme` (special_outpatient or two_disease)",
            "the certifications of that programme decide which rows count",
        ),
        (
            "N005",
            "city/rules.policy:2:3",
            "a limit row tests one certified condition and nothing else: "
            "`when certified <condition>`",
            "per-condition limits add up over the person's certified conditions",
        ),
    ]


def test_cap_without_pools(city: Check) -> None:
    rules = 'cap outpatient {\n  always => 5000 元 provisional "测试"\n}\n'
    assert facts(only(city(rules))) == (
        "N005",
        "city/rules.policy:1:1",
        "cap `outpatient` does not say which visits it covers: add `pools …`",
        "the pools whose payments count against the cap, "
        "e.g. `pools inpatient, special_outpatient`",
    )


def test_pool_in_two_caps(city: Check) -> None:
    rules = """\
cap outpatient {
  pools outpatient
  always => 5000 元 provisional "测试"
}
cap everything {
  pools outpatient, inpatient
  always => 300000 元 provisional "测试"
}
"""
    diagnostic = only(city(rules))
    assert facts(diagnostic) == (
        "N002",
        "city/rules.policy:6:3",
        "pool `outpatient` is in two caps: `outpatient` and `everything`",
        None,
    )
    assert related(diagnostic) == [("city/rules.policy:1:1", "the other cap")]


def test_ratio_as_an_unknown_ratio(city: Check) -> None:
    rules = """\
ratio inpatient {
  always => 80% provisional "测试"
}
ratio special_outpatient {
  as inpatent provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "N001",
        "city/rules.policy:5:3",
        "`as inpatent`: no ratio table `inpatent` with rows of its own",
        "did you mean `inpatient`?",
    )


def test_adjustments_cannot_override(city: Check) -> None:
    rules = """\
ratio inpatient {
  always => 80% provisional "测试"
  adjust poor: when group low_income => 5 pt provisional "测试"
  adjust when group low_income_edge => 3 pt provisional "测试" overrides poor
}
"""
    assert facts(only(city(rules))) == (
        "R004",
        "city/rules.policy:4:3",
        "`overrides poor`: an `adjust` row neither overrides nor is overridden",
        "adjustments cannot be exceptions to one another (the evaluators would add both): "
        "make their `when`s exclusive",
    )


def test_unknown_figure_in_a_rule_parameter(city: Check) -> None:
    rules = """\
let tolerance_days = 3 days provisional "测试"
audit duplicate_dispensing provisional "测试" {
  action reject
  tolerance tolerance_day
}
"""
    assert facts(only(city(rules))) == (
        "N001",
        "city/rules.policy:4:13",
        "unknown figure `tolerance_day`",
        "did you mean `tolerance_days`?",
    )


# ------------------------------------------------------------------ syntax


def test_unclosed_block_at_end_of_file(city: Check) -> None:
    rules = """\
ratio outpatient {
  always => 60% provisional "测试"
"""
    assert facts(only(city(rules))) == (
        "P002",
        "city/rules.policy:1:18",
        "unclosed block: this `{` is never closed",
        "add the missing `}`",
    )


def test_unclosed_block_followed_by_a_declaration(city: Check) -> None:
    rules = """\
ratio outpatient {
  always => 60% provisional "测试"

let inpatient_deductible = 800 元 provisional "测试"
"""
    diagnostic = only(city(rules))
    assert facts(diagnostic) == (
        "P002",
        "city/rules.policy:1:18",
        "unclosed block: this `{` is never closed",
        "add the missing `}`",
    )
    assert related(diagnostic) == [("city/rules.policy:4:1", "`let` begins a new declaration")]


def test_misspelled_keyword_at_top_level(city: Check) -> None:
    rules = 'deductable outpatient per year {\n  always => 800 元 provisional "测试"\n}\n'
    assert facts(only(city(rules))) == (
        "P003",
        "city/rules.policy:1:1",
        "unknown keyword `deductable`; did you mean `deductible`?",
        "expected one of: audit, cap, catalogue, condition, deductible, let, limit, moments, "
        "policy, pre_self_pay, ratio, rule, second_layer, source",
    )


def test_misspelled_keyword_inside_a_rule(city: Check) -> None:
    rules = """\
audit duplicate_service provisional "测试" {
  acton reject
}
"""
    # One diagnostic: the misspelled `action` is not reported again as a missing action.
    assert facts(only(city(rules))) == (
        "P003",
        "city/rules.policy:2:3",
        "unknown keyword `acton`; did you mean `action`?",
        "a rule's statements begin with action, when, effective, overrides, programme "
        "or a parameter (none for this kind)",
    )


def test_misspelled_keyword_after_a_row_value(city: Check) -> None:
    rules = 'ratio outpatient {\n  always => 60% provisonal "测试"\n}\n'
    assert facts(only(city(rules))) == (
        "P003",
        "city/rules.policy:2:17",
        "unknown keyword `provisonal`; did you mean `provisional`?",
        "expected one of: adjust, always, as, cite, complete, dates, from, overrides, pools, "
        "programme, provisional, secondary, self_burden, until, when",
    )


def test_syntax_error_points_at_the_token(city: Check) -> None:
    rules = """\
ratio outpatient {
  when scheme employee => 60% provisional "测试"
  when scheme resident 50% provisional "测试"
}
"""
    assert facts(only(city(rules))) == (
        "P001",
        "city/rules.policy:3:24",
        "unexpected `50`; expected `,`, `=>`, `or`",
        None,
    )


def test_dates_after_the_citation(city: Check) -> None:
    rules = 'let outpatient_cap = 7500 元 provisional "测试" from 2021-01-01\n'
    diagnostic = only(city(rules))
    assert (diagnostic.code, str(diagnostic.span)) == ("P001", "city/rules.policy:1:46")
    assert diagnostic.message.startswith("unexpected `from`; expected `audit`, `cap`")
    assert diagnostic.hint == (
        "dates come before the citation: `… => 800 元 from 2021-01-01 cite DOC …`"
    )


def test_impossible_date(city: Check) -> None:
    rules = 'let outpatient_cap = 7500 元 from 2024-02-30 provisional "测试"\n'
    assert facts(only(city(rules))) == (
        "P004",
        "city/rules.policy:1:34",
        "`2024-02-30` is not a date that exists",
        None,
    )


def test_unterminated_string(city: Check) -> None:
    rules = 'let outpatient_cap = 7500 元 provisional "测试\nlet b = 1 元 provisional "x"\n'
    assert facts(only(city(rules))) == (
        "P005",
        "city/rules.policy:1:41",
        'unterminated string: a string must close with `"` on the same line',
        None,
    )


# ------------------------------------------------------------------ all at once, rendering


def test_every_problem_of_a_file_is_reported_sorted(city: Check) -> None:
    rules = """\
let outpatient_base = 60%
let odd = 800 元 + 7 days provisional "测试"
ratio outpatient {
  when scheme employe => outpatient_base provisional "测试"
  when scheme resident => 800 元 provisional "测试"
}
let inpatient_deductible = 800 元
  cite GUIDE 一(一)1 "职工普通门诊起付线为800元"
"""
    result = city(rules)
    assert [(d.code, str(d.span)) for d in result.diagnostics] == [
        ("C001", "city/rules.policy:1:1"),
        ("T001", "city/rules.policy:2:11"),
        ("N001", "city/rules.policy:4:15"),
        ("T002", "city/rules.policy:5:27"),
        ("C006", "city/rules.policy:8:3"),
    ]
    assert not result.ok
    assert result.policy is None


def test_rendered_diagnostic(city: Check) -> None:
    result = city('let raised = 60% + 5% provisional "测试"\n')
    assert render(only(result), result.texts) == (
        "city/rules.policy:1:14: error[T001]: cannot add two ratios\n"
        '  1 | let raised = 60% + 5% provisional "测试"\n'
        "    |              ^^^^^^^^\n"
        "  = help: an increase of a ratio is in percentage points: write `5 pt`, not `5%`"
    )


def test_rendered_diagnostic_with_related_span(city: Check) -> None:
    rules = """\
ratio outpatient {
  when scheme employee => 60% provisional "测试"
  when scheme employee, status retired => 70% provisional "测试"
}
"""
    result = city(rules)
    lines = render(only(result), result.texts).splitlines()
    assert lines[:3] == [
        "city/rules.policy:3:3: error[R001]: rows of ratio `outpatient` overlap: both apply to "
        "scheme employee, status retired from 2020-01-01",
        '  3 |   when scheme employee, status retired => 70% provisional "测试"',
        "    |   " + "^" * 62,  # 测试 takes four columns
    ]
    assert lines[3:6] == [
        "  city/rules.policy:2:3: note: the other row",
        '  2 |   when scheme employee => 60% provisional "测试"',
        "    |   " + "^" * 46,
    ]
    assert lines[6] == f"  = help: {OVERLAP_HINT}"


def test_caret_counts_wide_characters_twice(city: Check) -> None:
    result = city("let 起付线 = 800 元\n")
    # `起付线` is not a NAME: the error is at its first character.
    diagnostic = only(result)
    assert facts(diagnostic) == (
        "P001",
        "city/rules.policy:1:5",
        "unexpected character `起`; expected a name",
        "a name is ASCII letters, digits and `_`; a Chinese title goes in quotes after it: "
        '`let outpatient_deductible "起付线" = …`',
    )
    assert render(diagnostic, result.texts).splitlines()[1:3] == [
        "  1 | let 起付线 = 800 元",
        "    |     ^^",
    ]


# ------------------------------------------------------------------ the command


def test_check_command_exits_1_on_errors(city: Check, capsys: pytest.CaptureFixture[str]) -> None:
    result = city("let outpatient_deductible = 800 元\n")
    assert main(["check", str(result.directory)]) == 1
    out = capsys.readouterr().out
    assert "city/rules.policy:1:1: error[C001]: missing citation" in out
    assert "city: FAILED" in out
    assert out.rstrip().endswith("1 error(s), 0 warning(s)")


def test_check_command_exits_0_on_the_bundled_policies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    for name in ("national", "quanzhou", "tianjin"):
        assert f"{name}: ok" in out
    assert out.rstrip().endswith("0 error(s), 0 warning(s)")


@pytest.mark.parametrize("name", ["national", "quanzhou", "tianjin"])
def test_bundled_policy_checks_clean(name: str) -> None:
    result = check(POLICIES / name)
    assert result.diagnostics == ()
    assert result.policy is not None


# ------------------------------------------------------------------ a complete policy


def test_a_complete_policy_must_settle_every_visit_type(tmp_path: Path) -> None:
    shutil.copytree(POLICIES / "national", tmp_path / "national")
    shutil.copytree(
        POLICIES / "tianjin", tmp_path / "tianjin", ignore=shutil.ignore_patterns("tests")
    )
    catalogue = tmp_path / "tianjin" / "catalogue.policy"
    text = catalogue.read_text(encoding="utf-8")
    catalogue.write_text(
        text[: text.index("rule restricted_use two_disease_visit")], encoding="utf-8"
    )
    assert facts(only(check(tmp_path / "tianjin"))) == (
        "R005",
        "tianjin/policy.policy:4:1",
        "two_disease visits cannot be settled: the policy has no deductible and no ratio for them",
        "add `deductible two_disease …`, or a claim-level rule (`scope claim`, `action exclude`) "
        "`when visit two_disease` if the policy does not cover such visits",
    )
