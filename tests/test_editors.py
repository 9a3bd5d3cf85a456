"""The editor files (issue 18.2): the TextMate grammar tokenised by a port of vscode-textmate
on the real Oniguruma engine (textmate-grammar-python, as VS Code highlights), agreeing with
the language's own lexer on every bundled rule file; the VS Code extension's manifest.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from policyengine.grammar import keywords, parse_layout
from tests.debian import program
from tests.support import POLICIES, ROOT

EDITORS = ROOT / "editors"
EXTENSION = EDITORS / "vscode"
GRAMMAR = EXTENSION / "syntaxes" / "policy.tmLanguage.json"
# the bundled policies, and the test policies that use the newest constructs
RULE_FILES = sorted(POLICIES.glob("*/*.policy")) + sorted(
    (ROOT / "tests" / "policies").glob("*/*.policy")
)
KEYWORD_SCOPES = ("keyword.", "storage.type.")

Token = tuple[tuple[int, int], str, list[str]]


@pytest.fixture(scope="module")
def highlight() -> object:
    from textmate_grammar.parsers.base import LanguageParser

    logging.getLogger("textmate_grammar").setLevel(logging.ERROR)
    return LanguageParser(json.loads(GRAMMAR.read_text(encoding="utf-8")))


def tokens(highlight: object, text: str) -> list[Token]:
    element = highlight.parse_string(text)  # type: ignore[attr-defined]
    return list(element.flatten())


def scope_at(found: list[Token], line: int, col: int) -> list[str]:
    """The scopes of the text at a 0-based line and column."""
    for (at_line, at_col), text, scopes in found:
        if at_line == line and at_col <= col < at_col + len(text):
            return scopes
    return []


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_grammar_scopes_what_the_lexer_reads(highlight: object, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = tokens(highlight, text)
    unscoped = [t for _at, t, scopes in found if scopes == ["source.policy"] and t.strip()]
    assert unscoped == []  # every word is highlighted as something
    tree, comments = parse_layout(text)
    expected = {
        "STRING": "string.quoted",
        "DATE": "constant.numeric.date",
        "MONTH_DAY": "constant.numeric.date",
        "CLAUSE": "clause",
    }
    words = [*tree.scan_values(lambda v: v.type in expected), *comments]
    for word in words:
        scopes = scope_at(found, word.line - 1, word.column - 1)
        wanted = "comment.line" if word.type == "COMMENT" else expected[word.type]
        assert any(wanted in s for s in scopes), (word, scopes)
    # every keyword the lexer reads as one is highlighted as a keyword where it stands
    for word in tree.scan_values(lambda v: v.type != "NAME" and str(v) in keywords()):
        scopes = scope_at(found, word.line - 1, word.column - 1)
        assert any(s.startswith(KEYWORD_SCOPES) for s in scopes), (word, scopes)


def test_every_keyword_of_the_language_has_a_pattern() -> None:
    """A keyword added to the grammar fails here until the TextMate grammar highlights it."""
    grammar = json.loads(GRAMMAR.read_text(encoding="utf-8"))

    def patterns(node: object) -> list[str]:
        if isinstance(node, dict):
            return [p for key, v in node.items() for p in ([v] if key == "match" else patterns(v))]
        return [p for v in node for p in patterns(v)] if isinstance(node, list) else []

    text = "\n".join(patterns(grammar["repository"]))
    missing = [word for word in sorted(keywords()) if word not in text]
    assert not missing, f"{GRAMMAR.relative_to(ROOT)} does not highlight {missing}"


def test_the_grammar_marks_what_a_policy_author_needs_to_see(highlight: object) -> None:
    text = (
        'audit excess_supply "超量开药"\n'
        '  cite TJ2018 三(二)5 "预警拦截" {  # the clause\n'
        "  max_days {\n"
        "    long: when visit outpatient => 7 days from 2020-01-24\n"
        "  }\n"
        "}\n"
        "condition diabetes_all = E10..E１４\n"
        "let cap = ７５００ 元\n"
    )
    found = tokens(highlight, text)
    assert "storage.type.declaration.policy" in scope_at(found, 0, 0)
    assert "entity.name.type.policy" in scope_at(found, 0, 6)  # the kind excess_supply
    assert "keyword.other.provenance.policy" in scope_at(found, 1, 2)
    assert "entity.name.namespace.source.policy" in scope_at(found, 1, 7)
    assert "constant.other.clause.policy" in scope_at(found, 1, 14)
    assert "comment.line.number-sign.policy" in scope_at(found, 1, 30)
    assert "entity.name.label.policy" in scope_at(found, 3, 4)
    assert "keyword.control.policy" in scope_at(found, 3, 10)
    assert "constant.numeric.policy" in scope_at(found, 3, 35)
    assert "keyword.other.unit.policy" in scope_at(found, 3, 37)
    assert "constant.numeric.date.policy" in scope_at(found, 3, 47)
    assert "constant.other.icd.policy" in scope_at(found, 6, 25)
    # what check refuses (P004) is marked invalid where it stands
    assert "invalid.illegal.input-method.policy" in scope_at(found, 6, 31)
    assert "invalid.illegal.input-method.policy" in scope_at(found, 7, 10)


def test_the_vscode_extension_declares_the_language_grammar_and_server() -> None:
    manifest = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    (language,) = manifest["contributes"]["languages"]
    assert (language["id"], language["extensions"]) == ("policy", [".policy"])
    (grammar,) = manifest["contributes"]["grammars"]
    assert grammar["scopeName"] == json.loads(GRAMMAR.read_text("utf-8"))["scopeName"]
    assert (EXTENSION / grammar["path"]).resolve() == GRAMMAR.resolve()
    assert (EXTENSION / language["configuration"]).is_file()
    assert manifest["activationEvents"] == ["onLanguage:policy"]
    command = manifest["contributes"]["configuration"]["properties"]["policyengine.command"]
    assert command["default"] == ["policyengine", "lsp"]
    json.loads((EXTENSION / "language-configuration.json").read_text("utf-8"))
    script = (EXTENSION / manifest["main"]).read_text(encoding="utf-8")
    assert 'require("vscode-languageclient/node")' in script
    assert '["policyengine", "lsp"]' in script


def test_the_vscode_extension_is_valid_javascript() -> None:
    done = subprocess.run(
        [program("node", "nodejs"), "--check", str(EXTENSION / "extension.js")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
