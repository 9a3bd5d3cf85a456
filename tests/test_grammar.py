"""The grammar builds without a single LALR conflict and parses every bundled rule file."""

from __future__ import annotations

import logging

import pytest
from lark import Lark, logger

from policyengine.grammar import grammar_text, keywords
from policyengine.parse import parse
from policyengine.span import SourceText
from tests.support import POLICIES


def test_the_grammar_has_no_conflicts(caplog: pytest.LogCaptureFixture) -> None:
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            Lark(grammar_text(), parser="lalr", lexer="contextual", debug=True)
    finally:
        logger.setLevel(previous)
    conflicts = [r.getMessage() for r in caplog.records if "conflict" in r.getMessage().lower()]
    assert conflicts == []


@pytest.mark.parametrize(
    "path", sorted(POLICIES.glob("*/*.policy")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_every_bundled_rule_file_parses(path) -> None:
    result = parse(SourceText(path, path.name, path.read_text(encoding="utf-8")))
    assert result.diagnostics == () and result.tree is not None


def test_keywords_are_known_for_did_you_mean() -> None:
    assert {
        "deductible",
        "ratio",
        "cap",
        "limit",
        "when",
        "cite",
        "provisional",
        "action",
    } <= keywords()
