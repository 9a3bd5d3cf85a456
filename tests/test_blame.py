"""`policyengine test` blames the rule a wrong figure comes from, and `--update` rewrites
reviewed expectations (issue 15.3).

Each test changes one row of a copy of Tianjin's rules — the employees' outpatient
deductible, cap or ratio — and runs the bundled cases: every mismatch that a settlement step
made must be blamed on the changed row (before, a changed deductible blamed the ratio)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policyengine.cli.main import main
from policyengine.policytest.blame import blame
from policyengine.policytest.runner import run_policies
from tests.support import POLICIES

DEDUCTIBLE = ("when scheme employee, status working => 800 元", "=> 800 元", "=> 900 元")
RATIO = ("when scheme employee, status working => by level 65% / 60% / 55%", "55%", "50%")
# the cap is cited, and the number check refuses a figure its quote does not state: the
# changed row says it is a hypothesis
CAP = (
    "when scheme employee => 7500 元 from 2019-01-01",
    '7500 元 from 2019-01-01\n    cite TJ14 一(一) "职工医保门诊最高支付限额由5500元提高至7500元"',
    '75000 元 from 2019-01-01\n    provisional "a test\'s hypothetical cap"',
)


@pytest.fixture
def tianjin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", "")
    monkeypatch.delenv("CI", raising=False)
    for city in ("national", "tianjin"):
        shutil.copytree(POLICIES / city, tmp_path / city)
    return tmp_path / "tianjin"


def change(directory: Path, row: str, old: str, new: str) -> str:
    """Change the row of benefits.policy whose words (apart from spacing) are `row`;
    its location."""
    path = directory / "benefits.policy"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (index,) = [i for i, line in enumerate(lines) if " ".join(line.split()) == row]
    text = "".join(lines[index:])
    assert old in text
    lines[index:] = [text.replace(old, new, 1)]
    path.write_text("".join(lines), encoding="utf-8")
    return f"tianjin/benefits.policy:{index + 1}"


@pytest.mark.parametrize("what", [DEDUCTIBLE, RATIO, CAP], ids=["deductible", "ratio", "cap"])
def test_every_failure_blames_the_changed_row(tianjin: Path, what: tuple[str, str, str]) -> None:
    changed = change(tianjin, *what)
    (report,) = run_policies([tianjin])
    blamed = [
        blame(outcome.result, mismatch, outcome.mismatches)
        for outcome in report.failed
        for mismatch in outcome.mismatches
    ]
    made = [b for b in blamed if b is not None]  # the rest are findings or lines
    assert len(made) >= 4, f"the change to {changed} broke too few cases to tell"
    assert {b.rules[0] for b in made} == {changed}


def test_update_rewrites_the_values_keeps_the_comments_and_the_cases_then_pass(
    tianjin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(tianjin, *DEDUCTIBLE)
    files = sorted((tianjin / "tests").glob("*.yaml"))
    before = {f: f.read_text(encoding="utf-8") for f in files}
    assert main(["test", str(tianjin)]) == 1
    capsys.readouterr()
    assert main(["test", str(tianjin), "--update"]) == 0
    out = capsys.readouterr().out
    assert (
        '-      totals: {deductible: "800.00", payers: {fund: "110.00"}, patient: "890.00"}' in out
    )
    assert (
        '+      totals: {deductible: "900.00", payers: {fund: "55.00"}, patient: "945.00"}' in out
    )
    assert "review the diff" in out
    for path, text in before.items():
        after = path.read_text(encoding="utf-8")
        old_lines, new_lines = text.splitlines(), after.splitlines()
        assert len(old_lines) == len(new_lines)  # values change in place, nothing moves
        for old, new in zip(old_lines, new_lines, strict=True):
            if old.lstrip().startswith("#"):
                assert new == old  # every comment kept
            elif old != new:  # only quoted money changed
                assert old.split('"')[0::2] == new.split('"')[0::2], (old, new)
    assert main(["test", str(tianjin)]) == 0


def test_update_is_refused_in_ci_and_leaves_what_is_no_single_value(
    tianjin: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = tianjin / "tests" / "extra.yaml"
    cases.write_text(
        (tianjin / "tests" / "outpatient.yaml").read_text(encoding="utf-8").split("cases:")[0]
        + "cases:\n"
        + "  - name: expects a finding that is not there   # kept\n"
        + "    expect: {decision: reject, findings: [{kind: duplicate_dispensing}]}\n",
        encoding="utf-8",
    )
    text = cases.read_text(encoding="utf-8")
    monkeypatch.setenv("CI", "true")
    assert main(["test", str(tianjin), "--update"]) == 2
    assert "refused where CI is set" in capsys.readouterr().err
    assert cases.read_text(encoding="utf-8") == text
    monkeypatch.delenv("CI")
    assert main(["test", str(tianjin), "--update"]) == 1
    out = capsys.readouterr().out
    assert "not updated (edit by hand): tianjin/tests/extra.yaml:" in out
    assert "findings (count)" in out
    after = cases.read_text(encoding="utf-8")
    assert "expect: {decision: pay, findings:" in after and "# kept" in after
