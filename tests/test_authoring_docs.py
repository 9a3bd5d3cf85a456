"""docs/authoring.md says what is true: its YAML case file runs and passes on Tianjin."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from policyengine.policytest.runner import run_policies
from tests.support import POLICIES, ROOT

GUIDE = ROOT / "docs" / "authoring.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_guides_case_file_passes(tmp_path: Path) -> None:
    (example,) = blocks("yaml")
    for name in ("national", "tianjin"):
        shutil.copytree(POLICIES / name, tmp_path / name, ignore=shutil.ignore_patterns("tests"))
    (tmp_path / "tianjin" / "tests").mkdir()
    (tmp_path / "tianjin" / "tests" / "example.yaml").write_text(example, encoding="utf-8")
    (report,) = run_policies([tmp_path / "tianjin"])
    assert len(report.outcomes) == 3
    assert [o.mismatches for o in report.outcomes] == [[], [], []]


def test_the_guides_rule_examples_are_laid_out_as_fmt_lays_them() -> None:
    from policyengine.tools.fmt import format_text

    examples = blocks("policy")
    assert examples
    for example in examples:
        assert format_text(example).text == example
