"""Errors that help people who type Chinese (issue 18.4, issue 14.5): every syntax error of
a file once and nothing that follows from it, an unclosed inner block named as such, the
slips of an input method (full-width digits and brackets, thousands separators) with the
ASCII to write, the passage a near-miss quote misses, the date that ends an overlap, paths
relative to the policy root, and a layer not found.

Each test writes a small policy `city/` beside a copy of the bundled `national/` layer (or
copies a bundled city) and asserts the diagnostics exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from policyengine.check import CheckResult, check
from tests.support import POLICIES, city_directory

HEADER = """\
policy city "测试市" {
  uses national
  effective from 2020-01-01
    provisional "测试用起始日期"
}

source DOC {
  title "测试市基本医疗保险办法"
  file "sources/doc.md"
}
"""

DOCUMENT = """\
一、待遇标准
(一)门诊
1.职工普通门诊起付线为800元。
2.普通门诊支付比例为60%。
"""

Check = Callable[[str], CheckResult]


@pytest.fixture
def city(tmp_path: Path) -> Check:
    def run(rules: str) -> CheckResult:
        return check(city_directory(tmp_path, HEADER, rules, DOCUMENT))

    return run


def listed(result: CheckResult) -> list[tuple[str, str, str, str | None]]:
    return [(d.code, str(d.span), d.message, d.hint) for d in result.diagnostics]


def copy_city(tmp_path: Path, region: str = "tianjin", *, layer: bool = True) -> Path:
    for name in ("national", region) if layer else (region,):
        shutil.copytree(POLICIES / name, tmp_path / name)
    return tmp_path / region


# ------------------------------------------------------------------ recovery


def test_every_syntax_error_of_a_file_is_reported_once(city: Check) -> None:
    rules = """\
let base = 800 元 provisional "测试"
let raised = ７５００ 元
  provisional "测试"

ratio outpatient {
  when scheme employee => 60% provisional "测试"
  when scheme resident 50% provisional "测试"
}

let grouped = 3,000 元 provisional "测试"
let total = base + raised provisional "测试"
let odd = base + 7 days provisional "测试"
"""
    # Three syntax errors, each once; `raised` is lost with its declaration, so `total`'s
    # reference to it is no error of its own; the unit error of a good declaration stays.
    assert [(code, where) for code, where, *_ in listed(city(rules))] == [
        ("P004", "city/rules.policy:2:14"),
        ("P001", "city/rules.policy:7:24"),
        ("P004", "city/rules.policy:10:15"),
        ("T001", "city/rules.policy:12:11"),
    ]


def test_a_missing_inner_brace_is_the_block_it_leaves_open(city: Check) -> None:
    rules = """\
audit excess_supply provisional "测试" {
  action reject
  max_days {
    when visit outpatient => 7 days provisional "测试"
}

audit contraindication provisional "测试" {
  action reject
  checks diagnosis, sex, age
}
"""
    result = city(rules)
    assert listed(result) == [
        (
            "P002",
            "city/rules.policy:3:12",
            "unclosed block: this `{` is never closed",
            "add the missing `}`",
        )
    ]
    assert [(str(r.span), r.message) for r in result.diagnostics[0].related] == [
        ("city/rules.policy:7:1", "`audit` begins a new declaration")
    ]


def test_a_broken_table_of_a_complete_policy_adds_no_unsettleable_visits(tmp_path: Path) -> None:
    tianjin = copy_city(tmp_path)
    benefits = tianjin / "benefits.policy"
    text = benefits.read_text(encoding="utf-8")
    benefits.write_text(text.replace("=> 800 元", "=> ８00 元", 1), encoding="utf-8")
    # Before: the whole file was lost, with R005 for every visit type and N001 for every
    # figure it declares.
    assert listed(check(tianjin)) == [
        (
            "P004",
            "tianjin/benefits.policy:8:43",
            "`８` (FULLWIDTH DIGIT EIGHT) is not an ASCII digit: rule files take ASCII `8`",
            "write `800` (switch the input method to half-width, 半角)",
        )
    ]


# ------------------------------------------------------------------ input-method slips


@pytest.mark.parametrize(
    ("rules", "where", "character", "written"),
    [
        # issue 14.5: each of these passed `check` before, and E10..E１４ matched E66
        (
            'condition diabetes_all "糖尿病" = E10..E１４ provisional "测试"\n',
            "1:38",
            "`１` (FULLWIDTH DIGIT ONE)",
            "E10..E14",
        ),
        (
            'let cap = ７５００ 元 provisional "测试"\n',
            "1:11",
            "`７` (FULLWIDTH DIGIT SEVEN)",
            "7500",
        ),
        (
            'let cap = ٧٥٠٠ 元 provisional "测试"\n',
            "1:11",
            "`٧` (ARABIC-INDIC DIGIT SEVEN)",
            "7500",
        ),
        (
            'ratio outpatient {\n  when age ६०..७० => 60% provisional "测试"\n'
            '  when age not ६०..७० => 50% provisional "测试"\n}\n',
            "2:12",
            "`६` (DEVANAGARI DIGIT SIX)",
            "६०..७०".translate(str.maketrans("६०७", "607")),
        ),
    ],
)
def test_only_ascii_digits_with_the_ascii_one_suggested(
    city: Check, rules: str, where: str, character: str, written: str
) -> None:
    code, span, message, hint = listed(city(rules))[0]
    assert (code, span) == ("P004", f"city/rules.policy:{where}")
    assert message.startswith(f"{character} is not an ASCII digit")
    assert hint == f"write `{written}` (switch the input method to half-width, 半角)"


def test_a_full_width_bracket_in_a_clause_path(city: Check) -> None:
    rules = 'let deductible = 800 元\n  cite DOC 一（一）1 "职工普通门诊起付线为800元"\n'
    assert listed(city(rules)) == [
        (
            "P001",
            "city/rules.policy:2:13",
            "`（` (FULLWIDTH LEFT PARENTHESIS) is a full-width character: "
            "rule files take ASCII `(`",
            "write `一(一)1` (switch the input method to half-width, 半角)",
        )
    ]


@pytest.mark.parametrize("number", ["3,000", "3，000"])
def test_thousands_separators_are_named(city: Check, number: str) -> None:
    rules = f'let cap = {number} 元 provisional "测试"\n'
    assert listed(city(rules)) == [
        (
            "P004",
            "city/rules.policy:1:11",
            f"`{number}`: numbers are written without thousands separators",
            "write `3000`",
        )
    ]


def test_digits_and_brackets_of_every_width_are_still_fine_in_quotes(city: Check) -> None:
    rules = 'let cap = 7500 元 provisional "全角数字７５００与括号（一）只是文字"\n'
    assert listed(city(rules)) == []


# ------------------------------------------------------------------ hints of the checker


def test_a_near_miss_quote_shows_the_passage_and_the_difference(city: Check) -> None:
    rules = 'let ratio = 60%\n  cite DOC 一(一)2 "门诊支付比例提高为60%"\n'
    assert listed(city(rules))[0][3] == (
        "the clause has “门诊支付比例为60%”: the quote has “提高” that is not there"
    )


def test_overlapping_versions_suggest_the_end_date(city: Check) -> None:
    rules = """\
cap outpatient {
  pools outpatient
  when scheme employee => 5500 元 until 2019-01-01 provisional "测试"
  when scheme employee => 7500 元 from 2019-01-01 provisional "测试"
  when scheme resident => 3000 元 provisional "测试"
}
"""
    assert listed(city(rules)) == [
        (
            "R001",
            "city/rules.policy:4:3",
            "rows of cap `outpatient` overlap: both apply to scheme employee from 2019-01-01",
            "the rows are versions, one after the other: end the earlier one (line 3) the day "
            "before the later begins, `until 2018-12-31`",
        )
    ]


def test_a_policy_outside_the_bundled_folder_without_its_layer(tmp_path: Path) -> None:
    tianjin = copy_city(tmp_path, layer=False)
    ((code, where, message, hint),) = listed(check(tianjin))  # no N001 for the layer's names
    assert (code, where) == ("N003", "tianjin/policy.policy:5:8")  # on `national` of `uses`
    assert (
        message == f"unknown layer `national`: no directory {tmp_path / 'national'} with rule files"
    )
    assert hint is not None
    assert hint.startswith("`uses national` reads the directory `national/` beside `tianjin/`")
    assert f"cp -r {POLICIES / 'national'} {tmp_path}/" in hint


# ------------------------------------------------------------------ the command line


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policyengine.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_json_diagnostics_have_end_positions(city: Check, tmp_path: Path) -> None:
    city('let cap = 7500 元 + 7 days provisional "测试"\n')
    done = run("check", str(tmp_path / "city"), "--format", "json")
    (diagnostic,) = json.loads(done.stdout)["policies"][0]["diagnostics"]
    assert {k: diagnostic[k] for k in ("file", "line", "col", "end_line", "end_col")} == {
        "file": "city/rules.policy",
        "line": 1,
        "col": 11,
        "end_line": 1,
        "end_col": 26,
    }


def test_check_says_its_verdict_first(city: Check, tmp_path: Path) -> None:
    city('let cap = 7500 元 + 7 days provisional "测试"\n')
    done = run("check", str(tmp_path / "city"))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "city: FAILED — 1 error(s)"
    assert lines[2].startswith("city/rules.policy:1:11: error[T001]")
    assert lines[-1] == "1 error(s), 0 warning(s)"


def test_test_names_files_from_the_policy_root_and_counts_only_the_city(tmp_path: Path) -> None:
    tianjin = copy_city(tmp_path)
    for case_file in (tianjin / "tests").glob("*.yaml"):
        if case_file.name != "outpatient.yaml":
            case_file.unlink()
    cases = tianjin / "tests" / "outpatient.yaml"
    text = cases.read_text(encoding="utf-8")
    cases.write_text(text.replace('deductible: "800.00"', 'deductible: "700.00"', 1), "utf-8")
    done = run("test", "tianjin", cwd=tmp_path)
    assert done.returncode == 1
    failure = next(line for line in done.stdout.splitlines() if "FAIL" in line)
    assert failure.split()[1].startswith("tianjin/tests/outpatient.yaml:")
    assert "produced by deductible tianjin/benefits.policy:8" in done.stdout
    assert "layer national (not counted):" in done.stdout
    report = json.loads(run("test", "tianjin", "--format", "json", cwd=tmp_path).stdout)[0]
    assert report["failed"][0]["location"].startswith("tianjin/tests/outpatient.yaml:")
    assert set(report["coverage"]["layers"]) == {"national"}
    assert not any(m.startswith("national/") for m in report["coverage"]["missed"])
