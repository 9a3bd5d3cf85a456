"""`explain`: golden renderings (reviewed by hand, not regenerated blindly) and replay.

To update a golden file after an intended change, run with POLICYENGINE_UPDATE_GOLDEN=1,
then read the diff (`git diff tests/golden`) before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from policyengine.cli.main import main
from policyengine.engine import Engine
from policyengine.explain import document as stored
from policyengine.explain import render as explain
from tests.support import EXAMPLES, POLICIES

GOLDEN = Path(__file__).parent / "golden"
CASES = {"outpatient": "claim.json", "inpatient": "claim-inpatient.json"}


@pytest.fixture(scope="module")
def documents() -> dict[str, dict]:
    engine = Engine.load()
    out = {}
    for name, file in CASES.items():
        claim = json.loads((EXAMPLES / file).read_text(encoding="utf-8"))
        result = engine.settle(claim, trace=True)
        words = engine.policy(result["policy"]["region"]).words()
        out[name] = stored.trace_document(claim, result, words)
    return out


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("POLICYENGINE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_text_at_80_columns(documents: dict[str, dict], case: str, lang: str) -> None:
    document = documents[case]
    doc = explain.build(document["claim"], document["result"], lang, stored.words_of(document))
    text = explain.render_text(doc, width=80, color=False)
    golden(f"explain-{case}-{lang}.txt", text)
    from rich.cells import cell_len

    assert all(cell_len(line) <= 80 for line in text.splitlines())
    assert "\x1b[" not in text


@pytest.mark.parametrize("case", CASES)
def test_markdown(documents: dict[str, dict], case: str) -> None:
    document = documents[case]
    golden(
        f"explain-{case}.md",
        explain.render_markdown(
            explain.build(document["claim"], document["result"], "zh", stored.words_of(document))
        ),
    )


def test_json_trace_document(documents: dict[str, dict]) -> None:
    text = json.dumps(documents["inpatient"], ensure_ascii=False, indent=2) + "\n"
    golden(
        "trace-inpatient.json",
        text.replace('"generator": "policyengine 0.1.0"', '"generator": "policyengine"'),
    )


def test_every_step_names_its_rule_and_cites_a_clause(documents: dict[str, dict]) -> None:
    for document in documents.values():
        for step in document["result"]["trace"]:
            if step["step"] in (
                "deductible",
                "ratio",
                "cap",
                "limit",
                "critical_illness",
                "audit_table",
                "policy",
            ):
                assert step["rule"] and ":" in step["rule"]
                assert step["source"]["provenance"] in ("cited", "secondary", "provisional")
        for finding in document["result"]["findings"]:
            assert finding["rule"] and finding["source"]["provenance"]


def test_provisional_figures_are_flagged(documents: dict[str, dict]) -> None:
    document = documents["outpatient"]
    text = explain.render_text(
        explain.build(document["claim"], document["result"], "zh", stored.words_of(document)),
        width=80,
        color=False,
    )
    assert "⚠ 暂定" in text and "职工在职门诊起付线:所持文件未载" in text


def test_replay_renders_the_stored_trace_identically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claim = str(EXAMPLES / "claim-inpatient.json")
    assert main(["explain", claim, "--format", "json"]) == 0
    stored = tmp_path / "trace.json"
    stored.write_text(capsys.readouterr().out, encoding="utf-8")
    for fmt in ("text", "markdown"):
        assert main(["explain", claim, "--format", fmt, "--width", "80"]) == 0
        direct = capsys.readouterr().out
        assert main(["explain", "--replay", str(stored), "--format", fmt, "--width", "80"]) == 0
        assert capsys.readouterr().out == direct
    assert main(["explain", "--replay", str(stored), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(stored.read_text(encoding="utf-8"))


def test_replay_refuses_what_is_not_a_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "not-a-trace.json"
    path.write_text('{"schema": "something/else"}', encoding="utf-8")
    assert main(["explain", "--replay", str(path)]) == 2
    assert "not a policyengine.trace/1 document" in capsys.readouterr().err


def test_replay_refuses_a_trace_that_breaks_the_step_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stored document is checked against the declared result and step types before it
    is rendered: the error names the JSON path (here a ratio step without its `form`)."""
    assert main(["explain", str(EXAMPLES / "claim-inpatient.json"), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    trace = document["result"]["trace"]
    index = next(i for i, step in enumerate(trace) if step["step"] == "ratio")
    del trace[index]["form"]
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert main(["explain", "--replay", str(path)]) == 2
    assert f"result.trace[{index}].form: Field required" in capsys.readouterr().err


def test_no_color_when_piped(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "policyengine", "explain", str(EXAMPLES / "claim.json")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0 and "\x1b[" not in done.stdout
    assert done.stdout.startswith("理赔 TJ-2024-000001: 天津")


def test_region_and_condition_names_come_from_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """explain names the region by its `policy` title and a condition by its `condition`
    title: renaming them in the rule files renames them in the account, and Python holds
    no city's or condition's name."""
    import shutil

    from policyengine.explain.words import WORDS
    from tests.support import POLICIES

    for name in ("national", "tianjin"):
        shutil.copytree(POLICIES / name, tmp_path / name)
    header = tmp_path / "tianjin" / "policy.policy"
    title = "天津市基本医疗保险(职工医保、城乡居民医保)"
    header.write_text(
        header.read_text(encoding="utf-8").replace(title, "示例市医保"), encoding="utf-8"
    )
    claim = str(EXAMPLES / "claim-inpatient.json")
    policy = str(tmp_path / "tianjin")
    assert main(["explain", claim, "--policy", policy, "--width", "200"]) == 0
    assert capsys.readouterr().out.startswith("理赔 TJ-2024-000001: 示例市医保 · ")
    assert main(["explain", claim, "--policy", policy, "--lang", "en", "--width", "200"]) == 0
    assert capsys.readouterr().out.startswith("claim TJ-2024-000001: Tianjin · ")

    engine = Engine.load(POLICIES)
    bundled = {name for p in engine.describe() for name in (p.name, *p.conditions)}
    assert bundled & {key for words in WORDS.values() for key in words} == set()


def test_a_condition_is_named_by_its_title_in_chinese() -> None:
    document = {"policy": {"name": "r", "title": "某市", "conditions": {"hypertension": "高血压"}}}
    words = stored.words_of(document)
    assert words is not None
    builder = explain.Builder({}, {"findings": [], "trace": []}, "zh", words)  # type: ignore[typeddict-item]
    assert (builder.region("r"), builder.condition("hypertension")) == ("某市", "高血压")
    assert builder.condition("diabetes") == "diabetes"
    english = explain.Builder({}, {"findings": [], "trace": []}, "en", words)  # type: ignore[typeddict-item]
    assert (english.region("r"), english.condition("hypertension")) == ("R", "hypertension")
    assert stored.words_of({"policy": {"name": "r"}}) is None


def _line_of(path: Path, text: str) -> str:
    """`city/file.policy:N` of the line holding `text` (so the tests follow the rule files)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    # words compared apart from spacing: fmt aligns the rows of a table
    (number,) = [i for i, line in enumerate(lines, 1) if text in " ".join(line.split())]
    return f"{path.parent.name}/{path.name}:{number}"


@pytest.mark.parametrize("backend", ["compiled", "interpreted"])
def test_a_cancelled_limit_names_the_row_of_the_persons_own_condition(backend: str) -> None:
    """After 2021-11-25 Quanzhou's per-condition limits are `none`: for a person certified for
    diabetes alone the step names the diabetes row — not the hypertension one — and only its
    provisional dates are listed."""
    benefits = POLICIES / "quanzhou" / "benefits.policy"
    diabetes = _line_of(benefits, "when certified diabetes => none")
    hypertension = _line_of(benefits, "when certified hypertension => none")
    claim = {
        "id": "QZ-D1",
        "region": "quanzhou",
        "person": {
            "id": "P9", "scheme": "employee", "status": "working", "birth_date": "1962-04-10",
            "sex": "male",
            "certifications": [
                {"condition": "diabetes", "programme": "special_outpatient", "since": "2022-03-01",
                 "doctor_title": "chief"}
            ],
        },
        "visit": {
            "type": "special_outpatient", "date": "2023-06-15", "diagnoses": ["E11.900"],
            "hospital": {"id": "H-QZ-02", "level": 2, "kind": "general"},
            "doctor": {"id": "D-201", "title": "attending"},
        },
        "items": [
            {"line": 1, "code": "XC08CAA001A001010001001", "kind": "drug", "quantity": "2000",
             "unit_price": "0.50", "amount": "1000.00", "days_supply": 30}
        ],
    }  # fmt: skip
    result = Engine.load(backend=backend).settle(claim, trace=True)  # type: ignore[arg-type]
    limit = next(s for s in result["trace"] if s["step"] == "limit")
    assert limit["figures"] == {"limit": None, "rows": [diabetes]}
    assert limit["rule"] == diabetes
    assert [n.split()[0] for n in limit["provisional"]] == [diabetes]
    assert not any(note.startswith(hypertension + " ") for note in result["provisional"])
    text = explain.render_text(explain.build(claim, result, "zh"), width=100, color=False)
    assert f"规则 {diabetes}" in text and hypertension not in text


def test_markdown_keeps_the_plus_of_an_adjustment(documents: dict[str, dict]) -> None:
    """`- + 5 pt` is a nested list in markdown (the "+" is lost): the item's text is escaped."""
    from markdown_it import MarkdownIt

    document = documents["inpatient"]
    source = explain.render_markdown(explain.build(document["claim"], document["result"], "zh"))
    html = MarkdownIt("commonmark").render(source)
    assert "<li>+ 5 pt" in html
    assert "<ul>\n<li>\n<ul>" not in html  # no list item that is only a nested list
