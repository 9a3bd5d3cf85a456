"""Locate grammar/policy.lark and build the Lark parser once.

The grammar lives in the top-level `grammar/` folder of a checkout; an installed wheel
carries it as `policyengine/_grammar/policy.lark` (force-included at build time).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Lark is imported only to parse: a warm load never needs it
    from lark import Lark, Token, Tree

_PACKAGE_DIR = Path(__file__).resolve().parent
_CANDIDATES = (
    _PACKAGE_DIR / "_grammar" / "policy.lark",  # installed wheel
    _PACKAGE_DIR.parent / "grammar" / "policy.lark",  # checkout / editable install
)


def grammar_path() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(c) for c in _CANDIDATES)
    raise FileNotFoundError(f"policy.lark not found (searched {searched})")


@functools.cache
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def grammar_hash() -> str:
    return hashlib.sha256(grammar_text().encode()).hexdigest()


@functools.cache
def parser() -> Lark:
    from lark import Lark

    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )


# The comments the layout parser met, per thread (Lark hands them to a callback).
_comments = threading.local()


def _keep_comment(token: Token) -> None:
    _comments.found.append(token)


@functools.cache
def _layout_parser() -> Lark:
    from lark import Lark

    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        keep_all_tokens=True,
        lexer_callbacks={"COMMENT": _keep_comment},
    )


def parse_layout(text: str) -> tuple[Tree[Token], list[Token]]:
    """The tree of `text` with every token kept (keywords and punctuation too), and its
    comments: what the formatter lays out again. `text` must parse (check it first)."""
    _comments.found = []
    tree = _layout_parser().parse(text)
    found: list[Token] = _comments.found
    return tree, sorted({c.start_pos: c for c in found}.values(), key=lambda c: c.start_pos or 0)


def layout_rule_names() -> frozenset[str]:
    """The names a layout tree's nodes can carry (each rule's alias or name)."""
    return frozenset(str(rule.alias or rule.origin.name) for rule in _layout_parser().rules)


@functools.cache
def keywords() -> frozenset[str]:
    """Every keyword of the language, for did-you-mean on misspelled keywords."""
    words = set()
    for terminal in parser().terminals:
        pattern = terminal.pattern
        if pattern.type == "str" and pattern.value.isidentifier():
            words.add(pattern.value)
    return frozenset(words)
