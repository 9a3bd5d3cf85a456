"""`policyengine render POLICY --by-clause` (issue 18.3): each clause of each held document in
document order, its text, then every rule and figure citing it; the documents named but not
held; the provisional figures grouped. The HTML is validated by a strict HTML5 parser and as
well-formed XML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import html5lib
import pytest

from policyengine import nodes as n
from policyengine.check import check
from policyengine.clauses import index_document
from policyengine.cli.main import main
from policyengine.tools.literate import GROUPS, View, build_view, quoted_spans
from policyengine.tools.render import render
from tests.support import POLICIES, ROOT

CITIES = ("tianjin", "quanzhou")


@pytest.fixture(scope="module", params=CITIES)
def view(request: pytest.FixtureRequest) -> View:
    built = build_view(POLICIES / request.param)
    assert isinstance(built, View)
    return built


def cites_in_rule_files(city: str) -> Counter[str]:
    """How often the rule files cite each held document, counted in their text."""
    held = {"tianjin": ("TJ2018", "TJ14"), "quanzhou": ("QZ2021",)}[city]
    text = "".join(p.read_text(encoding="utf-8") for p in (POLICIES / city).glob("*.policy"))
    return Counter(m for m in re.findall(r"\bcite (\w+)", text) if m in held)


def test_every_clause_in_document_order_with_its_text(view: View) -> None:
    for document in view.documents:
        text = (POLICIES / view.name / document.file).read_text(encoding="utf-8")
        index = index_document(text)
        assert [p.path for p in document.clauses] == index.order
        shown = "".join(line for p in document.passages for line in p.lines).split()
        written = "".join(line for _path, line in index.lines).split()
        assert shown == written  # every line of the document, none twice


def test_every_citation_of_a_held_document_stands_under_its_clause(view: View) -> None:
    counted = Counter(
        c.provenance.doc
        for d in view.documents
        for p in d.passages
        for c in p.cited
        if isinstance(c.provenance, n.Cite)
    )
    assert counted == cites_in_rule_files(view.name)
    for document in view.documents:
        for passage in document.passages:
            for item in passage.cited:
                assert isinstance(item.provenance, n.Cite | n.Secondary)
                if item.provenance.clause:  # written under the clause it names (or its alias)
                    assert passage.path.endswith(item.provenance.clause)


def test_provisional_figures_grouped_are_those_check_lists(view: View) -> None:
    listed = {c.location for _title, items in view.provisional for c in items}
    notes = {note.location for note in check(POLICIES / view.name).notes}
    layer = {note.location for note in check(POLICIES / "national").notes}
    assert listed == notes | layer
    assert [title for title, _ in view.provisional][:2] == [
        "the policy's start",
        "named figures (let)",
    ]


@pytest.mark.parametrize("name", ["constructs", "yearjiao"])
def test_the_test_policies_provisional_header_is_listed_as_check_lists(name: str) -> None:
    """The newest constructs (tiers, benefit year, rounding) take citations too: every place
    check finds provisional is in the view (one enumeration of places, check/citations.py)."""
    policy = ROOT / "tests" / "policies" / name
    built = build_view(policy)
    assert isinstance(built, View)
    # the view lists a provisional catalogue too; check counts figures and rules only
    listed = {
        c.location
        for title, items in built.provisional
        if title != GROUPS["catalogue"]
        for c in items
    }
    assert listed == {note.location for note in check(policy).notes}
    header = dict(built.provisional)["the policy's header: tiers, benefit year, rounding"]
    assert all(c.location.startswith(f"{name}/policy.policy:") for c in header)
    assert header and all(c.label.startswith(f"policy {name}: ") for c in header)


def test_the_text_view_of_tianjin() -> None:
    built = build_view(POLICIES / "tianjin")
    assert isinstance(built, View)
    text = render(built, "text")
    clause = text[text.index("[三(二)5]") :]
    clause = clause[: clause.index("\n\n")]
    assert "对重复开药、超量开药、超禁忌症使用、重复开具诊疗项目等发生的医疗费用预警拦截" in clause
    assert [line.split()[1] for line in clause.splitlines() if line.startswith("  ← ")] == [
        "tianjin/audit.policy:4",
        "tianjin/audit.policy:11",
        "tianjin/audit.policy:22",
        "tianjin/audit.policy:28",
    ]
    assert "[三(二)1]  · nothing cites this clause" in text
    cap = text[text.index("  ← tianjin/benefits.policy:85") :].splitlines()[:2]
    assert cap == [
        "  ← tianjin/benefits.policy:85  cap outpatient row: when scheme employee => 7500 元 "
        "from 2019-01-01",
        "      cite TJ14 一(一) “职工医保门诊最高支付限额由5500元提高至7500元”",
    ]


def test_the_markdown_view(view: View) -> None:
    markdown = render(view, "markdown")
    assert markdown.startswith(f"# {view.title} ({view.name}) — the rules by clause\n")
    headings = re.findall(r"^### (\S+)$", markdown, re.MULTILINE)
    clauses = [p.path for d in view.documents for p in d.clauses]
    assert [h for h in headings if h in set(clauses)] == clauses


def test_the_html_view_is_valid_markup_with_the_quotes_marked(view: View) -> None:
    page = render(view, "html")
    parser = html5lib.HTMLParser(strict=True)  # raises on any parse error of HTML5
    parser.parse(page)
    root = ET.fromstring(page.removeprefix("<!DOCTYPE html>\n"))  # well-formed as XML too
    marked = "".join(mark.text or "" for mark in root.iter("mark"))
    quotes = {
        c.quote
        for d in view.documents
        for p in d.passages
        for c in p.cited
        if c.quote and isinstance(c.provenance, n.Cite)
    }
    assert quotes
    folded = re.sub(r"\s", "", marked.replace("，", ","))
    for quote in quotes:
        assert re.sub(r"\s", "", quote).replace("，", ",")[:10] in folded
    sections = root.findall(".//{*}section") or root.findall(".//section")
    assert sum(1 for s in sections if "uncited" in s.get("class", "")) > 0


def test_quoted_spans_fold_width_and_white_space() -> None:
    text = "2.普通门诊支付比例\n为６０％。"
    ((start, end),) = quoted_spans(text, ["支付比例为60%"])
    assert text[start:end] == "支付比例\n为６０％"


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "quanzhou.html"
    assert (
        main(
            [
                "render",
                str(POLICIES / "quanzhou"),
                "--by-clause",
                "--format",
                "html",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["render", str(POLICIES / "quanzhou"), "--by-clause"]) == 0
    assert capsys.readouterr().out.startswith("泉州市基本医疗保险")


def test_a_policy_with_errors_is_not_rendered(
    tmp_path: Path, capsys: pytest.CaptureFixture[Any]
) -> None:
    for name in ("national", "quanzhou"):
        (tmp_path / name).mkdir()
        for path in (POLICIES / name).glob("*.policy"):
            (tmp_path / name / path.name).write_text(path.read_text("utf-8"), "utf-8")
    benefits = tmp_path / "quanzhou" / "benefits.policy"
    benefits.write_text(benefits.read_text("utf-8").replace("700 元", "7OO 元"), "utf-8")
    assert main(["render", str(tmp_path / "quanzhou"), "--by-clause"]) == 1
    assert "quanzhou: FAILED" in capsys.readouterr().err
