"""The catalogue of common mistakes, as data: each planted in a small policy, each diagnostic exact.

A case is a file `tests/diagnostics/<case>.policy`: the mistake, checked as `city/rules.policy`
of a policy made of `tests/diagnostics/city/` (the header declaring `policy city` using
`national`; the held document DOC, its text in `sources/doc.md`; GUIDE, not held) beside a copy
of the bundled `national/` layer. Under a line, marks state the diagnostics on that line:

    let outpatient_deductible = 800 元
    ### col 1: error[C001]: missing citation: figure `outpatient_deductible`
    ###   help: add `cite DOC CLAUSE "quote"`, `secondary DOC` or `provisional "reason"`

- `### col N: SEVERITY[CODE]: MESSAGE`: a diagnostic at column N of the line above the mark,
  with exactly this message;
- `###   help: HINT`: its hint (a diagnostic without a `help` mark must have none);
- `###   note L:C: MESSAGE`: a related place, at line L of the case file (and column C);
- `###` lines before the policy's first line describe the case.

Every `###` line is removed before the check, so the checked text is the policy alone (and
the line numbers the checker reports are mapped back to the case file's). The check must
report exactly the marked diagnostics, in that order (the checker sorts them by position):
code, severity, line, column, message, hint and related places — nothing more, nothing less;
the policy checks (`result.ok`, a policy built) exactly when no error is marked. A line
beginning `###` after the policy's first line that is not a mark fails the case.

The rendering, the `check` command and the bundled policies are tested below in Python.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from policyengine.check import CheckResult, check
from policyengine.cli.main import main
from policyengine.diagnostics import Diagnostic, render
from tests.support import POLICIES

CASES = Path(__file__).resolve().parent / "diagnostics"
SCAFFOLD = CASES / "city"  # policy.policy and sources/doc.md
CHECKED = "city/rules.policy"  # what a case is checked as

_DIAGNOSTIC = re.compile(r"### col (\d+): (error|warning)\[([A-Z]\d{3})\]: (.+)")
_HELP = re.compile(r"###   help: (.+)")
_NOTE = re.compile(r"###   note (\d+):(\d+): (.+)")


class CaseError(Exception):
    """A case file that cannot be read: a mark that is not one."""


@dataclass
class Expected:
    """One diagnostic, as a mark states it or as the check reported it (case-file lines)."""

    line: int
    col: int
    severity: str
    code: str
    message: str
    hint: str | None = None
    related: list[tuple[str, str]] = field(default_factory=list)  # (line:col, message)

    def shown(self) -> str:
        notes = "".join(f"\n  note {at}: {message}" for at, message in self.related)
        hint = f"\n  help: {self.hint}" if self.hint is not None else ""
        return f"{self.line}:{self.col}: {self.severity}[{self.code}]: {self.message}{hint}{notes}"


@dataclass(frozen=True)
class Case:
    path: Path
    policy: str  # the text checked: the case without its `###` lines
    lines: tuple[int, ...]  # the case file's line of each line of `policy`
    expected: tuple[Expected, ...]

    def at(self, span_file: str, line: int, col: int) -> str:
        """A place the check reported, as a mark names it (`L:C` in the case file)."""
        if span_file != CHECKED or not 1 <= line <= len(self.lines):
            return f"{span_file}:{line}:{col}"
        return f"{self.lines[line - 1]}:{col}"

    def found(self, diagnostic: Diagnostic) -> Expected:
        place = self.at(diagnostic.span.file, diagnostic.span.line, diagnostic.span.col)
        line, _, col = place.rpartition(":")
        return Expected(
            int(line) if line.isdigit() else -1,
            int(col),
            diagnostic.severity.value,
            diagnostic.code,
            diagnostic.message,
            diagnostic.hint,
            [
                (self.at(r.span.file, r.span.line, r.span.col), r.message)
                for r in diagnostic.related
            ],
        )


def read_case(path: Path) -> Case:
    policy: list[str] = []
    lines: list[int] = []
    expected: list[Expected] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not text.startswith("###"):
            policy.append(text)
            lines.append(number)
        elif policy:  # a mark (before the policy's first line: the description)
            _mark(f"{path.name}:{number}", text, lines[-1], expected)
    return Case(path, "\n".join(policy), tuple(lines), tuple(expected))


def _mark(where: str, text: str, line: int, expected: list[Expected]) -> None:
    """A diagnostic mark adds one to `expected`; `help` and `note` complete the last."""
    if (diagnostic := _DIAGNOSTIC.fullmatch(text)) is not None:
        col, severity, code, message = diagnostic.groups()
        expected.append(Expected(line, int(col), severity, code, message))
        return
    last = expected[-1] if expected else None
    if last is not None and (hint := _HELP.fullmatch(text)) is not None and last.hint is None:
        last.hint = hint.group(1)
    elif last is not None and (note := _NOTE.fullmatch(text)) is not None:
        last.related.append((f"{note.group(1)}:{note.group(2)}", note.group(3)))
    else:
        raise CaseError(f"{where}: not a mark: {text!r}")


def check_case(case: Case, root: Path) -> CheckResult:
    """Check the case as city/rules.policy beside the scaffold and national, under `root`."""
    shutil.copytree(POLICIES / "national", root / "national")
    shutil.copytree(SCAFFOLD, root / "city")
    (root / "city" / "rules.policy").write_text(case.policy, encoding="utf-8")
    return check(root / "city")


def shown(case: Case, result: CheckResult) -> tuple[list[str], list[str]]:
    """What the marks expect and what the check found, each diagnostic as one text."""
    return (
        [e.shown() for e in case.expected],
        [case.found(d).shown() for d in result.diagnostics],
    )


CASE_FILES = sorted(CASES.glob("*.policy"))


def checked(name: str, tmp_path: Path) -> tuple[Case, CheckResult]:
    case = read_case(CASES / f"{name}.policy")
    return case, check_case(case, tmp_path)


# ------------------------------------------------------------------ the cases


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case(path: Path, tmp_path: Path) -> None:
    case = read_case(path)
    result = check_case(case, tmp_path)
    expected, found = shown(case, result)
    assert found == expected, f"{path.relative_to(CASES.parent.parent)}"
    errors = any(e.severity == "error" for e in case.expected)
    assert result.ok is not errors
    assert (result.policy is None) is errors


def test_there_are_cases() -> None:
    assert len(CASE_FILES) >= 46
    codes = {e.code for path in CASE_FILES for e in read_case(path).expected}
    assert {"P001", "N001", "T001", "C001", "D001", "R001"} <= codes


def test_a_wrong_or_missing_mark_fails_the_case(tmp_path: Path) -> None:
    """The runner can fail: a wrong column, message, hint or note, and an unmarked
    diagnostic, each show up as a difference; a misspelled mark is refused."""
    source = (CASES / "overlapping_versions_of_a_figure.policy").read_text(encoding="utf-8")
    variants = [
        source.replace("### col 1: error[D001]", "### col 2: error[D001]"),
        source.replace("overlap from 2019-01-01", "overlap from 2019-01-02"),
        source.replace("###   help: give each version", "###   help: give every version"),
        source.replace("###   note 2:1: the other version", "###   note 2:1: the other one"),
        source.replace("###   note 2:1: the other version\n", ""),
        "\n".join(line for line in source.split("\n") if not line.startswith(("### col", "###  "))),
    ]
    for index, text in enumerate(variants):
        assert text != source
        path = tmp_path / f"variant{index}.policy"
        path.write_text(text, encoding="utf-8")
        expected, found = shown(read_case(path), check_case(read_case(path), tmp_path / str(index)))
        assert expected != found, text
    path.write_text(source.replace("###   help:", "###   hepl:"), encoding="utf-8")
    with pytest.raises(CaseError, match=r"variant5.policy:\d+: not a mark: '###   hepl:"):
        read_case(path)


# ------------------------------------------------------------------ rendering


def test_rendered_diagnostic(tmp_path: Path) -> None:
    _, result = checked("adding_two_ratios_suggests_points", tmp_path)
    (diagnostic,) = result.diagnostics
    assert render(diagnostic, result.texts) == (
        "city/rules.policy:1:14: error[T001]: cannot add two ratios\n"
        '  1 | let raised = 60% + 5% provisional "测试"\n'
        "    |              ^^^^^^^^\n"
        "  = help: an increase of a ratio is in percentage points: write `5 pt`, not `5%`"
    )


def test_rendered_diagnostic_with_related_span(tmp_path: Path) -> None:
    _, result = checked("overlapping_rows_point_at_both", tmp_path)
    (diagnostic,) = result.diagnostics
    lines = render(diagnostic, result.texts).splitlines()
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
    assert lines[6] == (
        "  = help: if one row is an exception to the other, label the general row "
        "(`name: when …`) and add `overrides name` to the exception"
    )


def test_caret_counts_wide_characters_twice(tmp_path: Path) -> None:
    _, result = checked("a_chinese_name_is_not_a_name", tmp_path)
    (diagnostic,) = result.diagnostics
    assert render(diagnostic, result.texts).splitlines()[1:3] == [
        "  1 | let 起付线 = 800 元",
        "    |     ^^",
    ]


# ------------------------------------------------------------------ the command


def test_check_command_exits_1_on_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, result = checked("missing_citation", tmp_path)
    assert main(["check", str(result.directory)]) == 1
    out = capsys.readouterr().out
    assert "city/rules.policy:1:1: error[C001]: missing citation" in out
    assert "city: FAILED" in out
    assert out.rstrip().endswith("1 error(s), 0 warning(s)")


def test_check_command_exits_0_on_the_bundled_policies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    for name in ("national", "quanzhou", "tianjin", "weihai", "chengdu"):
        assert f"{name}: ok" in out
    assert out.rstrip().endswith("0 error(s), 0 warning(s)")


@pytest.mark.parametrize("name", ["national", "quanzhou", "tianjin", "weihai", "chengdu"])
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
    (diagnostic,) = check(tmp_path / "tianjin").diagnostics
    assert (
        diagnostic.code,
        str(diagnostic.span),
        diagnostic.message,
        diagnostic.hint,
    ) == (
        "R005",
        "tianjin/policy.policy:4:1",
        "two_disease visits cannot be settled: the policy has no deductible and no ratio for them",
        "add `deductible two_disease …`, or a claim-level rule (`scope claim`, `action exclude`) "
        "`when visit two_disease` if the policy does not cover such visits",
    )
