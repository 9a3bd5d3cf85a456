"""What the language server answers, asked everywhere: hover, definition and completion at
every word of the bundled rule files — and of broken copies of them — answer or say nothing,
never fail (the server reads half-typed files all day)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from policyengine.grammar import parse_layout
from policyengine.semantics.vocabulary import MAX_ENROLLED_YEARS
from policyengine.tools.lsp.analysis import Analysis
from policyengine.tools.lsp.completion import complete
from tests.support import POLICIES, ROOT

TEST_POLICIES = ROOT / "tests" / "policies"


def ask_everywhere(analysis: Analysis, display: str, text: str) -> tuple[int, int]:
    """Hover and definition at the start of every word, completion at every line end; the
    number of hovers and definitions found."""
    hovers = definitions = 0
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        for column in range(1, len(line) + 2, 3):
            if analysis.hover(display, number, column):
                hovers += 1
            occurrence = analysis.at(display, number, column)
            if occurrence is not None and (
                analysis.definitions(occurrence) or analysis.clause_line(occurrence)
            ):
                definitions += 1
        offset = sum(len(previous) + 1 for previous in lines[: number - 1]) + len(line)
        complete(text, offset, analysis)
    analysis.outline(display)
    return hovers, definitions


@pytest.mark.parametrize("region", ["tianjin", "quanzhou"])
def test_every_position_of_the_bundled_policies(tmp_path: Path, region: str) -> None:
    for name in ("national", region):
        shutil.copytree(POLICIES / name, tmp_path / name, ignore=shutil.ignore_patterns("tests"))
    analysis = Analysis(tmp_path / region)
    assert analysis.result.ok
    for path in sorted((tmp_path / region).glob("*.policy")):
        display = f"{region}/{path.name}"
        hovers, definitions = ask_everywhere(analysis, display, path.read_text("utf-8"))
        assert hovers > 0 and definitions > 0, display


@pytest.mark.parametrize("name", sorted(p.name for p in TEST_POLICIES.iterdir() if p.is_dir()))
def test_every_position_of_the_test_policies(name: str) -> None:
    """The test policies use the newest constructs (tiers, the version-2 facts, …)."""
    analysis = Analysis(TEST_POLICIES / name)
    assert analysis.result.ok
    for path in sorted((TEST_POLICIES / name).glob("*.policy")):
        display = f"{name}/{path.name}"
        hovers, _definitions = ask_everywhere(analysis, display, path.read_text("utf-8"))
        assert hovers > 0, display


def test_a_tier_is_hovered_and_defined_where_the_header_names_it() -> None:
    analysis = Analysis(TEST_POLICIES / "constructs")
    header = (TEST_POLICIES / "constructs" / "policy.policy").read_text("utf-8").split("\n")
    benefits = (TEST_POLICIES / "constructs" / "benefits.policy").read_text("utf-8").split("\n")
    declared = next(i for i, line in enumerate(header, 1) if line.strip().startswith("tiers "))
    where = next(i for i, line in enumerate(benefits, 1) if "tier high" in line)
    column = benefits[where - 1].index("tier high") + len("tier ") + 1
    occurrence = analysis.at("constructs/benefits.policy", where, column)
    assert occurrence is not None and (occurrence.kind, occurrence.name) == ("tier", "high")
    (definition,) = analysis.definitions(occurrence)
    assert (definition.file, definition.line) == ("constructs/policy.policy", declared)
    assert header[declared - 1][definition.col - 1 : definition.end_col - 1] == "high"
    hover = analysis.hover("constructs/benefits.policy", where, column)
    assert hover is not None and hover.startswith("**tier** `high` 成年高档")
    default = next(i for i, line in enumerate(header, 1) if "default tier low" in line)
    column = header[default - 1].index("low") + 1
    hover = analysis.hover("constructs/policy.policy", default, column)
    assert hover is not None and "`default tier`" in hover


def test_broken_copies_answer_or_say_nothing(tmp_path: Path) -> None:
    for name in ("national", "tianjin"):
        shutil.copytree(POLICIES / name, tmp_path / name, ignore=shutil.ignore_patterns("tests"))
    path = tmp_path / "tianjin" / "benefits.policy"
    text = path.read_text("utf-8")
    tree, _comments = parse_layout(text)
    words = list(tree.scan_values(lambda _: True))
    rng = random.Random(18)
    for _ in range(12):  # drop, double or garble a few words: half-typed files
        broken = list(text)
        for word in sorted(rng.sample(words, 3), key=lambda w: -w.start_pos):
            replacement = rng.choice(["", str(word) * 2, "（", "７", '"', "{", "}"])
            broken[word.start_pos : word.end_pos] = replacement
        written = "".join(broken)
        analysis = Analysis(tmp_path / "tianjin", {path: written})
        assert not analysis.result.ok or written == text
        ask_everywhere(analysis, "tianjin/benefits.policy", written)


def test_completion_of_the_version_2_header_and_facts() -> None:
    analysis = Analysis(TEST_POLICIES / "constructs")

    def labels(text: str) -> list[str]:
        return [item.label for item in complete(text, len(text), analysis)]

    assert labels("policy x {\n  default tier ") == ["high", "low", "student"]
    assert labels("policy x {\n  money rounds to ") == ["fen", "jiao"]
    assert labels("ratio x {\n  when tier ") == ["not", "high", "low", "student"]
    assert labels("ratio x {\n  when enrolled_years ") == [f"0..{MAX_ENROLLED_YEARS}"]
    assert "enrolled_years" in labels("ratio x {\n  when ")


def test_a_header_statement_is_hovered_with_its_meaning_and_citation() -> None:
    analysis = Analysis(TEST_POLICIES / "yearjiao")
    header = (TEST_POLICIES / "yearjiao" / "policy.policy").read_text("utf-8").split("\n")
    line = next(i for i, text in enumerate(header, 1) if text.strip().startswith("money rounds"))
    hover = analysis.hover("yearjiao/policy.policy", line, 5)
    assert hover is not None
    assert hover.startswith("**policy** `yearjiao`: `money rounds to jiao`")
    assert "rounded to" in hover and "provisional: 测试策略:结算到角" in hover
