"""Every ```policy example in docs/language.md and docs/diagnostics.md is checked, so the manuals
cannot drift.

How a block becomes a policy directory (docs/language.md, "How the examples are checked",
says the same for readers):

- The temporary root holds a copy of the bundled `national/` layer.
- A block whose first declaration is `policy NAME …` is a whole file: it is written as
  `NAME/policy.policy` and `NAME/` is checked (a block declaring `policy national` replaces
  the national layer's rule files; its catalogue.csv stays).
- Any other block is written as `example/example.policy` beside the standard header
  (HEADER below, `example/policy.policy`), which declares `policy example` using
  `national`, in force from 2014-01-01, and the source documents TJ2018, TJ14, QZ2021,
  WH2020, CD2020, QBJ (held) and TJ2014, RX2007, NHSA2019 (not held).
- Every example directory gets the held documents' text under `sources/` (copied from
  policies/*/sources: Tianjin, Quanzhou, Weihai, Chengdu), and every file the manual shows
  in a fenced block preceded by `<!-- file: NAME -->` (e.g. a catalogue CSV).
- A block preceded by `<!-- expect: T001 C004 -->` must produce exactly those diagnostic
  codes, in the checker's (sorted) order; any other block must check clean.
- docs/diagnostics.md, the home of the diagnostic codes, is read the same way; a ```text
  block right after an expecting example shows what `policyengine check` prints for it, and
  must be exactly that. Every code the package can raise has its section there, with the
  one-line meaning of `diagnostics.CODES` in its heading (`### C001 · missing citation`).
"""

from __future__ import annotations

import ast
import dataclasses
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from policyengine.check import check
from policyengine.diagnostics import CODES, render

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
LANGUAGE = DOCS / "language.md"
DIAGNOSTICS = DOCS / "diagnostics.md"
POLICIES = REPO / "policies"
HELD = sorted(
    held
    for city in ("tianjin", "quanzhou", "weihai", "chengdu")
    for held in (POLICIES / city / "sources").glob("*.md")
)

HEADER = """\
policy example "示例市基本医疗保险" {
  uses national
  effective from 2014-01-01
    provisional "示例的起始日期"
}

source TJ2018 {
  title  "天津市人民政府办公厅关于加强医疗机构药品供应保障的实施意见"
  number "津政办发〔2018〕4号"
  date   2018-02-28
  file   "sources/tianjin-2018-drug-supply.md"
}

source TJ14 {
  title  "天津市医疗保障发展“十四五”规划"
  date   2021-06-29
  file   "sources/tianjin-2021-14th-five-year-plan.md"
}

source QZ2021 {
  title  "泉州市丰泽区创建“两病”门诊用药保障示范城市样板县实施方案"
  number "泉丰政办综〔2021〕33号"
  file   "sources/quanzhou-fengze-2021-two-diseases.md"
}

source WH2020 {
  title  "《关于进一步深化医药卫生体制改革的实施意见》中期评估报告"
  date   2020-02-25
  file   "sources/weihai-2020-reform-midterm-evaluation.md"
}

source CD2020 {
  title  "医保报销比例"
  date   2020-12-29
  file   "sources/chengdu-2020-inpatient-ratios-webpage.md"
}

source QBJ {
  title  "成都市青白江区国家组织药品集中采购和使用试点工作报告"
  file   "sources/chengdu-qingbaijiang-volume-procurement.md"
}

source TJ2014 {
  title  "天津市城乡居民大病保险办法"
  number "津政办发〔2014〕42号"
}

source RX2007 {
  title  "处方管理办法"
  number "卫生部令第53号"
}

source NHSA2019 {
  title  "关于完善城乡居民高血压糖尿病门诊用药保障机制的指导意见"
  number "医保发〔2019〕54号"
}
"""

_FENCE = re.compile(r"^```(\S*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_EXPECT = re.compile(r"<!--\s*expect:\s*([A-Z0-9 ]*?)\s*-->\s*$")
_FILE = re.compile(r"<!--\s*file:\s*(\S+)\s*-->\s*$")
_POLICY = re.compile(r"^policy\s+([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Example:
    doc: str  # the file name under docs/
    line: int  # of the opening fence
    text: str
    expect: tuple[str, ...]
    output: str | None = None  # the ```text block after it: what `check` prints

    @property
    def policy_name(self) -> str | None:
        for raw in self.text.splitlines():
            line = raw.strip()
            if line and not line.startswith("#"):
                match = _POLICY.match(line)
                return match.group(1) if match else None
        return None


def _preceding_comment(text: str, start: int) -> str:
    """The last non-blank line before offset `start`."""
    before = text[:start].rstrip().splitlines()
    return before[-1] if before else ""


def read_doc(path: Path) -> tuple[list[Example], dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    examples: list[Example] = []
    files: dict[str, str] = {}
    previous_end = -1
    for match in _FENCE.finditer(text):
        comment = _preceding_comment(text, match.start())
        if (named := _FILE.search(comment)) is not None:
            files[named.group(1)] = match.group(2)
        right_after = text[previous_end : match.start()].strip() == ""
        previous_end = match.end()
        if match.group(1) == "text" and right_after and examples and examples[-1].expect:
            examples[-1] = dataclasses.replace(examples[-1], output=match.group(2))
        if match.group(1) != "policy":
            continue
        expected = _EXPECT.search(comment)
        codes = tuple(expected.group(1).split()) if expected else ()
        line = text.count("\n", 0, match.start()) + 1
        examples.append(Example(path.name, line, match.group(2), codes))
    return examples, files


READ = {path.name: read_doc(path) for path in (LANGUAGE, DIAGNOSTICS)}
EXAMPLES = [example for examples, _ in READ.values() for example in examples]
FILES = {name: files for name, (_, files) in READ.items()}  # per document


def materialise(root: Path, example: Example) -> Path:
    """Write the example's policy directory (and the national layer) under `root`."""
    shutil.copytree(POLICIES / "national", root / "national")
    name = example.policy_name
    directory = root / (name or "example")
    for existing in directory.glob("*.policy"):  # the example is the national layer itself
        existing.unlink()
    (directory / "sources").mkdir(parents=True, exist_ok=True)
    for held in HELD:
        shutil.copy(held, directory / "sources" / held.name)
    for file_name, content in FILES[example.doc].items():
        (directory / file_name).write_text(content, encoding="utf-8")
    if name is not None:
        (directory / "policy.policy").write_text(example.text, encoding="utf-8")
    else:
        (directory / "policy.policy").write_text(HEADER, encoding="utf-8")
        (directory / "example.policy").write_text(example.text, encoding="utf-8")
    return directory


def test_the_manual_has_examples() -> None:
    examples = READ[LANGUAGE.name][0]
    assert len(examples) >= 40
    assert any(e.expect for e in examples)
    assert any(e.policy_name for e in examples)


def test_the_standard_header_checks_clean(tmp_path: Path) -> None:
    example = Example(LANGUAGE.name, 0, "# nothing but the header\n", ())
    result = check(materialise(tmp_path, example))
    assert result.diagnostics == ()


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.doc}:{e.line}" for e in EXAMPLES])
def test_example(example: Example, tmp_path: Path) -> None:
    result = check(materialise(tmp_path, example))
    found = tuple(d.code for d in result.diagnostics)
    shown = "\n".join(d.headline() for d in result.diagnostics)
    assert found == example.expect, f"docs/{example.doc}:{example.line}\n{shown}"
    if not example.expect:
        assert result.policy is not None
    if example.output is not None:  # the temporary root shown as `…` (N003 names a directory)
        printed = "\n".join(render(d, result.texts) for d in result.diagnostics)
        printed = printed.replace(str(tmp_path), "…")
        assert printed == example.output.rstrip("\n"), f"docs/{example.doc}:{example.line}"


# ------------------------------------------------------------------ the diagnostic codes

_SECTION = re.compile(r"^### ([A-Z]\d{3}) · (.+)$", re.MULTILINE)
_CODE = re.compile(r"[A-Z]\d{3}")


def raised_codes() -> dict[str, list[str]]:
    """Every diagnostic code written in the package's source (outside the CODES table), with
    where: a string literal of the form `A123` is a code wherever it is (the checker passes
    them to `error`, sometimes by a conditional expression)."""
    found: dict[str, list[str]] = {}
    package = REPO / "policyengine"
    for path in sorted(package.rglob("*.py")):
        if path.name == "diagnostics.py" and path.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and _CODE.fullmatch(value):
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                found.setdefault(value, []).append(where)
    return found


def test_every_code_raised_is_declared_and_every_code_declared_is_raised() -> None:
    raised = raised_codes()
    assert {code: where for code, where in raised.items() if code not in CODES} == {}
    assert [code for code in CODES if code not in raised] == []


def test_every_diagnostic_code_is_documented_in_its_home() -> None:
    sections = _SECTION.findall(DIAGNOSTICS.read_text(encoding="utf-8"))
    assert [code for code, _ in sections] == list(CODES)  # in the order of the table
    assert dict(sections) == dict(CODES)  # the heading is the code's one-line meaning
    shown = {code for e in READ[DIAGNOSTICS.name][0] if e.output for code in e.expect}
    assert sorted(set(CODES) - shown) == ["I002"]  # layout errors are shown, not checked
    # the manual's summary of `check` points here instead of repeating the codes
    assert "(diagnostics.md)" in LANGUAGE.read_text(encoding="utf-8")


# ------------------------------------------------------------------ the walkthrough (§18)

_WALKTHROUGH = re.compile(
    r"<!--\s*walkthrough:\s*(policy|cases)\s*-->\s*\n```\w*[ \t]*\n(.*?)^```", re.M | re.S
)


def test_the_walkthrough_city_checks_clean_and_its_cases_pass_on_both_back_ends(
    tmp_path: Path,
) -> None:
    """docs/language.md §18 writes a new city from a published page: its rule file must check
    clean, and its hand-computed cases pass with every row exercised, on both back ends."""
    from policyengine.engine import Engine
    from policyengine.policytest.runner import run_directory

    blocks = dict(_WALKTHROUGH.findall(LANGUAGE.read_text(encoding="utf-8")))
    assert set(blocks) == {"policy", "cases"}
    example = Example(LANGUAGE.name, 0, blocks["policy"], ())
    directory = materialise(tmp_path, example)
    assert check(directory).diagnostics == ()
    (directory / "tests").mkdir()
    (directory / "tests" / "inpatient.yaml").write_text(blocks["cases"], encoding="utf-8")
    for backend in ("compiled", "interpreted"):
        engine = Engine.load(directory, cache=False, backend=backend)
        report = run_directory(engine, directory)
        assert len(report.outcomes) >= 6 and report.failed == [], backend
        assert report.coverage.percent == 100.0, report.coverage.missed()
