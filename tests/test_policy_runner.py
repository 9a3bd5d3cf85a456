"""`policyengine test`: the bundled cases pass with coverage above the bar CI holds them to,
and a failing case is reported field by field with the rule that produced the value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from policyengine.cli.main import main
from tests.support import POLICIES

MIN_COVERAGE = {"tianjin": 100, "quanzhou": 100, "weihai": 100, "chengdu": 100}

# A Tianjin outpatient claim without items, as a case file's `defaults`.
DEFAULTS = """
defaults:
  id: T1
  region: tianjin
  person: {id: P1, scheme: employee, status: working, birth_date: "1970-01-01", sex: male}
  visit: {type: outpatient, date: "2024-03-05", hospital: {id: H1, level: 3, kind: general},
          doctor: {id: D1, title: attending}, diagnoses: [J06.900]}
"""


@pytest.mark.parametrize("backend", ["compiled", "interpreted"])
@pytest.mark.parametrize("city", sorted(MIN_COVERAGE))
def test_bundled_cases_pass_above_the_coverage_bar(
    city: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    limit = str(MIN_COVERAGE[city])
    code = main(["test", str(POLICIES / city), "--min-coverage", limit, "--backend", backend])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "(ok)" in out and "cited clauses" in out


def test_a_failing_case_names_the_rule_behind_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", "")
    shutil.copytree(POLICIES / "national", tmp_path / "national")
    shutil.copytree(
        POLICIES / "tianjin", tmp_path / "tianjin", ignore=shutil.ignore_patterns("tests")
    )
    (tmp_path / "tianjin" / "tests").mkdir()
    (tmp_path / "tianjin" / "tests" / "wrong.yaml").write_text(
        DEFAULTS
        + """  items:
    - {line: 1, code: "001101000010000", kind: service, quantity: "1", unit_price: "1000.00", amount: "1000.00"}
cases:
  - name: right
    expect: {decision: pay, totals: {deductible: "800.00", payers: {fund: "110.00"}}}
  - name: a deliberately wrong deductible
    expect: {totals: {deductible: "700.00", payers: {fund: "165.00"}}}
""",
        encoding="utf-8",
    )
    code = main(["test", str(tmp_path / "tianjin"), "--min-coverage", "90"])
    out = capsys.readouterr().out
    assert code == 1
    assert "tianjin: 1/2 cases passed" in out
    assert "totals.deductible: expected '700.00', got '800.00'" in out
    assert "produced by deductible tianjin/benefits.policy:8: its figure differs" in out
    assert "totals.payers.fund: expected '165.00', got '110.00'" in out
    # the fund follows from the deductible, the earlier step the case contradicts
    assert "produced by deductible tianjin/benefits.policy:8: the deductible, an earlier" in out
    assert "produced by ratio" not in out
    assert "(below 90%)" in out and "never exercised:" in out


def test_the_default_pre_self_pay_is_unreachable_until_the_catalogue_omits_a_proportion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", "")
    shutil.copytree(POLICIES / "national", tmp_path / "national")
    shutil.copytree(POLICIES / "tianjin", tmp_path / "tianjin")
    assert main(["test", str(tmp_path / "tianjin"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)[0]["coverage"]
    assert [u["rule"] for u in report["unreachable"]] == [
        "tianjin/catalogue.policy:5 pre_self_pay default (always)"
    ]
    assert report["missed"] == [] and report["percent"] == 100

    # A 乙类 item without its own 自付比例: the default (10%) applies and can be tested.
    with (tmp_path / "national" / "catalogue.csv").open("a", encoding="utf-8") as catalogue:
        catalogue.write("XTEST0000000000000000001,无比例乙类药,noprop,drug,B,,,,,,,,,,,,,,,,,\n")
    (tmp_path / "tianjin" / "tests" / "zz_default.yaml").write_text(
        DEFAULTS
        + """cases:
  - name: a 乙类 drug listed without 自付比例 pays the default 10% first
    claim:
      items:
        - {line: 1, code: XTEST0000000000000000001, kind: drug, quantity: "1",
           unit_price: "100.00", amount: "100.00"}
    expect: {totals: {pre_self_pay: "10.00", covered: "90.00"}}
""",
        encoding="utf-8",
    )
    assert main(["test", str(tmp_path / "tianjin"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)[0]["coverage"]
    assert report["unreachable"] == [] and report["missed"] == [] and report["percent"] == 100


TEST_POLICIES = POLICIES.parent / "tests" / "policies"


@pytest.mark.parametrize("backend", ["compiled", "interpreted"])
@pytest.mark.parametrize(
    "construct", sorted(p.name for p in TEST_POLICIES.iterdir() if (p / "tests").is_dir())
)
def test_the_construct_policies_cases_reach_every_row(
    construct: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The policies of tests/policies exist to exercise the language's constructs: their
    hand-worked cases pass on both back ends and reach every rule and row (100%), so a
    construct added without a case, or a row no case reaches, fails here."""
    path = str(TEST_POLICIES / construct)
    code = main(["test", path, "--min-coverage", "100", "--backend", backend])
    assert code == 0, capsys.readouterr().out
