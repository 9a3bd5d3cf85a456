"""`policyengine test --update`: rewrite the expectations of failing cases in place, as
Catala's `clerk test --reset` does, for a person to review as a diff.

Only the value of each mismatched expectation changes — its text between the marks the
YAML parser gives (`yaml.compose`), quoted as it was — so comments, layout and every other
expectation are kept. A mismatch that is no single value (a list of findings of another
length, the provisional rules, an error the case expected) is left for a person to edit,
and said so.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from policyengine.policytest.caseyaml import shown

if TYPE_CHECKING:
    from policyengine.policytest.cases import Outcome

_STEP = re.compile(r"(?P<key>[^.\[]+)(?:\[(?:line=(?P<line>\d+)|(?P<index>\d+))\])?")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a word YAML reads back as the same text


@dataclass
class FileUpdate:
    """One case file's new text, and the mismatches left for a person."""

    path: Path
    before: str
    after: str
    left: list[str] = field(default_factory=list)

    def diff(self) -> str:
        name = shown(self.path)
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                f"a/{name}",
                f"b/{name}",
            )
        )


def update_files(outcomes: Iterable[Outcome]) -> list[FileUpdate]:
    """The new text of each case file with failing cases (nothing is written here)."""
    by_file: dict[Path, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.mismatches:
            by_file.setdefault(outcome.case.file, []).append(outcome)
    return [_update(path, failed) for path, failed in sorted(by_file.items())]


def _update(path: Path, outcomes: list[Outcome]) -> FileUpdate:
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    cases = _get(root, "cases")
    edits: list[tuple[int, int, str]] = []
    left: list[str] = []
    for outcome in outcomes:
        case = outcome.case
        expect = None
        if isinstance(cases, yaml.SequenceNode) and case.index < len(cases.value):
            expect = _get(cases.value[case.index], "expect")
        for mismatch in outcome.mismatches:
            node = _find(expect, mismatch.path)
            if node is not None and not _inside(node, expect):
                node = None  # an alias of a value written elsewhere: other cases share it
            new = _scalar(node, mismatch.got) if node is not None else None
            if node is None or new is None:
                left.append(f"{case.location} {case.name}: {mismatch.path}")
                continue
            edits.append((node.start_mark.index, node.end_mark.index, new))
    after = text
    for start, end, new in sorted(edits, reverse=True):
        after = after[:start] + new + after[end:]
    return FileUpdate(path, text, after, left)


def _inside(node: yaml.Node, outer: yaml.Node | None) -> bool:
    return outer is not None and (
        outer.start_mark.index <= node.start_mark.index < outer.end_mark.index
    )


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


def _find(expect: yaml.Node | None, path: str) -> yaml.ScalarNode | None:
    """The scalar an expectation's path (cases.compare's: `totals.payers.fund`,
    `lines[line=2].excluded`, `findings[0].kind`) names in the case's `expect`."""
    node = expect
    for part in path.split("."):
        step = _STEP.fullmatch(part)
        if step is None:
            return None
        node = _get(node, step["key"])
        if step["line"] is not None:
            node = _line(node, step["line"])
        elif step["index"] is not None:
            index = int(step["index"])
            items = node.value if isinstance(node, yaml.SequenceNode) else []
            node = items[index] if index < len(items) else None
    return node if isinstance(node, yaml.ScalarNode) else None


def _line(node: yaml.Node | None, number: str) -> yaml.Node | None:
    """The item of an expected `lines` list that is about line `number`."""
    if not isinstance(node, yaml.SequenceNode):
        return None
    return next((i for i in node.value if getattr(_get(i, "line"), "value", None) == number), None)


def _scalar(node: yaml.ScalarNode, value: Any) -> str | None:
    """`value` written as the scalar it replaces was: quoted if it was, a plain word or
    number where YAML reads that back as the same value; None for no single value."""
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return None
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if node.style == "'":
        return "'" + text.replace("'", "''") + "'"
    if node.style is None and _PLAIN.fullmatch(text) and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)
