"""`policyengine fmt` (issue 18.1): the canonical layout, every comment kept, idempotent,
the parse unchanged — on the bundled policies and on mutations of them (whitespace moved
and comments planted between any two words) — and the bundled policies kept formatted.
"""

from __future__ import annotations

import dataclasses
import io
import random
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine import nodes as n
from policyengine.build import build
from policyengine.cli.main import main
from policyengine.diagnostics import Diagnostics
from policyengine.grammar import layout_rule_names, parse_layout
from policyengine.parse import parse
from policyengine.span import SourceText, Span
from policyengine.tools.fmt import KNOWN_RULES, format_text
from tests.support import FUZZ, POLICIES, ROOT

RULE_FILES = sorted(POLICIES.glob("*/*.policy"))
# The test policies (tests/policies) exercise the newest constructs of the language: fmt
# must lay them out too (they are not required to be kept formatted).
ALL_RULE_FILES = RULE_FILES + sorted((ROOT / "tests" / "policies").glob("*/*.policy"))


def declarations(text: str) -> Any:
    """What the text declares, without positions (a source's fields in any order)."""
    source = SourceText(Path("x.policy"), "x.policy", text)
    parsed = parse(source)
    assert not parsed.diagnostics and parsed.tree is not None
    return shape(build(source, parsed.tree, Diagnostics()))


def shape(value: Any) -> Any:
    if isinstance(value, Span):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts = [(f.name, shape(getattr(value, f.name))) for f in dataclasses.fields(value)]
        if isinstance(value, n.Quantity):  # its text is what was written, for messages
            parts = [(k, v) for k, v in parts if k != "text"]
        if isinstance(value, n.SourceDecl):
            parts = [(k, tuple(sorted(v, key=repr)) if k == "fields" else v) for k, v in parts]
        return type(value).__name__, tuple(parts)
    if isinstance(value, tuple):
        return tuple(shape(item) for item in value)
    return value


def comments(text: str) -> list[str]:
    return sorted(str(c).rstrip() for c in parse_layout(text)[1])


def formatted(text: str) -> str:
    result = format_text(text)
    assert result.text is not None, [d.headline() for d in result.diagnostics]
    return result.text


# ------------------------------------------------------------------ the bundled policies


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_bundled_policies_are_formatted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert formatted(text) == text, f"run `policyengine fmt {path}`"


@pytest.mark.parametrize("path", ALL_RULE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fmt_of_every_policy_is_stable_and_keeps_the_parse_and_comments(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    once = formatted(text)
    assert formatted(once) == once
    assert comments(once) == comments(text)
    assert declarations(once) == declarations(text)


def test_fmt_has_a_layout_for_every_rule_of_the_grammar() -> None:
    """A construct added to the grammar fails here until tools/fmt.py says how it is laid out."""
    missing = {name for name in layout_rule_names() if not name.startswith("_")} - KNOWN_RULES
    assert not missing, f"tools/fmt.py has no layout for {sorted(missing)}"


# ------------------------------------------------------------------ the layout


MESSY = """\
# header comment

policy city "测试市" {
effective from 2020-01-01 provisional "测试"   # when it starts
      uses national
}
source DOC { file "sources/doc.md" number "1号"
 title "文件" }

let base "基数"=800元 provisional "测试"
let sum = ( base+5 元 )×50 % from 2020-01-01 until 2020-12-31 provisional "x" dates provisional "y"
condition c = I10 .. I15 , E10 with Z49 or Z99.2 secondary ICD10
ratio outpatient { complete over scheme,status
  # the working employees
  when scheme employee,status working=>60%
     provisional "a"
  when scheme resident=>50% provisional "b"


  late: when scheme employee, status retired => 55% provisional "c" overrides x
  adjust up: when group low_income => 5pt provisional "d"
}
audit duplicate_service cite DOC 一(一)1 "q" { action reject }
"""

CANONICAL = """\
# header comment

policy city "测试市" {
  uses national
  effective from 2020-01-01
    provisional "测试"  # when it starts
}
source DOC {
  title  "文件"
  number "1号"
  file   "sources/doc.md"
}

let base "基数" = 800 元
  provisional "测试"
let sum = (base + 5 元) × 50% from 2020-01-01 until 2020-12-31
  provisional "x"
  dates provisional "y"
condition c = I10..I15, E10 with Z49 or Z99.2
  secondary ICD10
ratio outpatient {
  complete over scheme, status
  # the working employees
  when scheme employee, status working => 60%
    provisional "a"
  when scheme resident                 => 50%
    provisional "b"

  late: when scheme employee, status retired => 55%
    provisional "c"
    overrides x
  adjust up: when group low_income => 5 pt
    provisional "d"
}
audit duplicate_service
  cite DOC 一(一)1 "q" {
  action reject
}
"""


def test_the_canonical_layout() -> None:
    assert formatted(MESSY) == CANONICAL
    assert formatted(CANONICAL) == CANONICAL
    assert declarations(CANONICAL) == declarations(MESSY)


def test_comments_between_any_two_words_stay_where_they_were() -> None:
    text = (
        "ratio outpatient {  # after the brace\n"
        "  when scheme # inside the conditions\n"
        "    employee => 60%\n"
        "    # before the citation\n"
        '    provisional "a"\n'
        "  # at the end of the block\n"
        "}\n"
        "# at the end of the file\n"
    )
    assert formatted(text) == (
        "ratio outpatient {  # after the brace\n"
        "  when scheme  # inside the conditions\n"
        "    employee => 60%\n"
        "    # before the citation\n"
        '    provisional "a"\n'
        "  # at the end of the block\n"
        "}\n"
        "# at the end of the file\n"
    )


def test_a_long_row_breaks_before_its_arrow() -> None:
    conditions = ", ".join(f"group g{i}" for i in range(8))
    text = f'ratio outpatient {{\n  when {conditions}, scheme resident => 60% provisional "a"\n}}\n'
    assert formatted(text).splitlines()[1:3] == [
        f"  when {conditions}, scheme resident",
        "    => 60%",
    ]


def test_a_file_with_syntax_errors_is_not_formatted() -> None:
    result = format_text('let a = 800 元 provisional "x"\nlet b = ７ 元\n')
    assert result.text is None
    assert [d.code for d in result.diagnostics] == ["P004"]


# ------------------------------------------------------------------ mutated policies


def mutate(text: str, seed: int) -> str:
    """`text` with the white space between its words replaced at random (never joining two
    words, always a line break after a comment) and comments planted between words."""
    rng = random.Random(seed)
    tree, found = parse_layout(text)
    words = sorted([*tree.scan_values(lambda _: True), *found], key=lambda w: w.start_pos)
    out, position, after_comment = [], 0, False
    for number, word in enumerate(words):
        gap = text[position : word.start_pos]
        choices = [" ", "  ", "\n", "\n\n", "\n      ", "\t", " \n \n  "] if gap else ["", " "]
        if after_comment:
            choices = [c for c in choices if "\n" in c] or ["\n"]
        new = rng.choice(choices)
        if rng.random() < 0.08:
            new = f"{new} # planted {number}\n{rng.choice(['', '  ', chr(10)])}"
        out.append(new + str(word))
        position, after_comment = word.end_pos, word.type == "COMMENT"
    out.append(text[position:])
    return "".join(out)


# Each example formats a whole rule file twice (some 0.3 s): a quarter of the fuzz budget.
@settings(FUZZ, max_examples=max(10, (FUZZ.max_examples or 100) // 4))
@given(
    path=st.sampled_from(ALL_RULE_FILES),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_fmt_of_a_mutated_policy_is_stable_and_keeps_the_parse_and_comments(
    path: Path, seed: int
) -> None:
    original = path.read_text(encoding="utf-8")
    mutated = mutate(original, seed)
    once = formatted(mutated)
    assert formatted(once) == once
    assert comments(once) == comments(mutated)
    assert declarations(once) == declarations(mutated) == declarations(original)


# ------------------------------------------------------------------ the command


class Done(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """`policyengine fmt …` in this process (the parsers are built once)."""

    def fmt(*args: str, stdin: str | None = None) -> Done:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["fmt", *args])
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return fmt


def test_the_command_checks_shows_and_writes(tmp_path: Path, run: Any) -> None:
    rules = tmp_path / "city" / "rules.policy"
    rules.parent.mkdir()
    rules.write_text(MESSY, encoding="utf-8")
    done = run("--check", str(tmp_path / "city"))
    assert done.returncode == 1
    assert done.stdout.startswith(f"--- a/{rules}\n+++ b/{rules}\n")
    assert f"would reformat {rules}" in done.stderr
    assert rules.read_text(encoding="utf-8") == MESSY  # --check writes nothing
    done = run("--diff", str(rules))
    assert done.returncode == 0 and "+  uses national\n" in done.stdout
    assert rules.read_text(encoding="utf-8") == MESSY
    done = run(str(rules))
    assert done.returncode == 0 and f"reformatted {rules}" in done.stderr
    assert rules.read_text(encoding="utf-8") == CANONICAL
    done = run("--check", str(rules))
    assert (done.returncode, done.stdout) == (0, "")
    assert run("-", stdin=MESSY).stdout == CANONICAL


def test_the_command_reports_syntax_errors(tmp_path: Path, run: Any) -> None:
    rules = tmp_path / "rules.policy"
    rules.write_text("let a = 3,000 元\n", encoding="utf-8")
    done = run(str(rules))
    assert done.returncode == 1
    assert "error[P004]: `3,000`: numbers are written without thousands separators" in done.stderr
    assert rules.read_text(encoding="utf-8") == "let a = 3,000 元\n"


def test_ci_keeps_the_bundled_policies_formatted(run: Any) -> None:
    done = run("--check", str(POLICIES))
    assert done.returncode == 0, done.stdout
    assert done.stderr.startswith("0 file(s) would be reformatted")
