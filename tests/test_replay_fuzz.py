"""`explain --replay` on malformed trace documents: refused with the JSON path of the problem
(exit 2), or rendered — never an internal error; and nothing a claim holds reaches the
reader as a control character or as markup.

Found by an adversarial run: 101 distinct internal errors in 9,000 mutations of a stored
trace document; an item name holding `\\r\\nFAKE LINE: 结论: 全额支付` forged a line of
`explain`, and escape sequences in a claim `id` reached the terminal.
"""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from policyengine import Engine
from policyengine.cli.main import main
from policyengine.explain import document as stored
from policyengine.explain import render as explain
from policyengine.explain.escape import html, markdown, visible
from tests.support import ROOT, example_claim

# 3 mutated documents per example of the fuzz setting: 300 in CI, 9,000 at
# POLICYENGINE_FUZZ_EXAMPLES=3000
MUTATIONS = 3 * int(os.environ.get("POLICYENGINE_FUZZ_EXAMPLES", "100"))
PALETTE: list[Any] = [
    None,
    0,
    -1,
    1.5,
    10**30,
    True,
    "",
    "x",
    "NaN",
    "-1.00",
    "1e999",
    "9" * 60,
    "\x1b[2J\r\nFAKE",
    "2024-13-45",
    [],
    {},
    [1, "a"],
    {"step": "line"},
    {"provenance": "cited"},
]
FORGED = "\r\nFAKE LINE: 结论: 全额支付"
ESCAPES = "\x1b]0;pwned\x07\x1b[2J"


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    engine = Engine.load()
    outpatient = example_claim()
    outpatient_doc = stored.trace_document(outpatient, engine.settle(outpatient, trace=True))
    inpatient = json.loads((ROOT / "tests" / "golden" / "trace-inpatient.json").read_text())
    return [outpatient_doc, inpatient]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*path, index))
    return found


def mutate(document: dict[str, Any], rand: random.Random) -> dict[str, Any]:
    mutated = copy.deepcopy(document)
    for _ in range(rand.randint(1, 3)):
        path = rand.choice(_paths(mutated)[1:])
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        action = rand.random()
        if action < 0.25:
            del parent[key]
        elif action < 0.35 and isinstance(parent[key], list) and parent[key]:
            parent[key].append(copy.deepcopy(rand.choice(parent[key])))
        elif action < 0.45 and isinstance(parent, dict):
            parent[f"{key}_"] = parent.pop(key)
        else:
            parent[key] = copy.deepcopy(rand.choice(PALETTE))
    return mutated


def replay(document: Any) -> str | None:
    """What `explain --replay` does with a parsed document: the refusal, or None once every
    rendering succeeded."""
    try:
        claim, result = stored.check_document(document)
    except ValueError as refused:
        return str(refused)
    for lang in ("zh", "en"):
        doc = explain.build(claim, result, lang)
        explain.render_text(doc, width=100, color=False)
        explain.render_markdown(doc)
    return None


def test_mutated_trace_documents_are_refused_or_rendered(
    documents: list[dict[str, Any]],
) -> None:
    rand = random.Random(14)
    failures: dict[str, str] = {}
    refused = 0
    for number in range(MUTATIONS):
        document = mutate(documents[number % len(documents)], rand)
        try:
            refused += replay(document) is not None
        except Exception as error:  # what the test looks for: any internal error
            failures.setdefault(f"{type(error).__name__}: {error}"[:160], json.dumps(document)[:0])
    assert not failures, "\n".join(sorted(failures))
    assert 0 < refused < MUTATIONS  # both refusals and renderings were exercised


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["result"].__setitem__("decision", 5), "result.decision"),
        (lambda d: d["result"]["lines"][0].pop("billed"), "result.lines[0].billed"),
        (lambda d: d["claim"].__setitem__("items", "none"), "claim.items"),
        (lambda d: d["claim"]["items"].__setitem__(0, 7), "claim.items[0]"),
        (lambda d: d["claim"].__setitem__("person", []), "claim.person"),
        (lambda d: d["result"]["totals"].__setitem__("billed", "a lot"), "result.totals.billed"),
    ],
)
def test_a_refusal_names_the_json_path(
    documents: list[dict[str, Any]],
    change: Any,
    path: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    document = copy.deepcopy(documents[0])
    change(document)
    stored = tmp_path / "trace.json"
    stored.write_text(json.dumps(document), encoding="utf-8")
    assert main(["explain", "--replay", str(stored)]) == 2
    err = capsys.readouterr().err
    assert path in err and "internal error" not in err, err


@pytest.mark.parametrize(
    "text", ["", "not json", "[" * 100_000, '{"schema": "policyengine.trace/1"}', "[]"]
)
def test_a_document_that_is_not_a_trace_is_refused(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    stored = tmp_path / "trace.json"
    stored.write_text(text, encoding="utf-8")
    assert main(["explain", "--replay", str(stored)]) == 2
    assert "internal error" not in capsys.readouterr().err


@pytest.mark.parametrize("replayed", [False, True])
@pytest.mark.parametrize("form", ["text", "markdown"])
def test_claim_text_cannot_forge_lines_or_reach_the_terminal(
    replayed: bool, form: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    claim = example_claim()
    claim["id"] = "TJ-1" + ESCAPES
    claim["items"][0]["name"] = "阿莫西林" + FORGED
    source = tmp_path / "claim.json"
    source.write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    if replayed:
        assert main(["explain", str(source), "--format", "json"]) == 0
        source.write_text(capsys.readouterr().out, encoding="utf-8")
    args = ["explain", str(source), "--format", form, *(["--replay"] if replayed else [])]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert not any(line.lstrip("-* ").startswith("FAKE LINE") for line in out.splitlines())
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    assert "\\r\\nFAKE LINE" in out.replace("\\\\", "\\")  # shown, as escapes
    assert "TJ-1\\x1b]0;pwned\\x07" in out.replace("\\\\", "\\").replace("\\]", "]")


def test_the_escaping_helpers() -> None:
    assert (
        visible("a\r\nb\tc\x00\x7f\x9b\u2028\u202e") == "a\\r\\nb\\tc\\x00\\x7f\\x9b\\u2028\\u202e"
    )
    assert visible("医保 ¥12.50 «ok»") == "医保 ¥12.50 «ok»"  # printable text is left alone
    assert markdown("<img src=x> *b* [l](u) a|b max_days _e_") == (
        "\\<img src=x\\> \\*b\\* \\[l\\](u) a\\|b max_days \\_e\\_"
    )
    assert html('<a href="x">&\r') == "&lt;a href=&quot;x&quot;&gt;&amp;\\r"


@pytest.mark.parametrize("form", ["table", "markdown"])
def test_diff_shows_claim_ids_as_text(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A claim id is neither rich markup (`[/]` ended the table with a MarkupError) nor
    markdown, nor a control sequence, in the largest changes."""
    from policyengine.tools.generate import generate

    claims = list(generate("tianjin", 60, seed=7))  # 8 of them change in 2019
    for number, claim in enumerate(claims):
        claim["id"] = f"[/]{number}<b>{ESCAPES}"
    source = tmp_path / "claims.jsonl"
    source.write_text("\n".join(json.dumps(c) for c in claims) + "\n", encoding="utf-8")
    policy = str(ROOT / "policies" / "tianjin")
    args = ["diff", "--policy", policy, "--base-as-of", "2018-12-31", "--as-of", "2019-01-01"]
    assert main([*args, str(source), "--format", form, "--no-progress"]) in (0, 1)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert ("\\[/\\]" if form == "markdown" else "[/]") in out
    if form == "markdown":
        assert "<b>" not in out
